package graph

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/internal/fixture"
	"github.com/hift-go/hift/io/safetensors"
)

// Token classification and question answering on the decoder families (GPT-2, GPT-Neo, GPT-NeoX, OPT, LLaMA).

// TestDecoderTaskHeadsTiny checks names, shapes, NoDecay and units of the token-classification and QA heads on
// tiny configs, and that forward + backward run with finite values and a gradient for every parameter.
func TestDecoderTaskHeadsTiny(t *testing.T) {
	gpt2Units := []string{"transformer.wte+transformer.wpe", "transformer.h.0", "transformer.h.1", "transformer.ln_f"}
	t.Run("GPT2ForTokenClassification", func(t *testing.T) {
		m := decModel(t, `{"architectures":["GPT2ForTokenClassification"],`+gpt2Tiny+`,"num_labels":5}`)
		decCheckParams(t, m, gpt2TinyParams(64, decSpec("classifier.weight", false, 5, 16), decSpec("classifier.bias", true, 5)))
		decCheckUnits(t, m, map[string][]string{
			"transformer.ln_f": {"transformer.ln_f.weight", "transformer.ln_f.bias"},
			"classifier":       {"classifier.weight", "classifier.bias"},
		}, append(gpt2Units, "classifier")...)
		if len(m.Tied) != 0 || m.BasePrefix != "transformer." {
			t.Errorf("tied %v, base prefix %q", m.Tied, m.BasePrefix)
		}
		decRun(t, m, decBatch(TaskTokenCls, 0, false, 5), []int{2, 6, 5}, 2)
	})
	t.Run("GPT2ForQuestionAnswering", func(t *testing.T) {
		// QA heads have 2 outputs whatever num_labels says (nn.Linear(hidden_size, 2)).
		m := decModel(t, `{"architectures":["GPT2ForQuestionAnswering"],`+gpt2Tiny+`,"num_labels":7}`)
		decCheckParams(t, m, gpt2TinyParams(64, decSpec("qa_outputs.weight", false, 2, 16), decSpec("qa_outputs.bias", true, 2)))
		decCheckUnits(t, m, map[string][]string{"qa_outputs": {"qa_outputs.weight", "qa_outputs.bias"}}, append(gpt2Units, "qa_outputs")...)
		decRun(t, m, decBatch(TaskQA, 0, false, 0), []int{2, 6}, 2)
	})
	t.Run("GPT-Neo token-cls and QA", func(t *testing.T) {
		units := []string{"transformer.wte+transformer.wpe", "transformer.h.0", "transformer.h.1", "transformer.ln_f"}
		cfg := `,` + gptNeoTiny + `,"num_layers":2,"window_size":3,"attention_types":[[["global","local"],1]],"num_labels":3}`
		m := decModel(t, `{"architectures":["GPTNeoForTokenClassification"]`+cfg)
		decCheckParams(t, m, gptNeoTinyParams(2, decSpec("classifier.weight", false, 3, 16), decSpec("classifier.bias", true, 3)))
		decCheckUnits(t, m, nil, append(units, "classifier")...)
		decRun(t, m, decBatch(TaskTokenCls, 0, false, 3), []int{2, 6, 3}, 2)
		m = decModel(t, `{"architectures":["GPTNeoForQuestionAnswering"]`+cfg)
		decCheckParams(t, m, gptNeoTinyParams(2, decSpec("qa_outputs.weight", false, 2, 16), decSpec("qa_outputs.bias", true, 2)))
		decCheckUnits(t, m, nil, append(units, "qa_outputs")...)
		decRun(t, m, decBatch(TaskQA, 0, false, 0), []int{2, 6}, 2)
	})
	t.Run("GPT-NeoX token-cls and QA", func(t *testing.T) {
		units := []string{"gpt_neox.embed_in", "gpt_neox.layers.0", "gpt_neox.layers.1", "gpt_neox.final_layer_norm"}
		cfg := `,"model_type":"gpt_neox","vocab_size":40,"hidden_size":16,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":32,"max_position_embeddings":16,"rotary_pct":0.5,"num_labels":4}`
		m := decModel(t, `{"architectures":["GPTNeoXForTokenClassification"]`+cfg)
		if got := m.Params[len(m.Params)-2:]; !slices.Equal(got[0].Shape, []int{4, 16}) || got[1].Name != "classifier.bias" || !got[1].NoDecay {
			t.Errorf("head params %+v", got)
		}
		decCheckUnits(t, m, nil, append(units, "classifier")...)
		decRun(t, m, decBatch(TaskTokenCls, 0, true, 4), []int{2, 6, 4}, 2)
		m = decModel(t, `{"architectures":["GPTNeoXForQuestionAnswering"]`+cfg)
		decCheckUnits(t, m, map[string][]string{"qa_outputs": {"qa_outputs.weight", "qa_outputs.bias"}}, append(units, "qa_outputs")...)
		decRun(t, m, decBatch(TaskQA, 0, true, 0), []int{2, 6}, 2)
	})
	t.Run("OPTForQuestionAnswering", func(t *testing.T) {
		m := decModel(t, `{"architectures":["OPTForQuestionAnswering"],`+optTiny+`}`)
		want := []ParamSpec{
			decSpec("model.decoder.embed_tokens.weight", false, 40, 16),
			decSpec("model.decoder.embed_positions.weight", false, 10, 16),
			decSpec("model.decoder.final_layer_norm.weight", true, 16),
			decSpec("model.decoder.final_layer_norm.bias", true, 16),
		}
		want = append(append(want, optTinyLayer(0, true, true)...), optTinyLayer(1, true, true)...)
		decCheckParams(t, m, append(want, decSpec("qa_outputs.weight", false, 2, 16), decSpec("qa_outputs.bias", true, 2)))
		decCheckUnits(t, m, map[string][]string{
			"model.decoder.final_layer_norm": {"model.decoder.final_layer_norm.weight", "model.decoder.final_layer_norm.bias"},
		}, "model.decoder.embed_tokens+model.decoder.embed_positions", "model.decoder.layers.0", "model.decoder.layers.1", "model.decoder.final_layer_norm", "qa_outputs")
		decRun(t, m, decBatch(TaskQA, 1, true, 0), []int{2, 6}, 2)
	})
	t.Run("OPTForQuestionAnswering opt-350m layout", func(t *testing.T) {
		// qa_outputs reads word_embed_proj_dim features, after project_out.
		m := decModel(t, `{"architectures":["OPTForQuestionAnswering"],`+optTiny+`,"do_layer_norm_before":false,"word_embed_proj_dim":8}`)
		if p, _ := m.Param("qa_outputs.weight"); !slices.Equal(p.Shape, []int{2, 8}) {
			t.Errorf("qa_outputs.weight %v, want [2 8]", p.Shape)
		}
		decCheckUnits(t, m, nil, "model.decoder.embed_tokens+model.decoder.embed_positions", "model.decoder.layers.0", "model.decoder.layers.1", "model.decoder.project_out", "qa_outputs")
		decRun(t, m, decBatch(TaskQA, 1, false, 0), []int{2, 6}, 2)
	})
	t.Run("LlamaForQuestionAnswering", func(t *testing.T) {
		m := decModel(t, `{"architectures":["LlamaForQuestionAnswering"],"model_type":"llama","vocab_size":40,"hidden_size":16,"intermediate_size":24,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2}`)
		for _, p := range m.Params[:len(m.Params)-2] {
			if !strings.HasPrefix(p.Name, "transformer.") {
				t.Errorf("base parameter %s is not under transformer.", p.Name)
			}
		}
		if p := m.Params[len(m.Params)-2:]; p[0].Name != "qa_outputs.weight" || !slices.Equal(p[0].Shape, []int{2, 16}) || p[1].Name != "qa_outputs.bias" || !p[1].NoDecay {
			t.Errorf("head params %+v", p)
		}
		if m.BasePrefix != "transformer." || !m.Ignored("transformer.layers.1.self_attn.rotary_emb.inv_freq") {
			t.Errorf("base prefix %q or inv_freq not ignored", m.BasePrefix)
		}
		decCheckUnits(t, m, nil, "transformer.embed_tokens", "transformer.layers.0", "transformer.layers.1", "transformer.norm", "qa_outputs")
		decRun(t, m, decBatch(TaskQA, 0, false, 0), []int{2, 6}, 2)
	})
}

