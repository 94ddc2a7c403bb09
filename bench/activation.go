package bench

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/hift-go/hift/graph"
)

// Activation memory: an explicit analytical estimate per architecture family.
//
// Assumptions (stated once, used by `hift plan`):
//
//   - Autodiff keeps, for the backward pass, exactly the tensors each operation's gradient reads, as PyTorch
//     eager autograd (and XLA after dead-code elimination) does; nothing is recomputed (no activation
//     checkpointing), there is no dropout (no masks) and attention is the plain softmax(QKᵀ)V (no fused
//     flash attention: the probabilities [B, H, T, T] are materialised).
//   - Activations are 4 B per element in FP32 and 2 B under Mixed / Mixed^Hi, except the logits, log-probs and
//     their gradients, which stay FP32 (HF upcasts logits before the loss).
//   - A block whose weights are trained keeps what its weight gradients need too; a frozen block on the
//     backward path (HiFT: above the lowest active unit, not active) keeps only what the gradient w.r.t. its
//     input needs; blocks below the lowest active unit keep nothing (autodiff prunes them: forward runs, its
//     activations are freed as it goes).
//
// Per token, in elements (D hidden, I MLP width, H heads, T sequence length, V vocabulary):
//
//	LLaMA family (RMSNorm, SwiGLU):  trained block  10·D + 4·I + H·T   (norm x, x̂, out ×2 norms; q, k, v, attn
//	                                                                   out; gate, silu(gate), up, product;
//	                                                                   softmax probs)
//	                                 frozen on path  5·D + 3·I + H·T   (norm inputs ×2; q, k, v; gate,
//	                                                                   silu(gate), up; probs)
//	GPT-2/OPT/BERT family (LayerNorm, GELU/ReLU MLP):
//	                                 trained block   8·D + 2·I + H·T   (LN in, out ×2; q, k, v, attn out;
//	                                                                   fc out, act out; probs)
//	                                 frozen on path  5·D + 1·I + H·T   (LN in ×2; q, k, v; fc out; probs)
//	head, causal LM: 2·D + V saved (final norm in/out, log-probs); its backward adds dlogp and dlogits, 2·V
//	head, classification: 2·D (pooled path; the logits are B × labels)
//	backward workspace of one block (gradients of its intermediates): 2·D + 2·I + 2·H·T
//	forward working set of a block whose activations are not kept: 2·D + I + 2·H·T
//	attention mask: T (one float per key, [B, 1, T, T] shared by the layers)
//	tied embedding trained: the head's share of its gradient, V × D in FP32, before it is added to the lookup's
//
// The peak is at the start of the backward pass: every saved tensor is alive, plus the larger of the head's
// backward (2·V, FP32) and one block's workspace (when no block keeps activations: one block's forward working
// set). For HiFT the step of the group with the lowest unit (usually the embedding, which puts every block on
// the path) sets the activation peak.

// Family is an architecture family of the activation estimate.
type Family string

// Families.
const (
	// FamilyGated: LLaMA, Mistral, Qwen2 (RMSNorm, SwiGLU MLP).
	FamilyGated Family = "llama"
	// FamilyMLP: GPT-2, GPT-Neo, GPT-NeoX, OPT, BERT, RoBERTa (LayerNorm, two-matrix MLP).
	FamilyMLP Family = "gpt"
)

// Dims are the sizes the activation estimate needs.
type Dims struct {
	Family Family
	// D hidden size, I MLP width, H attention heads, L blocks, V vocabulary.
	D, I, H, L, V int
	// MaxPositions is max_position_embeddings (n_positions); 0 if unknown.
	MaxPositions int
	// LearnedPositions: a position table bounds the sequence length (GPT-2, OPT, BERT, RoBERTa).
	LearnedPositions bool
	// CausalLM: the head scores every position over the vocabulary.
	CausalLM bool
	// blockOf maps a unit index to its block number, -1 for units that are not blocks.
	blockOf []int
	// firstBlock and lastBlock are unit indices.
	firstBlock, lastBlock int
	// tiedUnit is the unit owning a weight the head shares (-1: none); tiedElems its size.
	tiedUnit  int
	tiedElems int64
}

var blockUnit = regexp.MustCompile(`\.(\d+)$`)

