package gguf

import (
	"fmt"
	"sort"
	"strings"
)

// Mix is a llama.cpp file type ("q4_k_m"): the default tensor type and the rules by which llama-quantize
// gives some tensors more bits.
type Mix struct {
	Name     string
	FileType uint32 // general.file_type (llama_ftype)
	Default  uint32 // tensor type of an ordinary 2-D weight
}

var mixes = map[string]Mix{
	"f32":    {"f32", 0, TypeF32},
	"f16":    {"f16", 1, TypeF16},
	"bf16":   {"bf16", 32, TypeBF16},
	"q4_0":   {"q4_0", 2, TypeQ4_0},
	"q4_1":   {"q4_1", 3, TypeQ4_1},
	"q8_0":   {"q8_0", 7, TypeQ8_0},
	"q5_0":   {"q5_0", 8, TypeQ5_0},
	"q5_1":   {"q5_1", 9, TypeQ5_1},
	"q4_k_s": {"q4_k_s", 14, TypeQ4_K},
	"q4_k_m": {"q4_k_m", 15, TypeQ4_K},
	"q5_k_s": {"q5_k_s", 16, TypeQ5_K},
	"q5_k_m": {"q5_k_m", 17, TypeQ5_K},
	"q6_k":   {"q6_k", 18, TypeQ6_K},
}

// MixNames lists the accepted mix names, sorted.
func MixNames() []string {
	var out []string
	for k := range mixes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ParseMix looks up a mix by name (case-insensitive).
func ParseMix(s string) (Mix, error) {
	if m, ok := mixes[strings.ToLower(s)]; ok {
		return m, nil
	}
	return Mix{}, fmt.Errorf("unknown GGUF type %q (one of %s)", s, strings.Join(MixNames(), ", "))
}

// Quantized reports whether the mix uses block types (and so writes general.quantization_version).
func (m Mix) Quantized() bool { return BlockSize(m.Default) > 1 }

// PlanTensor is what Plan needs to know of a tensor: its GGUF name and HF-order shape.
type PlanTensor struct {
	Name  string
	Shape []int
}

// Plan chooses each tensor's type as llama-quantize does for this mix without an importance matrix
// (llama-quant.cpp, llama_tensor_get_type): 1-D tensors, norms, position and token-type embeddings stay F32;
// output.weight (and token_embd.weight when the output is tied to it) get Q6_K unless the mix is Q8_0;
// attn_v/attn_qkv and ffn_down get Q6_K on "more bits" layers for *_K_M, Q5_K on the first layers for
// *_K_S; K-quants fall back (Q4_K→Q5_0, Q5_K→Q5_1, Q6_K→Q8_0, then F16) when a row is not a multiple of 256.
// Float mixes keep 1-D tensors F32 and store the rest in the mix's type.
func (m Mix) Plan(ts []PlanTensor) []uint32 {
	out := make([]uint32, len(ts))
	tied := true
	nV, nDown := 0, 0
	for _, t := range ts {
		switch category(t.Name) {
		case catOutput:
			tied = false
		case catAttnV, catAttnQKV:
			nV++
		case catFFNDown:
			nDown++
		}
	}
	iV, iDown := 0, 0
	moreBits := func(i, n int) bool { return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2 }
	for k, t := range ts {
		if !m.Quantized() && len(t.Shape) >= 2 {
			out[k] = m.Default
			continue
		}
		if !allowsQuantization(t) {
			out[k] = TypeF32
			continue
		}
		typ := m.Default
		cat := category(t.Name)
		cols := t.Shape[len(t.Shape)-1]
		switch {
		case cat == catOutput || (tied && cat == catTokenEmbd):
			if cols%BlockSize(typ) != 0 {
				typ = TypeQ8_0
			} else if typ != TypeQ8_0 {
				typ = TypeQ6_K
			}
		case cat == catTokenEmbd:
		case cat == catAttnV || cat == catAttnQKV:
			if (m.FileType == 15 || m.FileType == 17) && moreBits(iV, nV) {
				typ = TypeQ6_K
			} else if m.FileType == 14 && iV < 4 {
				typ = TypeQ5_K
			}
			iV++
		case cat == catFFNDown:
			switch {
			case m.FileType == 15 && moreBits(iDown, nDown):
				typ = TypeQ6_K
			case m.FileType == 17 && moreBits(iDown, nDown):
				typ = TypeQ6_K
			case m.FileType == 14 && iDown < nDown/8:
				typ = TypeQ5_K
			}
			iDown++
		}
		out[k] = fallback(typ, cols)
	}
	return out
}

// fallback is llama.cpp's tensor_type_fallback for rows that are not whole blocks.
func fallback(typ uint32, cols int) uint32 {
	if cols%BlockSize(typ) == 0 {
		return typ
	}
	switch typ {
	case TypeQ4_K:
		typ = TypeQ5_0
	case TypeQ5_K:
		typ = TypeQ5_1
	case TypeQ6_K:
		typ = TypeQ8_0
	}
	if cols%BlockSize(typ) != 0 {
		return TypeF16
	}
	return typ
}

func allowsQuantization(t PlanTensor) bool {
	if len(t.Shape) < 2 || !strings.HasSuffix(t.Name, "weight") || strings.Contains(t.Name, "_norm.weight") {
		return false
	}
	return t.Name != "position_embd.weight" && t.Name != "token_types.weight"
}

type tensorCategory int

const (
	catOther tensorCategory = iota
	catTokenEmbd
	catOutput
	catAttnV
	catAttnQKV
	catFFNDown
)

func category(name string) tensorCategory {
	switch {
	case name == "output.weight":
		return catOutput
	case name == "token_embd.weight":
		return catTokenEmbd
	case strings.Contains(name, "attn_qkv.weight"):
		return catAttnQKV
	case strings.Contains(name, "attn_v.weight"):
		return catAttnV
	case strings.Contains(name, "ffn_down"):
		return catFFNDown
	}
	return catOther
}
