package main

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/data/tokenizer"
	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/internal/validators"
	"github.com/hift-go/hift/io/gguf"
	"github.com/hift-go/hift/io/safetensors"
)

// writeAdapter gives every target module of base random LoRA matrices (A, B ~ N(0, 0.05²); B is not zero, so
// the adapter changes the model) in PEFT's layout, and writes the merged model W + (α/r)·B·A (graph.MergeLoRA)
// as a checkpoint. It returns the adapter folder and the merged folder.
func writeAdapter(t *testing.T, base string, targets []string, r int, alpha float64) (string, string) {
	t.Helper()
	m, w, err := graph.LoadModel(base)
	if err != nil {
		t.Fatal(err)
	}
	lm, err := graph.WithLoRA(m, graph.LoRAConfig{R: r, Alpha: alpha, Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	all := map[string]*tensors.Tensor{}
	for k, v := range w {
		all[k] = v
	}
	var recs []safetensors.Tensor
	for _, p := range lm.Params {
		if !strings.Contains(p.Name, ".lora_") {
			continue
		}
		v := make([]float32, p.NumElements())
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 0.05)
		}
		all[p.Name] = tensors.FromFlatDataAndDimensions(v, p.Shape...)
		b, _ := safetensors.EncodeFloat32(safetensors.F32, v)
		recs = append(recs, safetensors.Tensor{Name: "base_model.model." + p.Name, DType: safetensors.F32, Shape: p.Shape, Data: b})
	}
	dir := t.TempDir()
	adapter := filepath.Join(dir, "adapter")
	if err := os.MkdirAll(adapter, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := safetensors.WriteFile(filepath.Join(adapter, "adapter_model.safetensors"), recs, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	ac, _ := json.Marshal(map[string]any{"peft_type": "LORA", "r": r, "lora_alpha": alpha, "target_modules": targets, "task_type": "CAUSAL_LM"})
	if err := os.WriteFile(filepath.Join(adapter, "adapter_config.json"), ac, 0o644); err != nil {
		t.Fatal(err)
	}
	merged, err := graph.MergeLoRA(lm, all)
	if err != nil {
		t.Fatal(err)
	}
	mdir := filepath.Join(dir, "merged")
	if err := os.MkdirAll(mdir, 0o755); err != nil {
		t.Fatal(err)
	}
	mrecs, err := graph.ToSafetensors(merged)
	if err != nil {
		t.Fatal(err)
	}
	if err := safetensors.WriteFile(filepath.Join(mdir, safetensors.SingleFileName), mrecs, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.json", "tokenizer.json"} {
		b, err := os.ReadFile(filepath.Join(base, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mdir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return adapter, mdir
}

// TestExportLoRAAdapter: `hift export --adapter` writes llama.cpp's adapter format, and llama.cpp running the
// base GGUF with that adapter computes the logits of the merged model's GGUF, for LLaMA (q/k rows permuted,
// so B's rows must be too; bound 1e-4, measured 2e-6), GPT-2 (Conv1D c_attn) and GPT-NeoX (regrouped qkv).
// For the GELU models the bound is 1e-3 (measured 3.6e-4 and 3.9e-5): W·x + s·B·A·x and (W + s·B·A)·x differ
// in the last float bits, and ggml's fp16-table GELU turns that into a whole fp16 step (~5e-4 relative)
// wherever an input sits on a rounding boundary. A wrong mapping moves logits by O(1) (the adapter's effect,
// logged).
func TestExportLoRAAdapter(t *testing.T) {
	cases := []struct {
		name    string
		targets []string
	}{{"llama-headdim", []string{"q_proj", "k_proj", "v_proj", "o_proj", "down_proj"}}, {"gpt2", []string{"c_attn", "c_fc"}}, {"gptneox", []string{"query_key_value", "dense"}}}
	for _, c := range cases {
		if c.name == "gpt2" && !*ggufFull {
			continue // test time: -gguf.full
		}
		t.Run(c.name, func(t *testing.T) {
			var cfg string
			for _, am := range archModels {
				if am.name == c.name {
					cfg = am.cfg
				}
			}
			base := initModel(t, c.name, cfg)
			adapter, merged := writeAdapter(t, base, c.targets, 8, 16)
			dir := t.TempDir()
			baseFile, mergedFile, loraFile := filepath.Join(dir, "base.gguf"), filepath.Join(dir, "merged.gguf"), filepath.Join(dir, "lora.gguf")
			exportGGUF(t, base, "f32", baseFile)
			exportGGUF(t, merged, "f32", mergedFile)
			if code, _, stderr := runCLI(t, "export", "--model", base, "--adapter", adapter, "--format", "gguf", "--out", loraFile); code != 0 {
				t.Fatalf("export --adapter: %s", stderr)
			}
			g, err := gguf.Open(loraFile)
			if err != nil {
				t.Fatal(err)
			}
			typ, _ := g.KV["general.type"].(string)
			at, _ := g.KV["adapter.type"].(string)
			alpha, _ := g.KV["adapter.lora.alpha"].(float32)
			nt := len(g.Tensors)
			g.Close()
			if typ != "adapter" || at != "lora" || alpha != 16 || nt == 0 {
				t.Fatalf("adapter keys: general.type %q adapter.type %q alpha %v, %d tensors", typ, at, alpha, nt)
			}
			validators.Require(t, "node-llama-cpp")
			tok, err := tokenizer.Load(base)
			if err != nil {
				t.Fatal(err)
			}
			ids, _ := tok.Encode("Query 1. Do not Bodies act upon Light at a distance?", false)
			seqs := [][]int{ids}
			js, _ := json.Marshal(seqs)
			seqPath := filepath.Join(dir, "seqs.json")
			if err := os.WriteFile(seqPath, js, 0o644); err != nil {
				t.Fatal(err)
			}
			var withLoRA struct {
				Logits [][][]float64 `json:"logits"`
			}
			validators.Run(t, &withLoRA, []string{"node-llama-cpp"}, "llama_logits_lora.mjs", seqPath, baseFile, loraFile)
			both := llamaLogits(t, seqs, mergedFile, baseFile)
			_, maxAbs := klStats(withLoRA.Logits, both[0])
			_, effect := klStats(both[1], both[0])
			t.Logf("%s: llama.cpp base+adapter vs merged: max |Δ| %.3g (the adapter itself moves logits by up to %.3g)", c.name, maxAbs, effect)
			bound := 1e-4
			if c.name != "llama-headdim" {
				bound = 1e-3 // ggml's fp16-table GELU (see above)
			}
			if maxAbs > bound || math.IsNaN(maxAbs) {
				t.Errorf("%s: base+adapter differs from the merged model by %g (> %g)", c.name, maxAbs, bound)
			}
			if effect < 1e-2 {
				t.Errorf("%s: the adapter barely changes the model (%g): the test would not see a wrong mapping", c.name, effect)
			}
		})
	}
}
