package graph

// ONNX export, entry point. Design: one ONNX builder per building block (onnx_builder.go) shared by every
// architecture, and one short export function per family that strings the blocks together in the same order as
// the family's GoMLX forward. A recording GoMLX backend would reuse the forward itself, but GoMLX shapes are
// static: every Reshape, Iota, mask and rotary table of a traced graph carries the concrete batch and
// sequence length, so dynamic axes and the growing key/value cache would have to be reverse-engineered from
// constants. The builder emits symbolic shapes directly.

import (
	"fmt"
	"sort"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/io/onnx"
)

// ONNXOptions control ExportONNX.
type ONNXOptions struct {
	// WithPast adds past_key_values.{i}.key/value inputs and present.{i}.key/value outputs (causal LMs only).
	WithPast bool
	// DType stores ≥ 2-D weights as "f32" (default), "f16" or "bf16"; they are cast to float32 in the graph and
	// 1-D tensors (norms, biases, buffers) stay float32, so compute and outputs are float32.
	DType string
	// Opset is the ai.onnx opset version, 18 (default, as optimum) to 21.
	Opset int
	// ConsumeWeights frees each weight tensor as soon as its initializer is encoded and removes it from the
	// map, so the export never holds the model twice (the CLI sets it; the map is unusable afterwards).
	ConsumeWeights bool
}

// ONNX metadata keys hift writes (and reads back on import).
const (
	ONNXMetaConfig = "hift.config_json"
	ONNXMetaClass  = "hift.class"
)

// ONNXDTypes maps the --dtype names to ONNX element types.
var ONNXDTypes = map[string]int32{"f32": onnx.Float32, "f16": onnx.Float16, "bf16": onnx.BFloat16}

// ExportONNX builds the ONNX model of m with the given float32 weights (by HF name).
func ExportONNX(m *Model, weights map[string]*tensors.Tensor, opts ONNXOptions) (mp *onnx.ModelProto, err error) {
	if opts.Opset == 0 {
		opts.Opset = 18
	}
	if opts.Opset < 18 || opts.Opset > 21 {
		return nil, fmt.Errorf("onnx export: opset %d is not supported (18 to 21)", opts.Opset)
	}
	if opts.DType == "" {
		opts.DType = "f32"
	}
	dt, ok := ONNXDTypes[opts.DType]
	if !ok {
		return nil, fmt.Errorf("onnx export: dtype %q is not f32, f16 or bf16", opts.DType)
	}
	if m.LoRA != nil {
		return nil, fmt.Errorf("onnx export: %s carries LoRA adapters; merge them into the base weights first", m.Class)
	}
	if opts.WithPast && m.Task != TaskCausalLM {
		return nil, fmt.Errorf("onnx export: --with-past needs a causal LM, %s is %s", m.Class, m.Task)
	}
	defer func() {
		if r := recover(); r != nil {
			mp, err = nil, fmt.Errorf("onnx export: %s (%s): %v", m.Class, configPath(m), r)
		}
	}()
	b := newONNXBuilder(weights, m.Tied, dt)
	b.consume = opts.ConsumeWeights
	var inputs, outputs []*onnx.ValueInfoProto
	batchSeq := []any{"batch_size", "sequence_length"}
	var outNames []string
	switch m.Config.ModelType {
	case "bert", "roberta":
		dims := batchSeq
		if m.Task == TaskMultipleChoice {
			dims = []any{"batch_size", "num_choices", "sequence_length"}
		}
		inputs = append(inputs, valueInfo("input_ids", onnx.Int64, dims...), valueInfo("attention_mask", onnx.Int64, dims...))
		tokenTypes := ""
		if m.Config.ModelType == "bert" {
			tokenTypes = "token_type_ids"
			inputs = append(inputs, valueInfo(tokenTypes, onnx.Int64, dims...))
		}
		outNames = onnxEncoder(b, m, "input_ids", "attention_mask", tokenTypes)
	default:
		family, ok := onnxDecoders[m.Config.ModelType]
		if !ok {
			return nil, fmt.Errorf("onnx export: model_type %q has no ONNX export", m.Config.ModelType)
		}
		d := &onnxDecoder{b: b, withPast: opts.WithPast, ids: "input_ids", mask: "attention_mask", positions: "position_ids"}
		inputs = append(inputs, valueInfo("input_ids", onnx.Int64, batchSeq...),
			valueInfo("attention_mask", onnx.Int64, "batch_size", "past_sequence_length + sequence_length"))
		if m.Config.ModelType != "opt" {
			inputs = append(inputs, valueInfo("position_ids", onnx.Int64, batchSeq...))
		}
		kvh, dh, layers := decoderCacheDims(m)
		if opts.WithPast {
			for l := 0; l < layers; l++ {
				for _, kv := range []string{"key", "value"} {
					inputs = append(inputs, valueInfo(fmt.Sprintf("past_key_values.%d.%s", l, kv), onnx.Float32, "batch_size", kvh, "past_sequence_length", dh))
				}
			}
		}
		outNames = family(d, m)
		for _, p := range d.presents {
			outputs = append(outputs, valueInfo(p, onnx.Float32, "batch_size", kvh, "past_sequence_length + sequence_length", dh))
		}
	}
	var heads []*onnx.ValueInfoProto
	for _, n := range outNames {
		heads = append(heads, valueInfo(n, onnx.Float32))
	}
	outputs = append(heads, outputs...)
	// Every parameter and buffer goes into the file, used or not, so that import recovers the checkpoint.
	var all []string
	for _, p := range m.Params {
		all = append(all, p.Name)
	}
	for _, p := range m.Buffers {
		all = append(all, p.Name)
	}
	for _, n := range all {
		if _, ok := weights[n]; ok {
			b.w(n)
		} else if _, done := b.done[n]; !done {
			return nil, fmt.Errorf("onnx export: %s: weight %q is not loaded", m.Class, n)
		}
	}
	sort.SliceStable(b.inits, func(i, j int) bool { return b.inits[i].GetName() < b.inits[j].GetName() })
	cfgJSON, err := m.Config.JSON()
	if err != nil {
		return nil, err
	}
	ir := map[int]int64{18: 8, 19: 9, 20: 9, 21: 10}[opts.Opset]
	return &onnx.ModelProto{
		IrVersion:       &ir,
		ProducerName:    sp("hift"),
		ProducerVersion: sp("1"),
		OpsetImport:     []*onnx.OperatorSetIdProto{{Domain: sp(""), Version: ptrTo(int64(opts.Opset))}},
		MetadataProps: []*onnx.StringStringEntryProto{
			{Key: sp(ONNXMetaClass), Value: sp(m.Class)},
			{Key: sp(ONNXMetaConfig), Value: sp(string(cfgJSON))},
		},
		Graph: &onnx.GraphProto{Name: sp(m.Class), Node: b.nodes, Initializer: b.inits, Input: inputs, Output: outputs},
	}, nil
}

