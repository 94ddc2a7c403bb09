package graph

// GPT-2. Reference: transformers/models/gpt2/modeling_gpt2.py and configuration_gpt2.py (v4.34).

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

func init() {
	Register(Arch{
		ModelType: "gpt2",
		Classes: map[string]Task{
			"GPT2LMHeadModel":               TaskCausalLM,
			"GPT2ForSequenceClassification": TaskSeqCls,
			"GPT2ForTokenClassification":    TaskTokenCls,
			"GPT2ForQuestionAnswering":      TaskQA,
		},
		Build: buildGPT2,
	})
}

// GPT2Config is config.json of a GPT-2 model (GPT2Config; defaults as in transformers 4.34).
type GPT2Config struct {
	VocabSize                  int     `json:"vocab_size"`
	NPositions                 int     `json:"n_positions"`
	NEmbd                      int     `json:"n_embd"`
	NLayer                     int     `json:"n_layer"`
	NHead                      int     `json:"n_head"`
	NInner                     *int    `json:"n_inner"`
	ActivationFunction         string  `json:"activation_function"`
	LayerNormEpsilon           float64 `json:"layer_norm_epsilon"`
	ScaleAttnWeights           bool    `json:"scale_attn_weights"`
	ScaleAttnByInverseLayerIdx bool    `json:"scale_attn_by_inverse_layer_idx"`
	ReorderAndUpcastAttn       bool    `json:"reorder_and_upcast_attn"`
	AddCrossAttention          bool    `json:"add_cross_attention"`
	TieWordEmbeddings          bool    `json:"tie_word_embeddings"`
	PadTokenID                 *int    `json:"pad_token_id"`
	inner                      int     // MLP width: n_inner, or 4·n_embd when null
}

// DecodeGPT2Config reads a GPT-2 config with GPT2Config's defaults.
func DecodeGPT2Config(cfg *Config) (*GPT2Config, error) {
	c := &GPT2Config{ActivationFunction: "gelu_new", LayerNormEpsilon: 1e-5, ScaleAttnWeights: true, TieWordEmbeddings: true}
	if err := cfg.Decode(c, "vocab_size", "n_positions", "n_embd", "n_layer", "n_head"); err != nil {
		return nil, err
	}
	if err := positive(cfg.Path, map[string]int{"vocab_size": c.VocabSize, "n_positions": c.NPositions,
		"n_embd": c.NEmbd, "n_layer": c.NLayer, "n_head": c.NHead}); err != nil {
		return nil, err
	}
	if err := positiveFloat(cfg.Path, map[string]float64{"layer_norm_epsilon": c.LayerNormEpsilon}); err != nil {
		return nil, err
	}
	if c.NEmbd%c.NHead != 0 {
		return nil, fmt.Errorf("config: %s: n_embd %d is not divisible by n_head %d", cfg.Path, c.NEmbd, c.NHead)
	}
	c.inner = 4 * c.NEmbd
	if c.NInner != nil {
		if *c.NInner <= 0 {
			return nil, fmt.Errorf("config: %s: n_inner must be positive or null, got %d", cfg.Path, *c.NInner)
		}
		c.inner = *c.NInner
	}
	if !KnownActivation(c.ActivationFunction) {
		return nil, fmt.Errorf("config: %s: unsupported activation_function %q", cfg.Path, c.ActivationFunction)
	}
	if c.AddCrossAttention {
		return nil, fmt.Errorf("config: %s: add_cross_attention (GPT-2 as an encoder-decoder's decoder) is not supported", cfg.Path)
	}
	// reorder_and_upcast_attn only changes how the scores are computed in half precision (upcast to float32,
	// scale folded into baddbmm); in float32 it is the same function.
	return c, nil
}