// ModelDims reads the estimate's sizes from m's config and unit list.
func ModelDims(m *graph.Model) (Dims, error) {
	var raw struct {
		HiddenSize *int `json:"hidden_size"`
		NEmbd      *int `json:"n_embd"`
		Heads      *int `json:"num_attention_heads"`
		NHead      *int `json:"n_head"`
		NumHeads   *int `json:"num_heads"`
		Inter      *int `json:"intermediate_size"`
		NInner     *int `json:"n_inner"`
		FFNDim     *int `json:"ffn_dim"`
		MaxPos     *int `json:"max_position_embeddings"`
		NPositions *int `json:"n_positions"`
	}
	if err := m.Config.Decode(&raw); err != nil {
		return Dims{}, err
	}
	first := func(ps ...*int) int {
		for _, p := range ps {
			if p != nil {
				return *p
			}
		}
		return 0
	}
	d := Dims{D: first(raw.HiddenSize, raw.NEmbd), H: first(raw.Heads, raw.NHead, raw.NumHeads),
		I: first(raw.Inter, raw.NInner, raw.FFNDim), MaxPositions: first(raw.MaxPos, raw.NPositions),
		V: m.Params[0].Shape[0], CausalLM: m.Task == graph.TaskCausalLM, Family: FamilyMLP,
		firstBlock: -1, lastBlock: -1, tiedUnit: -1}
	switch m.Config.ModelType {
	case "llama", "mistral", "qwen2":
		d.Family = FamilyGated
	case "gpt2", "opt", "bert", "roberta":
		d.LearnedPositions = true
	case "gpt_neo":
		d.LearnedPositions = true
	}
	if d.I == 0 {
		d.I = 4 * d.D // GPT-2 n_inner / GPT-Neo intermediate_size null
	}
	d.blockOf = make([]int, len(m.Units))
	for i, u := range m.Units {
		d.blockOf[i] = -1
		if s := blockUnit.FindStringSubmatch(u.Name); s != nil {
			n, _ := strconv.Atoi(s[1])
			d.blockOf[i] = n
			d.L++
			if d.firstBlock < 0 {
				d.firstBlock = i
			}
			d.lastBlock = i
		}
	}
	for _, owner := range m.Tied {
		for i, u := range m.Units {
			if slices.Contains(u.Params, owner) {
				p, _ := m.Param(owner)
				d.tiedUnit, d.tiedElems = i, int64(p.NumElements())
			}
		}
	}
	if d.D <= 0 || d.H <= 0 || d.L == 0 {
		return d, fmt.Errorf("%s: cannot read hidden size, heads and blocks for the activation estimate (hidden %d, heads %d, %d blocks)", m.Config.Path, d.D, d.H, d.L)
	}
	return d, nil
}

// blockElems returns the per-token saved elements of one block, trained or frozen on the backward path.
func (d Dims) blockElems(trained bool, T int) int64 {
	D, I, HT := int64(d.D), int64(d.I), int64(d.H)*int64(T)
	switch {
	case d.Family == FamilyGated && trained:
		return 10*D + 4*I + HT
	case d.Family == FamilyGated:
		return 5*D + 3*I + HT
	case trained:
		return 8*D + 2*I + HT
	default:
		return 5*D + I + HT
	}
}

// forwardElems is the forward working set per token of a block whose activations are not kept: its input and
// normalised input, the attention scores and probabilities, one MLP intermediate.
func (d Dims) forwardElems(T int) int64 {
	return 2*int64(d.D) + int64(d.I) + 2*int64(d.H)*int64(T)
}

// workspaceElems is one block's backward workspace per token.
func (d Dims) workspaceElems(T int) int64 {
	return 2*int64(d.D) + 2*int64(d.I) + 2*int64(d.H)*int64(T)
}

// ActivationEstimate is the estimated activation memory of one step, in bytes.
type ActivationEstimate struct {
	// Blocks: saved activations of the blocks on the backward path.
	Blocks int64
	// Head: the head's saved tensors and the larger of its backward or a block's workspace.
	Head int64
	// Mask: the attention mask.
	Mask int64
	// GradWork: the head's share of a trained tied embedding's gradient.
	GradWork int64
	// SavedBlocks counts the blocks that keep activations; TrainedBlocks those whose weights are trained.
	SavedBlocks, TrainedBlocks int
}

// Total is the estimated peak activation bytes.
func (a ActivationEstimate) Total() int64 { return a.Blocks + a.Head + a.Mask + a.GradWork }

// Activations estimates the activation bytes of a step at batch B, sequence T that trains the given units
// (all units: full fine-tuning). half selects 2-byte activations (Mixed, Mixed^Hi).
func (d Dims) Activations(B, T int, units []int, half bool) ActivationEstimate {
	bpe := int64(4)
	if half {
		bpe = 2
	}
	active := map[int]bool{}
	lowest := -1
	for _, u := range units {
		active[u] = true
		if lowest < 0 || u < lowest {
			lowest = u
		}
	}
	var est ActivationEstimate
	tok := int64(B) * int64(T)
	var elems int64
	for u, blk := range d.blockOf {
		if blk < 0 || u < lowest {
			continue
		}
		est.SavedBlocks++
		if active[u] {
			est.TrainedBlocks++
		}
		elems += d.blockElems(active[u], T)
	}
	est.Blocks = tok * elems * bpe
	work := tok * d.workspaceElems(T) * bpe
	if est.SavedBlocks == 0 {
		work = tok * d.forwardElems(T) * bpe
	}
	if d.CausalLM {
		V := int64(d.V)
		est.Head = tok*2*int64(d.D)*bpe + tok*V*4 + max(tok*2*V*4, work)
	} else {
		est.Head = tok*2*int64(d.D)*bpe + work
	}
	est.Mask = tok * int64(T) * 4
	if d.tiedUnit >= 0 && active[d.tiedUnit] {
		est.GradWork = 4 * d.tiedElems
	}
	return est
}