// onnxDecoders maps a decoder model_type to its export.
var onnxDecoders = map[string]func(*onnxDecoder, *Model) []string{
	"llama": onnxLlama, "mistral": onnxLlama, "qwen2": onnxLlama,
	"gpt2": onnxGPT2, "gpt_neo": onnxGPTNeo, "gpt_neox": onnxGPTNeoX, "opt": onnxOPT,
}

// decoderCacheDims returns the key/value heads, head size and layer count of a decoder's cache.
func decoderCacheDims(m *Model) (kvh, dh, layers int) {
	switch m.Config.ModelType {
	case "llama", "mistral", "qwen2":
		c, err := DecodeLlamaConfig(m.Config)
		if err != nil {
			panic(err)
		}
		return c.NumKeyValueHeads, c.HeadDim, c.NumHiddenLayers
	case "gpt2":
		c, err := DecodeGPT2Config(m.Config)
		if err != nil {
			panic(err)
		}
		return c.NHead, c.NEmbd / c.NHead, c.NLayer
	case "gpt_neo":
		c, err := DecodeGPTNeoConfig(m.Config)
		if err != nil {
			panic(err)
		}
		return c.NumHeads, c.HiddenSize / c.NumHeads, c.NumLayers
	case "gpt_neox":
		c, err := DecodeGPTNeoXConfig(m.Config)
		if err != nil {
			panic(err)
		}
		return c.NumAttentionHeads, c.HiddenSize / c.NumAttentionHeads, c.NumHiddenLayers
	case "opt":
		c, err := DecodeOPTConfig(m.Config)
		if err != nil {
			panic(err)
		}
		return c.NumAttentionHeads, c.HiddenSize / c.NumAttentionHeads, c.NumHiddenLayers
	}
	panicf("no key/value cache for model_type %q", m.Config.ModelType)
	return
}

// valueInfo describes a graph input or output; dims are ints (fixed) or strings (symbolic); none = rank unknown.
func valueInfo(name string, elem int32, dims ...any) *onnx.ValueInfoProto {
	tt := &onnx.TypeProto_Tensor{ElemType: &elem}
	if len(dims) > 0 {
		tt.Shape = &onnx.TensorShapeProto{}
		for _, d := range dims {
			dim := &onnx.TensorShapeProto_Dimension{}
			switch v := d.(type) {
			case int:
				dim.Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(v)}
			case string:
				dim.Value = &onnx.TensorShapeProto_Dimension_DimParam{DimParam: v}
			}
			tt.Shape.Dim = append(tt.Shape.Dim, dim)
		}
	}
	return &onnx.ValueInfoProto{Name: sp(name), Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: tt}}}
}