func buildGPT2(cfg *Config, task Task) (*Model, error) {
	c, err := DecodeGPT2Config(cfg)
	if err != nil {
		return nil, err
	}
	head, err := decoderHead(cfg, task, "GPT-2", c.PadTokenID)
	if err != nil {
		return nil, err
	}
	D, V, I := c.NEmbd, c.VocabSize, c.inner
	m := &Model{Tied: map[string]string{}, BasePrefix: "transformer.",
		// GPT2Attention's causal-mask buffers, saved by old checkpoints (the original gpt2 files), non-persistent now.
		IgnoreKeys: ignoreKeys(`transformer\.h\.\d+\.attn\.(bias|masked_bias)`)}
	add := paramAdder(m)
	// transformer.wte and wpe train together: one unit for token and position embeddings (and the tied head).
	emb := Unit{Name: "transformer.wte+transformer.wpe"}
	add(&emb, "transformer.wte.weight", false, V, D)
	add(&emb, "transformer.wpe.weight", false, c.NPositions, D)
	m.Units = append(m.Units, emb)
	for l := 0; l < c.NLayer; l++ {
		p := fmt.Sprintf("transformer.h.%d", l)
		u := Unit{Name: p}
		add(&u, p+".ln_1.weight", true, D)
		add(&u, p+".ln_1.bias", true, D)
		add(&u, p+".attn.c_attn.weight", false, D, 3*D) // Conv1D [in, out]
		add(&u, p+".attn.c_attn.bias", true, 3*D)
		add(&u, p+".attn.c_proj.weight", false, D, D)
		add(&u, p+".attn.c_proj.bias", true, D)
		add(&u, p+".ln_2.weight", true, D)
		add(&u, p+".ln_2.bias", true, D)
		add(&u, p+".mlp.c_fc.weight", false, D, I)
		add(&u, p+".mlp.c_fc.bias", true, I)
		add(&u, p+".mlp.c_proj.weight", false, I, D)
		add(&u, p+".mlp.c_proj.bias", true, D)
		m.Units = append(m.Units, u)
	}
	lnf := Unit{Name: "transformer.ln_f"}
	add(&lnf, "transformer.ln_f.weight", true, D)
	add(&lnf, "transformer.ln_f.bias", true, D)
	m.Units = append(m.Units, lnf)
	headModule := "lm_head"
	switch task {
	case TaskCausalLM:
		if c.TieWordEmbeddings {
			m.Tied["lm_head.weight"] = "transformer.wte.weight"
		} else {
			u := Unit{Name: "lm_head"}
			add(&u, "lm_head.weight", false, V, D)
			m.Units = append(m.Units, u)
		}
	default:
		// Ours: ln_f is its own unit before the head (the original never trains it, hift-algorithm.md §2.2).
		headModule = decoderTaskHead(m, task, head, D)
	}
	m.Forward = func(w Weights, b *Batch) *Outputs {
		return gpt2Forward(c, task, head, headModule, w, b)
	}
	if task == TaskCausalLM {
		m.Decoder = gpt2Decoder(c)
	}
	return m, nil
}

// conv1DW applies the GPT-2 Conv1D named prefix (".weight" [in, out] and ".bias").
func conv1DW(w Weights, prefix string, x *Node) *Node {
	return withLoRA(w, prefix, x, Conv1D(x, w.Get(prefix+".weight"), w.Get(prefix+".bias")))
}

func gpt2Forward(c *GPT2Config, task Task, head HeadConfig, headModule string, w Weights, b *Batch) *Outputs {
	decoderCheckInputs(b, "GPT-2", true)
	g := b.InputIDs.Graph()
	dims := b.InputIDs.Shape().Dimensions
	B, T := dims[0], dims[1]
	eps := c.LayerNormEpsilon

	tok := Embedding(w.Get("transformer.wte.weight"), b.InputIDs, -1) // [B, T, D]
	x := Add(tok, positionRows(w.Get("transformer.wpe.weight"), T))   // [B, T, D]
	if b.TokenTypeIDs != nil {
		// GPT2Model embeds token types with the token table.
		x = Add(x, Embedding(w.Get("transformer.wte.weight"), b.TokenTypeIDs, -1)) // [B, T, D]
	}
	out := &Outputs{Hidden: []*Node{x}}
	mask := AttentionMask(g, b.AttentionMask, B, T, true, 0) // [B, 1, T, T]
	for l := 0; l < c.NLayer; l++ {
		x = gpt2Block(c, w, l, x, func(q, k, v *Node, scale float64) *Node {
			return Attention(q, k, v, mask, scale) // [B, T, H, Dh]
		})
		if l < c.NLayer-1 {
			out.Hidden = append(out.Hidden, x)
		}
	}
	x = layerNormW(w, "transformer.ln_f", x, eps, true) // [B, T, D]
	out.Hidden = append(out.Hidden, x)
	decoderOutputs(out, task, head, x, w, headModule, b)
	return out
}