// TestDecoderTaskHeadUnitCounts checks n (m = 1) of the new heads from configs alone: embeddings · blocks ·
// final norm · head (ours: the final norm is its own unit; the original never trains it).
func TestDecoderTaskHeadUnitCounts(t *testing.T) {
	gpt2 := func(class string) string {
		return fmt.Sprintf(`{"architectures":[%q],"model_type":"gpt2","vocab_size":50257,"n_positions":1024,"n_embd":768,"n_layer":12,"n_head":12}`, class)
	}
	decCheckUnitCount(t, "gpt2 token-cls", gpt2("GPT2ForTokenClassification"), 15)
	decCheckUnitCount(t, "gpt2 QA", gpt2("GPT2ForQuestionAnswering"), 15)
	decCheckUnitCount(t, "gpt-neo-125m QA", `{"architectures":["GPTNeoForQuestionAnswering"],"model_type":"gpt_neo","vocab_size":50257,"max_position_embeddings":2048,"hidden_size":768,"num_layers":12,"num_heads":12,"attention_types":[[["global","local"],6]]}`, 15)
	decCheckUnitCount(t, "pythia-160m token-cls", `{"architectures":["GPTNeoXForTokenClassification"],"model_type":"gpt_neox","vocab_size":50304,"hidden_size":768,"num_hidden_layers":12,"num_attention_heads":12,"intermediate_size":3072}`, 15)
	decCheckUnitCount(t, "opt-13b QA", `{"architectures":["OPTForQuestionAnswering"],"model_type":"opt","vocab_size":50272,"hidden_size":5120,"num_hidden_layers":40,"ffn_dim":20480,"num_attention_heads":40,"max_position_embeddings":2048}`, 43)
	decCheckUnitCount(t, "llama-2-7b QA", `{"architectures":["LlamaForQuestionAnswering"],"model_type":"llama","vocab_size":32000,"hidden_size":4096,"intermediate_size":11008,"num_hidden_layers":32,"num_attention_heads":32}`, 35)
}

