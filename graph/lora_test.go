package graph

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// TestLoRA: at initialisation (B = 0) the LoRA model computes exactly the base model; with non-zero adapters
// the LoRA forward equals the base forward on MergeLoRA's weights; units are the adapted blocks (+ the head);
// gradients reach A and B.
func TestLoRA(t *testing.T) {
	be := testBackend(t)
	for _, fx := range []string{"llama_causal_lm", "gpt2_causal_lm", "llama_seq_cls"} {
		_, base, w, batch := loadFixtureModel(t, fx)
		lm, err := WithLoRA(base, LoRAConfig{R: 4, Alpha: 8})
		if err != nil {
			t.Fatal(err)
		}
		L := 2
		if fx == "gpt2_causal_lm" {
			L = 3
		}
		wantUnits := L
		if base.Task != TaskCausalLM {
			wantUnits = L + 1
		}
		if len(lm.Units) != wantUnits {
			t.Errorf("%s: %d LoRA units, want %d", fx, len(lm.Units), wantUnits)
		}
		lw := map[string]*tensors.Tensor{}
		for k, v := range w {
			lw[k] = v
		}
		for k, v := range InitLoRA(lm, 1) {
			lw[k] = v
		}
		ref, err := RunForward(be, base, w, batch, ForwardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := RunForward(be, lm, lw, batch, ForwardOptions{Grads: true})
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(flat(ref["logits"]), flat(got["logits"])); d != 0 {
			t.Errorf("%s: LoRA at init changes the logits by %g", fx, d)
		}
		gA, gB := 0.0, 0.0
		for _, p := range lm.Params {
			g := flat(got["grad."+p.Name])
			for _, v := range g {
				if strings.HasSuffix(p.Name, "lora_A.weight") {
					gA = math.Max(gA, math.Abs(float64(v)))
				} else {
					gB = math.Max(gB, math.Abs(float64(v)))
				}
			}
		}
		if gB == 0 {
			t.Errorf("%s: no gradient reaches lora_B", fx)
		}
		// Non-zero B: LoRA forward == base forward on merged weights.
		for _, p := range lm.Params {
			if strings.HasSuffix(p.Name, "lora_B.weight") {
				vals := make([]float32, p.NumElements())
				for i := range vals {
					vals[i] = float32(math.Sin(float64(i))) * 0.05
				}
				lw[p.Name] = tensors.FromFlatDataAndDimensions(vals, p.Shape...)
			}
		}
		merged, err := MergeLoRA(lm, lw)
		if err != nil {
			t.Fatal(err)
		}
		a, err := RunForward(be, lm, lw, batch, ForwardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := RunForward(be, base, merged, batch, ForwardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d := maxDiff(flat(a["logits"]), flat(b["logits"]))
		t.Logf("%s: %d units, LoRA vs merged logits max|Δ| %.3g", fx, len(lm.Units), d)
		if d > 1e-4 || maxDiff(flat(a["logits"]), flat(ref["logits"])) == 0 {
			t.Errorf("%s: merged weights differ from the adapters by %g (or adapters had no effect)", fx, d)
		}
	}
	_, base, _, _ := loadFixtureModel(t, "llama_causal_lm")
	if _, err := WithLoRA(base, LoRAConfig{Targets: []string{"nope"}}); err == nil {
		t.Error("unknown target: no error")
	}
}
