package graph

import (
	"fmt"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// llama4x256 is the "4-layer 256-wide LLaMA" benchmark config (V 1024, I 688, 4 heads).
const llama4x256 = `{"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":1024,"hidden_size":256,
"intermediate_size":688,"num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":4,"rms_norm_eps":1e-6,
"max_position_embeddings":512,"pad_token_id":0}`

// forwardBackwardExec compiles forward + all gradients once and returns a function running one step.
func forwardBackwardExec(b *testing.B, m *Model, w, batch map[string]*tensors.Tensor) func() {
	names, args, err := BoundInputs(m, w, batch)
	if err != nil {
		b.Fatal(err)
	}
	exec, err := NewExec(testBackend(b), func(inputs []*Node) []*Node {
		wn, bn := BindInputs(m, names, inputs)
		o := m.Forward(wn, bn)
		params := make([]*Node, len(m.Params))
		for i, p := range m.Params {
			params[i] = wn[p.Name]
		}
		return append([]*Node{o.Loss}, Gradient(o.Loss, params...)...)
	})
	if err != nil {
		b.Fatal(err)
	}
	return func() {
		outs, err := exec.Exec(args...)
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range outs {
			o.FinalizeAll()
		}
	}
}

// BenchmarkForwardBackward measures one float32 forward+backward (all gradients) on SimpleGo, with hift's gemm
// VJP and with GoMLX v0.26.0's original Mul+ReduceSum VJP.
//
//	go test ./graph -run XXX -bench ForwardBackward -benchtime 5x
func BenchmarkForwardBackward(b *testing.B) {
	PatchGoMLX()
	type setup struct {
		name     string
		m        *Model
		w, batch map[string]*tensors.Tensor
	}
	var setups []setup
	for _, fx := range []string{"llama_causal_lm", "llama_seq_cls", "gpt2_causal_lm", "gpt_neo_causal_lm",
		"gpt_neox_causal_lm", "opt_causal_lm", "bert_seq_cls", "bert_token_cls", "roberta_seq_cls", "roberta_qa"} {
		_, m, w, batch := loadFixtureModel(b, fx)
		setups = append(setups, setup{fx, m, w, batch})
	}
	cfg, err := ParseConfig([]byte(llama4x256), "llama4x256")
	if err != nil {
		b.Fatal(err)
	}
	m, err := NewModel(cfg)
	if err != nil {
		b.Fatal(err)
	}
	setups = append(setups, setup{"llama_L4_D256_B4_T128", m, RandomWeights(m, 1), RandomBatch(4, 128, 1024, 2)})
	// One block: the same width with a single layer (the per-block cost HiFT's block groups pay).
	cfg1, err := ParseConfig([]byte(strings.Replace(llama4x256, `"num_hidden_layers":4`, `"num_hidden_layers":1`, 1)), "llama_block")
	if err != nil {
		b.Fatal(err)
	}
	m1, err := NewModel(cfg1)
	if err != nil {
		b.Fatal(err)
	}
	setups = append(setups, setup{"llama_L1_D256_B4_T128", m1, RandomWeights(m1, 1), RandomBatch(4, 128, 1024, 2)})
	for _, s := range setups {
		vjps := []string{"gemm", "gomlx"}
		if !strings.HasPrefix(s.name, "llama") {
			vjps = vjps[:1] // the comparison is made on the LLaMA models; other fixtures report the default path
		}
		for _, vjp := range vjps {
			b.Run(fmt.Sprintf("%s/vjp=%s", s.name, vjp), func(b *testing.B) {
				if vjp == "gomlx" {
					saved := VJPRegistration[NodeTypeDotGeneral]
					VJPRegistration[NodeTypeDotGeneral] = origDotGeneralVJP
					defer func() { VJPRegistration[NodeTypeDotGeneral] = saved }()
				}
				step := forwardBackwardExec(b, s.m, s.w, s.batch)
				step() // compile and warm up
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					step()
				}
			})
		}
	}
}