// decHeadFixture builds class on a causal-LM fixture's config (architectures replaced, num_labels set, label
// maps dropped) and returns it with the fixture's weights renamed by rename (nil: unchanged), the batch without
// labels, the golden logits [B, T, V] and the fixture.
func decHeadFixture(t *testing.T, name, class string, numLabels int, rename func(string) string) (*Model, map[string]*tensors.Tensor, map[string]*tensors.Tensor, []float32, *fixture.Fixture) {
	t.Helper()
	fx, _, w, batch := loadFixtureModel(t, name)
	cfg, err := LoadConfig(fx.Dir)
	if err != nil {
		t.Fatal(err)
	}
	raw := map[string]json.RawMessage{}
	for k, v := range cfg.Raw {
		raw[k] = v
	}
	delete(raw, "id2label")
	delete(raw, "label2id")
	raw["architectures"] = json.RawMessage(fmt.Sprintf("[%q]", class))
	raw["num_labels"] = json.RawMessage(fmt.Sprint(numLabels))
	data, _ := json.Marshal(raw)
	if cfg, err = ParseConfig(data, name+"/config.json"); err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rename != nil {
		renamed := map[string]*tensors.Tensor{}
		for k, v := range w {
			renamed[rename(k)] = v
		}
		w = renamed
	}
	golden, err := safetensors.Open(fx.Path("golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer golden.Close()
	logits, err := golden.Float32("logits")
	if err != nil {
		t.Fatal(err)
	}
	delete(batch, "labels")
	return m, w, batch, logits, fx
}

// decRowsOf returns the given rows of a [R, D] weight as a new [len(rows), D] tensor.
func decRowsOf(x *tensors.Tensor, rows ...int) *tensors.Tensor {
	d := x.Shape().Dimensions
	flat := tensors.MustCopyFlatData[float32](x)
	var out []float32
	for _, r := range rows {
		out = append(out, flat[r*d[1]:(r+1)*d[1]]...)
	}
	return tensors.FromFlatDataAndDimensions(out, len(rows), d[1])
}

// decCE is −log softmax(row)[target] in float64.
func decCE(row []float64, target int) float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = math.Max(mx, v)
	}
	sum := 0.0
	for _, v := range row {
		sum += math.Exp(v - mx)
	}
	return mx + math.Log(sum) - row[target]
}

