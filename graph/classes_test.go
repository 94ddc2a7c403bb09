package graph

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// classesTiny holds, per registered model_type, the fields of a tiny config.json (without architectures), the
// pad token id its batches use, and whether the family's HF forward takes token_type_ids.
var classesTiny = map[string]struct {
	config     string
	pad        int64
	tokenTypes bool
}{
	"bert":     {`"model_type":"bert","vocab_size":40,"hidden_size":16,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":32,"max_position_embeddings":16,"pad_token_id":0`, 0, true},
	"roberta":  {`"model_type":"roberta","vocab_size":40,"hidden_size":16,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":32,"max_position_embeddings":16,"pad_token_id":1`, 1, true},
	"gpt2":     {gpt2Tiny + `,"pad_token_id":0`, 0, true},
	"gpt_neo":  {gptNeoTiny + `,"num_layers":2,"window_size":3,"attention_types":[[["global","local"],1]],"pad_token_id":0`, 0, true},
	"gpt_neox": {`"model_type":"gpt_neox","vocab_size":40,"hidden_size":16,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":32,"max_position_embeddings":16,"rotary_pct":0.5,"pad_token_id":0`, 0, false},
	"opt":      {optTiny + `,"pad_token_id":1`, 1, false},
	"llama":    {`"model_type":"llama","vocab_size":40,"hidden_size":16,"intermediate_size":24,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"pad_token_id":0`, 0, false},
	"mistral":  {`"model_type":"mistral","vocab_size":40,"hidden_size":16,"intermediate_size":24,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"sliding_window":3,"pad_token_id":0`, 0, false},
	"qwen2":    {qwen2Tiny + `,"num_key_value_heads":2,"use_sliding_window":true,"sliding_window":3,"max_window_layers":1,"pad_token_id":0`, 0, false},
}

// classModelType returns the model_type and task a registered class belongs to.
func classModelType(class string) (string, Task) {
	for _, a := range registry {
		if task, ok := a.Classes[class]; ok {
			return a.ModelType, task
		}
	}
	return "", ""
}

// classBatch builds a batch for task: [2, 6] ids (multiple choice: [2, 3, 5]) with padding, the task's labels or
// positions, and token_type_ids with some 1s when the family takes them.
func classBatch(task Task, pad int64, tokenTypes bool) (map[string]*tensors.Tensor, map[string][]int) {
	if task == TaskMultipleChoice {
		ids := []int64{3, 7, 9, 11, 4, 5, 8, 12, pad, pad, 6, 2, 13, 9, pad, 3, 7, 9, 11, 4, 5, 8, 12, 10, 4, 6, 2, pad, pad, pad}
		mask := make([]int64, len(ids))
		types := make([]int64, len(ids))
		for i, id := range ids {
			if id != pad {
				mask[i] = 1
			}
			if i%5 >= 3 {
				types[i] = 1
			}
		}
		return map[string]*tensors.Tensor{
			"input_ids":      tensors.FromFlatDataAndDimensions(ids, 2, 3, 5),
			"attention_mask": tensors.FromFlatDataAndDimensions(mask, 2, 3, 5),
			"token_type_ids": tensors.FromFlatDataAndDimensions(types, 2, 3, 5),
			"labels":         tensors.FromFlatDataAndDimensions([]int64{2, 0}, 2),
		}, map[string][]int{"logits": {2, 3}}
	}
	b := decBatch(task, pad, false, 3)
	if tokenTypes {
		b["token_type_ids"] = tensors.FromFlatDataAndDimensions([]int64{0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1}, 2, 6)
	}
	switch task {
	case TaskCausalLM:
		return b, map[string][]int{"logits": {2, 6, 40}}
	case TaskSeqCls:
		return b, map[string][]int{"logits": {2, 3}}
	case TaskTokenCls:
		return b, map[string][]int{"logits": {2, 6, 3}}
	case TaskQA:
		return b, map[string][]int{"start_logits": {2, 6}, "end_logits": {2, 6}}
	}
	panic("classBatch: unknown task " + string(task))
}

// TestEveryRegisteredClass builds a tiny config for every class in SupportedClasses (nothing registered may be
// untested: a model_type without a tiny config fails) and runs RunForward with gradients on a batch of its task
// (multiple choice [B, C, T]; token_type_ids wherever the family takes them): outputs of the right shapes, a
// positive finite loss, and for every parameter a finite gradient of its shape that is non-zero somewhere (except
// the multiple-choice classifier bias, whose gradient is zero up to rounding by construction).
func TestEveryRegisteredClass(t *testing.T) {
	classes := SupportedClasses()
	if len(classes) < 30 {
		t.Errorf("only %d classes registered: %v", len(classes), classes)
	}
	be := testBackend(t)
	for _, class := range classes {
		t.Run(class, func(t *testing.T) {
			modelType, task := classModelType(class)
			tiny, ok := classesTiny[modelType]
			if !ok {
				t.Fatalf("model_type %q (class %s) has no tiny config in classesTiny", modelType, class)
			}
			numLabels := 3
			if task == TaskQA {
				numLabels = 2 // BertForQuestionAnswering's qa_outputs has num_labels outputs; decoders ignore it
			}
			m := decModel(t, fmt.Sprintf(`{"architectures":[%q],%s,"num_labels":%d}`, class, tiny.config, numLabels))
			if m.Class != class || m.Task != task {
				t.Fatalf("built %s (%s), want %s (%s)", m.Class, m.Task, class, task)
			}
			if m.BasePrefix == "" || !strings.HasPrefix(m.Params[0].Name, m.BasePrefix) {
				t.Errorf("base prefix %q does not prefix the first parameter %s", m.BasePrefix, m.Params[0].Name)
			}
			batch, shapes := classBatch(task, tiny.pad, tiny.tokenTypes)
			out, err := RunForward(be, m, decWeights(m), batch, ForwardOptions{Grads: true})
			if err != nil {
				t.Fatal(err)
			}
			for name, shape := range shapes {
				if got := out[name]; got == nil || !slices.Equal(got.Shape().Dimensions, shape) {
					t.Errorf("%s: %v, want shape %v", name, got, shape)
				}
			}
			if l, ok := out["loss"]; !ok || !(tensors.ToScalar[float32](l) > 0) || math.IsInf(float64(tensors.ToScalar[float32](l)), 0) {
				t.Errorf("loss %v, want positive and finite", l)
			}
			for _, p := range m.Params {
				g, ok := out["grad."+p.Name]
				if !ok || !slices.Equal(g.Shape().Dimensions, p.Shape) {
					t.Errorf("grad.%s missing or mis-shaped", p.Name)
					continue
				}
				v := tensors.MustCopyFlatData[float32](g)
				if slices.ContainsFunc(v, func(x float32) bool { return math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) }) {
					t.Errorf("grad.%s is not finite", p.Name)
				}
				// A multiple-choice classifier's bias adds the same value to every choice's logit, so the softmax
				// over choices ignores it: its gradient Σ_c (p_c − y_c) is zero up to rounding (in HF too).
				if task == TaskMultipleChoice && p.Name == "classifier.bias" {
					if math.Abs(float64(v[0])) > 1e-6 {
						t.Errorf("grad.%s = %g, want 0 up to rounding", p.Name, v[0])
					}
				} else if !slices.ContainsFunc(v, func(x float32) bool { return x != 0 }) {
					t.Errorf("grad.%s is all zero", p.Name)
				}
			}
		})
	}
	for modelType := range classesTiny {
		if _, ok := registry[modelType]; !ok {
			t.Errorf("classesTiny has %q, which is not registered", modelType)
		}
	}
}
