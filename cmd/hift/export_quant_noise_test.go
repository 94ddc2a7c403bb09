package main

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hift-go/hift/internal/validators"
	"github.com/hift-go/hift/io/gguf"
)

// TestExportQuantizedNoiseSources (-gguf.full) locates the logit noise of TestExportQuantizedLogits: files
// made from the F32 export with only the output head, or only the transformer layers, quantized (Q8_0:
// llama.cpp quantizes their activations to Q8_0; Q6_K: to Q8_K). llama.cpp vs hift on the same (dequantized)
// weights then measures the noise each part's 8-bit activations add. On the random model it comes from the
// layers, on the trained one from the head (bench/results/gguf-numerics.md). Asserted: the two parts'
// noise variances add up to the all-Q8_0 file's within 20% (independent sources, nothing else involved).
func TestExportQuantizedNoiseSources(t *testing.T) {
	if !*ggufFull {
		t.Skip("a diagnostic for bench/results/gguf-numerics.md: run with -gguf.full")
	}
	validators.Require(t, "node-llama-cpp")
	for _, model := range []string{trained256(t), model256(t)} {
		name := filepath.Base(model)
		seqs := [][]int{evalChunks(t, model, 1, 200)[0]}
		dir := t.TempDir()
		f32 := filepath.Join(dir, "f32.gguf")
		exportGGUF(t, model, "f32", f32)
		variants := []struct {
			name       string
			typ        uint32
			head, body bool
		}{
			{"head Q8_0", gguf.TypeQ8_0, true, false}, {"layers Q8_0", gguf.TypeQ8_0, false, true}, {"all Q8_0", gguf.TypeQ8_0, true, true},
			{"head Q6_K", gguf.TypeQ6_K, true, false}, {"layers Q6_K", gguf.TypeQ6_K, false, true},
		}
		var files []string
		for i, v := range variants {
			f := filepath.Join(dir, fmt.Sprintf("v%d.gguf", i))
			requantize(t, f32, f, v.typ, func(name string) bool {
				if name == "output.weight" {
					return v.head
				}
				return v.body && name != "token_embd.weight" // embeddings are looked up, not multiplied
			})
			files = append(files, f)
		}
		all := llamaLogits(t, seqs, files...)
		vars := make([]float64, len(variants))
		for i, v := range variants {
			back := filepath.Join(dir, fmt.Sprintf("v%d-hf", i))
			if code, _, stderr := runCLI(t, "import", "--in", files[i], "--out", back); code != 0 {
				t.Fatalf("import %s: %s", v.name, stderr)
			}
			lh := hiftLogits(t, back, seqs)
			kl, maxAbs := klStats(all[i], lh)
			std, _ := noiseStats(all[i], lh)
			vars[i] = std * std
			t.Logf("%s, %s: llama.cpp vs hift(dequantized) over %d tokens: KL %.3g, max |Δlogit| %.3g, noise std %.3g", name, v.name, len(seqs[0]), kl, maxAbs, std)
		}
		if sum := vars[0] + vars[1]; sum < 0.8*vars[2] || sum > 1.2*vars[2] {
			t.Errorf("%s: head and layer noise variances %.3g + %.3g do not add up to the whole file's %.3g", name, vars[0], vars[1], vars[2])
		}
	}
}

// requantize writes the F32 GGUF src to dst with the 2-D tensors pick names stored as typ.
func requantize(t *testing.T, src, dst string, typ uint32, pick func(name string) bool) {
	t.Helper()
	g, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var kvs []gguf.KV
	for _, k := range g.Keys {
		if k != "general.alignment" {
			kvs = append(kvs, gguf.KV{Key: k, Value: ggufValue(g.KV[k])})
		}
	}
	var ts []gguf.Tensor
	for _, ti := range g.Tensors {
		b, err := g.Data(ti)
		if err != nil {
			t.Fatal(err)
		}
		if len(ti.Shape) == 2 && ti.Type == gguf.TypeF32 && pick(ti.Name) {
			v, err := gguf.Dequantize(ti.Type, b, ti.Shape[0]*ti.Shape[1])
			if err != nil {
				t.Fatal(err)
			}
			if b, err = gguf.Quantize(typ, v, ti.Shape[len(ti.Shape)-1]); err != nil {
				t.Fatalf("%s as %s: %v", ti.Name, gguf.TypeName(typ), err)
			}
			ts = append(ts, gguf.Tensor{Name: ti.Name, Type: typ, Shape: ti.Shape, Data: b})
			continue
		}
		ts = append(ts, gguf.Tensor{Name: ti.Name, Type: ti.Type, Shape: ti.Shape, Data: b})
	}
	if err := gguf.WriteFile(dst, kvs, ts); err != nil {
		t.Fatal(err)
	}
}