// TestDecoderTaskHeadsAgainstFixtures anchors the new heads to the HF goldens of the causal-LM fixtures, with the
// same base weights: the LM logits are final hidden state · rows of the LM head matrix, so a token classifier
// whose weight is rows r..r+C of that matrix (bias b) gives golden logits[..., r+c] + b[c], and a QA head with
// rows (rs, re) gives start = golden[..., rs] + b0, end = golden[..., re] + b1. Compared on real positions with
// the fixture's logits tolerance; losses are recomputed in float64 from the golden logits (QA: padded rows get
// positions past T, which HF ignores, so the loss never reads a padded position).
func TestDecoderTaskHeadsAgainstFixtures(t *testing.T) {
	be := testBackend(t)
	toTransformer := func(n string) string {
		if strings.HasPrefix(n, "model.") {
			return "transformer." + strings.TrimPrefix(n, "model.")
		}
		return n
	}
	for _, tc := range []struct {
		fixture, tokenCls, qa, lmHead string
		rename                        func(string) string
	}{
		{"gpt2_causal_lm", "GPT2ForTokenClassification", "GPT2ForQuestionAnswering", "transformer.wte.weight", nil},
		{"gpt_neo_causal_lm", "GPTNeoForTokenClassification", "GPTNeoForQuestionAnswering", "transformer.wte.weight", nil},
		{"gpt_neox_causal_lm", "GPTNeoXForTokenClassification", "GPTNeoXForQuestionAnswering", "embed_out.weight", nil},
		{"opt_causal_lm", "", "OPTForQuestionAnswering", "model.decoder.embed_tokens.weight", nil},
		// LlamaForQuestionAnswering keeps the base model under transformer. (HF's naming for this class).
		{"llama_causal_lm", "", "LlamaForQuestionAnswering", "lm_head.weight", toTransformer},
	} {
		if tc.tokenCls != "" {
			t.Run(tc.tokenCls, func(t *testing.T) {
				const C = 3
				rows, bias := []int{5, 6, 7}, []float32{0.25, -0.5, 0.125}
				m, w, batch, golden, fx := decHeadFixture(t, tc.fixture, tc.tokenCls, C, tc.rename)
				w["classifier.weight"] = decRowsOf(w[tc.lmHead], rows...)
				w["classifier.bias"] = tensors.FromFlatDataAndDimensions(slices.Clone(bias), C)
				ids := tensors.MustCopyFlatData[int64](batch["input_ids"])
				mask := tensors.MustCopyFlatData[int64](batch["attention_mask"])
				dims := batch["input_ids"].Shape().Dimensions
				B, T := dims[0], dims[1]
				V := len(golden) / (B * T)
				labels := make([]int64, B*T)
				wantLoss, n := 0.0, 0
				for i := range labels {
					labels[i] = ids[i] % C
					if mask[i] == 0 {
						labels[i] = IgnoreIndex
						continue
					}
					row := make([]float64, C)
					for c := range row {
						row[c] = float64(golden[i*V+rows[c]]) + float64(bias[c])
					}
					wantLoss += decCE(row, int(labels[i]))
					n++
				}
				wantLoss /= float64(n)
				batch["labels"] = tensors.FromFlatDataAndDimensions(labels, B, T)
				out, err := RunForward(be, m, w, batch, ForwardOptions{Grads: true})
				if err != nil {
					t.Fatal(err)
				}
				tol, _ := fx.Tolerance("logits")
				got := tensors.MustCopyFlatData[float32](out["logits"]) // [B, T, C]
				want := make([]float32, len(got))
				for i := range want {
					want[i] = golden[(i/C)*V+rows[i%C]] + bias[i%C]
				}
				rep, err := fixture.Compare(got, want, tol, func(i int) bool { return mask[i/C] == 0 })
				if err != nil || !rep.OK() {
					t.Errorf("logits: %v %v", rep, err)
				}
				lossTol, _ := fx.Tolerance("loss")
				gotLoss := float64(tensors.ToScalar[float32](out["loss"]))
				if d := math.Abs(gotLoss - wantLoss); d > lossTol.ATol+lossTol.RTol*math.Abs(wantLoss) {
					t.Errorf("loss %.7g, from golden logits %.7g", gotLoss, wantLoss)
				}
				t.Logf("logits max|diff| %.3g; loss %.6g, from golden %.6g (|diff| %.2g)", rep.MaxAbs, gotLoss, wantLoss, math.Abs(gotLoss-wantLoss))
				checkFiniteGrads(t, m, out)
			})
		}
		t.Run(tc.qa, func(t *testing.T) {
			rows, bias := []int{9, 17}, []float32{0.5, -0.25}
			m, w, batch, golden, fx := decHeadFixture(t, tc.fixture, tc.qa, 2, tc.rename)
			w["qa_outputs.weight"] = decRowsOf(w[tc.lmHead], rows...)
			w["qa_outputs.bias"] = tensors.FromFlatDataAndDimensions(slices.Clone(bias), 2)
			mask := tensors.MustCopyFlatData[int64](batch["attention_mask"])
			dims := batch["input_ids"].Shape().Dimensions
			B, T := dims[0], dims[1]
			V := len(golden) / (B * T)
			start, end := make([]int64, B), make([]int64, B)
			wantLoss, n := 0.0, 0
			for b := 0; b < B; b++ {
				start[b], end[b] = int64(2+b), int64(T-1-b)
				if slices.Contains(mask[b*T:(b+1)*T], 0) {
					start[b], end[b] = int64(T+5), int64(T) // clamped to T: ignored by HF's loss
					continue
				}
				for k, pos := range []int64{start[b], end[b]} {
					row := make([]float64, T)
					for j := range row {
						row[j] = float64(golden[(b*T+j)*V+rows[k]]) + float64(bias[k])
					}
					wantLoss += decCE(row, int(pos))
				}
				n++
			}
			if n == 0 {
				t.Fatalf("fixture %s has no unpadded row", tc.fixture)
			}
			wantLoss /= 2 * float64(n) // (mean start CE + mean end CE) / 2
			batch["start_positions"] = tensors.FromFlatDataAndDimensions(start, B)
			batch["end_positions"] = tensors.FromFlatDataAndDimensions(end, B)
			out, err := RunForward(be, m, w, batch, ForwardOptions{Grads: true})
			if err != nil {
				t.Fatal(err)
			}
			tol, _ := fx.Tolerance("logits")
			for k, name := range []string{"start_logits", "end_logits"} {
				got := tensors.MustCopyFlatData[float32](out[name]) // [B, T]
				want := make([]float32, len(got))
				for i := range want {
					want[i] = golden[i*V+rows[k]] + bias[k]
				}
				rep, err := fixture.Compare(got, want, tol, func(i int) bool { return mask[i] == 0 })
				if err != nil || !rep.OK() {
					t.Errorf("%s: %v %v", name, rep, err)
				}
				t.Logf("%s max|diff| %.3g", name, rep.MaxAbs)
			}
			lossTol, _ := fx.Tolerance("loss")
			gotLoss := float64(tensors.ToScalar[float32](out["loss"]))
			if d := math.Abs(gotLoss - wantLoss); d > lossTol.ATol+lossTol.RTol*math.Abs(wantLoss) {
				t.Errorf("loss %.7g, from golden logits %.7g", gotLoss, wantLoss)
			}
			t.Logf("loss %.6g, from golden %.6g (|diff| %.2g)", gotLoss, wantLoss, math.Abs(gotLoss-wantLoss))
			checkFiniteGrads(t, m, out)
		})
	}
}