// gpt2Block is one GPT-2 layer: pre-LN attention with the fused c_attn split into q, k, v [B, T, H, Dh]
// (attend returns [B, T, H, Dh]) and a GELU MLP, both residual.
func gpt2Block(c *GPT2Config, w Weights, l int, x *Node, attend func(q, k, v *Node, scale float64) *Node) *Node {
	dims := x.Shape().Dimensions
	B, T := dims[0], dims[1]
	H, D := c.NHead, c.NEmbd
	Dh := D / H
	eps := c.LayerNormEpsilon
	p := fmt.Sprintf("transformer.h.%d", l)
	scale := 1.0
	if c.ScaleAttnWeights {
		scale /= math.Sqrt(float64(Dh))
	}
	if c.ScaleAttnByInverseLayerIdx {
		scale /= float64(l + 1)
	}
	h := layerNormW(w, p+".ln_1", x, eps, true)                         // [B, T, D]
	qkv := Reshape(conv1DW(w, p+".attn.c_attn", h), B, T, 3, H, Dh)     // [B, T, 3, H, Dh]: q | k | v
	q := Reshape(SliceAxis(qkv, 2, AxisRange(0, 1)), B, T, H, Dh)       // [B, T, H, Dh]
	k := Reshape(SliceAxis(qkv, 2, AxisRange(1, 2)), B, T, H, Dh)       // [B, T, H, Dh]
	v := Reshape(SliceAxis(qkv, 2, AxisRange(2, 3)), B, T, H, Dh)       // [B, T, H, Dh]
	a := Reshape(attend(q, k, v, scale), B, T, D)                       // [B, T, D]
	x = Add(x, conv1DW(w, p+".attn.c_proj", a))                         // [B, T, D]
	h = layerNormW(w, p+".ln_2", x, eps, true)                          // [B, T, D]
	f := Activation(c.ActivationFunction, conv1DW(w, p+".mlp.c_fc", h)) // [B, T, I]
	return Add(x, conv1DW(w, p+".mlp.c_proj", f))                       // [B, T, D]
}

// gpt2Decoder generates with a key/value cache (K, V [B, S, H, Dh] per layer), as llamaDecoder does.
func gpt2Decoder(c *GPT2Config) *Decoder {
	H, Dh := c.NHead, c.NEmbd/c.NHead
	return &Decoder{
		CacheShapes: func(batch, maxLen int) [][]int {
			out := make([][]int, 2*c.NLayer)
			for i := range out {
				out[i] = []int{batch, maxLen, H, Dh}
			}
			return out
		},
		Step: func(w Weights, ids, pos *Node, cache []*Node) (*Node, []*Node) {
			g := ids.Graph()
			B := ids.Shape().Dimensions[0]
			S := cache[0].Shape().Dimensions[1]
			pos = ConvertDType(pos, dtypes.Int32)
			tok := Embedding(w.Get("transformer.wte.weight"), Reshape(ids, B, 1), -1)            // [B, 1, D]
			wpe := w.Get("transformer.wpe.weight")                                               // [P, D]
			sel := OneHot(pos, wpe.Shape().Dimensions[0], wpe.DType())                           // [P]
			posEmb := Reshape(DotGeneral(sel, []int{0}, nil, wpe, []int{0}, nil), 1, 1, c.NEmbd) // [1, 1, D]
			x := Add(tok, posEmb)                                                                // [B, 1, D]
			keyPos := Iota(g, shapes.Make(dtypes.Int32, S), 0)                                   // [S]
			here := BroadcastToDims(Reshape(Equal(keyPos, pos), 1, S, 1, 1), B, S, H, Dh)        // [B, S, H, Dh]
			mask := Reshape(LessOrEqual(keyPos, pos), 1, 1, 1, S)                                // [1, 1, 1, S]
			newCache := make([]*Node, len(cache))
			for l := 0; l < c.NLayer; l++ {
				x = gpt2Block(c, w, l, x, func(q, k, v *Node, scale float64) *Node {
					kc, vc := writeCache(here, k, v, cache[2*l], cache[2*l+1]) // [B, S, H, Dh]
					newCache[2*l], newCache[2*l+1] = kc, vc
					return Attention(q, kc, vc, mask, scale) // [B, 1, H, Dh]
				})
			}
			x = layerNormW(w, "transformer.ln_f", x, c.LayerNormEpsilon, true) // [B, 1, D]
			logits := Linear(x, w.Get("lm_head.weight"), nil)                  // [B, 1, V]
			return Reshape(logits, B, logits.Shape().Dimensions[2]), newCache  // [B, V]
		},
	}
}
