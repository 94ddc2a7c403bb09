package graph

import (
	"fmt"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func TestParityOPTCausalLM(t *testing.T) { checkParity(t, "opt_causal_lm") }

// optTinyLayer lists the expected parameters of one OPT block with D = 16 and ffn_dim 32.
func optTinyLayer(l int, bias, affine bool) []ParamSpec {
	p := fmt.Sprintf("model.decoder.layers.%d.", l)
	var out []ParamSpec
	linear := func(name string, o, i int) {
		out = append(out, decSpec(p+name+".weight", false, o, i))
		if bias {
			out = append(out, decSpec(p+name+".bias", true, o))
		}
	}
	norm := func(name string) {
		if affine {
			out = append(out, decSpec(p+name+".weight", true, 16), decSpec(p+name+".bias", true, 16))
		}
	}
	linear("self_attn.k_proj", 16, 16)
	linear("self_attn.v_proj", 16, 16)
	linear("self_attn.q_proj", 16, 16)
	linear("self_attn.out_proj", 16, 16)
	norm("self_attn_layer_norm")
	linear("fc1", 32, 16)
	linear("fc2", 16, 32)
	norm("final_layer_norm")
	return out
}

const optTiny = `"model_type":"opt","vocab_size":40,"hidden_size":16,"num_hidden_layers":2,"ffn_dim":32,"num_attention_heads":4,"max_position_embeddings":8`

// TestOPTVariants covers what the fixture does not: post-LN blocks without a final norm, word_embed_proj_dim !=
// hidden_size (project_in / project_out, as OPT-350m), no biases, no norm affine parameters, sequence
// classification, _remove_final_layer_norm.
func TestOPTVariants(t *testing.T) {
	t.Run("opt-350m layout", func(t *testing.T) {
		m := decModel(t, `{"architectures":["OPTForCausalLM"],`+optTiny+`,"do_layer_norm_before":false,"word_embed_proj_dim":8}`)
		// OPTDecoder registers project_out before project_in; final_layer_norm does not exist (post-LN).
		want := []ParamSpec{
			decSpec("model.decoder.embed_tokens.weight", false, 40, 8),
			decSpec("model.decoder.embed_positions.weight", false, 10, 16),
			decSpec("model.decoder.project_out.weight", false, 8, 16),
			decSpec("model.decoder.project_in.weight", false, 16, 8),
		}
		want = append(append(want, optTinyLayer(0, true, true)...), optTinyLayer(1, true, true)...)
		decCheckParams(t, m, want)
		decCheckUnits(t, m, map[string][]string{
			"model.decoder.embed_tokens+model.decoder.embed_positions": {"model.decoder.embed_tokens.weight", "model.decoder.embed_positions.weight", "model.decoder.project_in.weight"},
			"model.decoder.project_out":                                {"model.decoder.project_out.weight"},
		}, "model.decoder.embed_tokens+model.decoder.embed_positions", "model.decoder.layers.0", "model.decoder.layers.1", "model.decoder.project_out")
		if m.Tied["lm_head.weight"] != "model.decoder.embed_tokens.weight" {
			t.Errorf("tied = %v", m.Tied)
		}
		out := decRun(t, m, decBatch(TaskCausalLM, 1, true, 0), []int{2, 6, 40}, 2)
		if d := out["hidden_states.2"].Shape().Dimensions; !slices.Equal(d, []int{2, 6, 8}) {
			t.Errorf("last hidden state %v, want [2 6 8] (after project_out)", d)
		}
	})
	t.Run("no bias, no affine, seq-cls", func(t *testing.T) {
		m := decModel(t, `{"architectures":["OPTForSequenceClassification"],`+optTiny+`,"enable_bias":false,"layer_norm_elementwise_affine":false,"num_labels":3}`)
		want := []ParamSpec{
			decSpec("model.decoder.embed_tokens.weight", false, 40, 16),
			decSpec("model.decoder.embed_positions.weight", false, 10, 16),
		}
		want = append(append(want, optTinyLayer(0, false, false)...), optTinyLayer(1, false, false)...)
		decCheckParams(t, m, append(want, decSpec("score.weight", false, 3, 16)))
		// The final norm has no parameters, so there is no unit for it.
		decCheckUnits(t, m, nil, "model.decoder.embed_tokens+model.decoder.embed_positions", "model.decoder.layers.0", "model.decoder.layers.1", "score")
		decRun(t, m, decBatch(TaskSeqCls, 1, false, 3), []int{2, 3}, 2)
	})
	t.Run("seq-cls with final norm", func(t *testing.T) {
		m := decModel(t, `{"architectures":["OPTForSequenceClassification"],`+optTiny+`,"num_labels":2}`)
		decCheckUnits(t, m, map[string][]string{
			"model.decoder.final_layer_norm": {"model.decoder.final_layer_norm.weight", "model.decoder.final_layer_norm.bias"},
		}, "model.decoder.embed_tokens+model.decoder.embed_positions", "model.decoder.layers.0", "model.decoder.layers.1", "model.decoder.final_layer_norm", "score")
		decRun(t, m, decBatch(TaskSeqCls, 1, true, 2), []int{2, 2}, 2)
	})
	t.Run("_remove_final_layer_norm", func(t *testing.T) {
		m := decModel(t, `{"architectures":["OPTForCausalLM"],`+optTiny+`,"_remove_final_layer_norm":true,"tie_word_embeddings":false}`)
		decCheckUnits(t, m, nil, "model.decoder.embed_tokens+model.decoder.embed_positions", "model.decoder.layers.0", "model.decoder.layers.1", "lm_head")
		if _, ok := m.Param("model.decoder.final_layer_norm.weight"); ok {
			t.Errorf("final_layer_norm present although _remove_final_layer_norm is set")
		}
		decRun(t, m, decBatch(TaskCausalLM, 1, false, 0), []int{2, 6, 40}, 2)
	})
}

// TestOPTPositions checks OPT's learned-position rows: cumsum(mask)·mask − 1 + 2, so a left-padded row starts
// its real tokens at row 2 and its pads read row 1.
func TestOPTPositions(t *testing.T) {
	mask := tensors.FromFlatDataAndDimensions([]int64{1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0}, 2, 6)
	got, err := ExecOnce(testBackend(t), func(m *Node) *Node {
		return AddScalar(maskCumSum(m), optPositionOffset-1)
	}, mask)
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{2, 3, 4, 5, 6, 7, 1, 1, 2, 3, 4, 1}
	if g := tensors.MustCopyFlatData[int32](got); !slices.Equal(g, want) {
		t.Errorf("positions %v, want %v", g, want)
	}
}

// TestOPTUnitCounts checks n from configs alone, depth order: embeddings (+ tied head, + project_in) · blocks ·
// final_layer_norm (+ project_out) (· score).
func TestOPTUnitCounts(t *testing.T) {
	decCheckUnitCount(t, "opt-13b", `{"architectures":["OPTForCausalLM"],"model_type":"opt","vocab_size":50272,"hidden_size":5120,"num_hidden_layers":40,"ffn_dim":20480,"num_attention_heads":40,"max_position_embeddings":2048,"word_embed_proj_dim":5120}`, 42)
	decCheckUnitCount(t, "opt-13b seq-cls", `{"architectures":["OPTForSequenceClassification"],"model_type":"opt","vocab_size":50272,"hidden_size":5120,"num_hidden_layers":40,"ffn_dim":20480,"num_attention_heads":40,"max_position_embeddings":2048}`, 43)
	decCheckUnitCount(t, "opt-350m", `{"architectures":["OPTForCausalLM"],"model_type":"opt","vocab_size":50272,"hidden_size":1024,"num_hidden_layers":24,"ffn_dim":4096,"num_attention_heads":16,"max_position_embeddings":2048,"word_embed_proj_dim":512,"do_layer_norm_before":false}`, 26)
}

// TestOPTConfigErrors checks that bad configs fail naming the file and the field.
func TestOPTConfigErrors(t *testing.T) {
	const base = `{"model_type":"opt","vocab_size":64,"hidden_size":32,"num_hidden_layers":1,"num_attention_heads":4,"max_position_embeddings":16`
	decCheckConfigError(t, `{"architectures":["OPTForCausalLM"],`+base[1:]+`}`, `"ffn_dim"`)
	decCheckConfigError(t, `{"architectures":["OPTForCausalLM"],`+base[1:]+`,"ffn_dim":64,"word_embed_proj_dim":0}`, "word_embed_proj_dim")
	// HF has no OPTForTokenClassification.
	decCheckConfigError(t, `{"architectures":["OPTForTokenClassification"],`+base[1:]+`,"ffn_dim":64}`, "unsupported architecture")
}