// checkFiniteGrads checks that every parameter has a finite gradient of its shape.
func checkFiniteGrads(t *testing.T, m *Model, out map[string]*tensors.Tensor) {
	t.Helper()
	for _, p := range m.Params {
		g, ok := out["grad."+p.Name]
		if !ok || !slices.Equal(g.Shape().Dimensions, p.Shape) {
			t.Errorf("grad.%s missing or mis-shaped", p.Name)
			continue
		}
		if slices.ContainsFunc(tensors.MustCopyFlatData[float32](g), func(x float32) bool { return math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) }) {
			t.Errorf("grad.%s is not finite", p.Name)
		}
	}
}

// TestDecoderInputChecks: decoders take [B, T] ids only, and token_type_ids only where HF's forward uses them
// (GPT-2 and GPT-Neo add wte(token_type_ids) to the embeddings).
func TestDecoderInputChecks(t *testing.T) {
	be := testBackend(t)
	gpt2 := decModel(t, `{"architectures":["GPT2LMHeadModel"],`+gpt2Tiny+`}`)
	w := decWeights(gpt2)
	batch := decBatch(TaskCausalLM, 0, false, 0)
	plain, err := RunForward(be, gpt2, w, batch, ForwardOptions{Hidden: true})
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]int64, 12)
	batch["token_type_ids"] = tensors.FromFlatDataAndDimensions(zeros, 2, 6)
	typed, err := RunForward(be, gpt2, w, batch, ForwardOptions{Hidden: true})
	if err != nil {
		t.Fatal(err)
	}
	// hidden_states.0 = wte(ids) + wpe + wte(token types) = plain + wte row 0 everywhere.
	wte := tensors.MustCopyFlatData[float32](w["transformer.wte.weight"])
	h0, h1 := tensors.MustCopyFlatData[float32](plain["hidden_states.0"]), tensors.MustCopyFlatData[float32](typed["hidden_states.0"])
	worst := 0.0
	for i := range h0 {
		worst = math.Max(worst, math.Abs(float64(h1[i]-(h0[i]+wte[i%16]))))
	}
	if worst > 1e-6 {
		t.Errorf("GPT-2 token types: hidden_states.0 differs from embeddings + wte[0] by %g", worst)
	}

	opt := decModel(t, `{"architectures":["OPTForCausalLM"],`+optTiny+`}`)
	if _, err := RunForward(be, opt, decWeights(opt), batch, ForwardOptions{}); err == nil || !strings.Contains(err.Error(), "token_type_ids") {
		t.Errorf("OPT with token_type_ids: err = %v, want one naming token_type_ids", err)
	}
	mc := map[string]*tensors.Tensor{"input_ids": tensors.FromFlatDataAndDimensions(make([]int64, 12), 1, 2, 6)}
	if _, err := RunForward(be, gpt2, w, mc, ForwardOptions{}); err == nil || !strings.Contains(err.Error(), "[batch, seq]") {
		t.Errorf("GPT-2 with [B, C, T] ids: err = %v", err)
	}
}
