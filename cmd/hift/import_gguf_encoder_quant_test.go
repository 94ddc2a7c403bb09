package main

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/hift-go/hift/internal/validators"
)

// encoderQuantFloors are the smallest per-token cosine similarities accepted between llama.cpp's embeddings
// of a quantized encoder GGUF and hift's last hidden state on the same file's dequantized weights (imported
// with hift import). Q8_0 is the bound, kept for the others too: with the weights dequantized
// exactly, what remains is llama.cpp quantizing each matrix product's activations to Q8 (measured ≥ 0.9999
// for every type on the tiny models, logged). f32 is the baseline (hift's weights, llama.cpp's fp16-table
// GELU).
var encoderQuantFloors = []struct {
	dtype string
	floor float64
}{{"f32", 0.9999}, {"q8_0", 0.999}, {"q6_k", 0.999}, {"q5_k_m", 0.999}, {"q5_0", 0.999}, {"q4_k_m", 0.999}, {"q4_0", 0.999}}

// TestExportGGUFEncoderQuantized: `hift export --embeddings-only --dtype X` writes quantized BERT and RoBERTa
// embedding models (llama-quantize's mix rules: token_embd Q6_K unless Q8_0, position and token-type
// tables F32, attn_v/ffn_down more bits in *_K_M) that llama.cpp loads, and whose embeddings match hift's
// on the dequantized weights, per token: each prefix of the test sequence (length ≥ 2) is evaluated with
// pooling none, so llama.cpp's vector is that prefix's last token.
func TestExportGGUFEncoderQuantized(t *testing.T) {
	validators.Require(t, "node-llama-cpp")
	for _, c := range encoderCases(t) {
		t.Run(c.name, func(t *testing.T) {
			model := initEncoder(t, c)
			var seqs [][]int
			for n := 2; n <= len(c.ids); n++ {
				seqs = append(seqs, c.ids[:n])
			}
			var files, backs []string
			start := time.Now()
			for _, q := range encoderQuantFloors {
				file, back, _ := exportImportEncoder(t, model, q.dtype, "none")
				files, backs = append(files, file), append(backs, back)
			}
			t.Logf("%d exports and imports: %s", len(files), time.Since(start).Round(time.Millisecond))
			start = time.Now()
			js, _ := json.Marshal(seqs)
			var ref struct {
				Embeddings [][][]float64 `json:"embeddings"`
			}
			validators.Run(t, &ref, []string{"node-llama-cpp"}, "llama_embed_seqs.mjs", append([]string{string(js)}, files...)...)
			t.Logf("llama.cpp: %s", time.Since(start).Round(time.Millisecond))
			if len(ref.Embeddings) != len(files) {
				t.Fatalf("llama.cpp returned embeddings for %d files, want %d", len(ref.Embeddings), len(files))
			}
			for i, q := range encoderQuantFloors {
				if len(ref.Embeddings[i]) != len(seqs) {
					t.Fatalf("%s: llama.cpp returned %d embeddings for %d sequences", q.dtype, len(ref.Embeddings[i]), len(seqs))
				}
				h := loadHeadless(t, backs[i])
				minCos, maxAbs := 1.0, 0.0
				for j, seq := range seqs {
					hidden := h.lastHidden(t, seq)
					D := len(hidden) / len(seq)
					got := ref.Embeddings[i][j]
					if len(got) != D {
						t.Fatalf("%s: llama.cpp embedding of %d values, hidden size %d", q.dtype, len(got), D)
					}
					want := hidden[(len(seq)-1)*D:]
					var dot, na, nb float64
					for d := range D {
						dot += got[d] * float64(want[d])
						na += got[d] * got[d]
						nb += float64(want[d]) * float64(want[d])
						maxAbs = math.Max(maxAbs, math.Abs(got[d]-float64(want[d])))
					}
					minCos = math.Min(minCos, dot/math.Sqrt(na*nb))
				}
				t.Logf("%s %-6s: llama.cpp on the file vs hift on its dequantized weights, %d tokens: min cosine %.6f, max |Δ| %.3g", c.name, q.dtype, len(seqs), minCos, maxAbs)
				if !(minCos >= q.floor) {
					t.Errorf("%s %s: min per-token cosine %.6f < %g", c.name, q.dtype, minCos, q.floor)
				}
			}
		})
	}
}
