package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/io/gguf"
	"github.com/hift-go/hift/io/safetensors"
	"github.com/hift-go/hift/io/torchbin"
)

// runExportAdapter writes the PEFT adapter in opts.Adapter (adapter_config.json + adapter_model.safetensors or .bin,
// as `hift train --lora` saves it) as a llama.cpp LoRA GGUF for the base model opts.Model.
func runExportAdapter(opts *ExportOptions) error {
	mix, err := gguf.ParseMix(opts.DType)
	if err != nil {
		return badInput("--dtype: %v", err)
	}
	if mix.Name != "f32" && mix.Name != "f16" && mix.Name != "bf16" {
		return badInput("--dtype %s: a LoRA adapter is written as f32, f16 or bf16 (its rank-sized rows do not fill quantization blocks)", opts.DType)
	}
	cfgPath := filepath.Join(opts.Adapter, "adapter_config.json")
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		if os.IsNotExist(err) {
			return badInput("--adapter %s is not a PEFT LoRA folder (no adapter_config.json; hift train --lora writes one)", opts.Adapter)
		}
		return badInput("--adapter: %v", err)
	}
	var ac struct {
		PeftType  string  `json:"peft_type"`
		R         int     `json:"r"`
		Alpha     float64 `json:"lora_alpha"`
		UseRSLoRA bool    `json:"use_rslora"`
		UseDoRA   bool    `json:"use_dora"`
	}
	if err := json.Unmarshal(raw, &ac); err != nil {
		return badInput("--adapter: %s: %v", cfgPath, err)
	}
	switch {
	case ac.PeftType != "" && ac.PeftType != "LORA":
		return badInput("--adapter: %s: peft_type %q (llama.cpp adapters are LoRA)", cfgPath, ac.PeftType)
	case ac.UseRSLoRA:
		return badInput("--adapter: %s: use_rslora (alpha/sqrt(r) scaling) is not llama.cpp's alpha/r", cfgPath)
	case ac.UseDoRA:
		return badInput("--adapter: %s: use_dora: llama.cpp adapters have no DoRA magnitude vectors", cfgPath)
	case ac.Alpha <= 0 || ac.R <= 0:
		return badInput("--adapter: %s: needs r > 0 and lora_alpha > 0", cfgPath)
	}
	cfg, err := graph.LoadConfig(opts.Model)
	if err != nil {
		return err
	}
	m, err := graph.NewModel(cfg)
	if err != nil {
		return err
	}
	ck, err := torchbin.Open(opts.Model)
	if err != nil {
		return err
	}
	defer ck.Close()
	base, err := graph.CheckpointWeights(m, ck)
	if err != nil {
		return err
	}
	ad, err := torchbin.OpenAdapter(opts.Adapter) // adapter_model.safetensors, or older PEFT's adapter_model.bin
	if err != nil {
		return badInput("--adapter: %v", err)
	}
	defer ad.Close()
	// PEFT names are base_model.model.<model name>.
	aw := graph.MapWeights{}
	var names []string
	for _, n := range ad.Names() {
		name := strings.TrimPrefix(n, "base_model.model.")
		t, err := ad.Tensor(n)
		if err != nil {
			return err
		}
		vals, err := safetensors.DecodeFloat32(t.DType, t.Data)
		if err != nil {
			return fmt.Errorf("--adapter: %s: %w", n, err)
		}
		aw[name] = tensors.FromFlatDataAndDimensions(vals, t.Shape...)
		names = append(names, name)
	}
	kvs, ts, err := graph.GGUFAdapter(m, base, aw, names, ac.Alpha, filepath.Base(filepath.Clean(opts.Adapter)))
	if err != nil {
		return err
	}
	for i := range ts {
		if mix.Default != gguf.TypeF32 && ts[i].Type == gguf.TypeF32 && len(ts[i].Shape) == 2 {
			ts[i] = retypeTensor(ts[i], mix.Default)
		}
	}
	if err := makeOutParent("out", opts.Out); err != nil {
		return err
	}
	if err := gguf.WriteFile(opts.Out, kvs, ts); err != nil {
		return err
	}
	fmt.Fprintf(opts.f.stderr, "wrote %s (%s): LoRA adapter, %d tensors (r %d, alpha %g)\n", opts.Out, mix.Name, len(ts), ac.R, ac.Alpha)
	return nil
}

// retypeTensor turns an F32 tensor into typ (F16 or BF16) when the file is written.
func retypeTensor(t gguf.Tensor, typ uint32) gguf.Tensor {
	data, encode := t.Data, t.Encode
	t.Type, t.Data = typ, nil
	t.Encode = func() ([]byte, error) {
		b := data
		if b == nil {
			var err error
			if b, err = encode(); err != nil {
				return nil, err
			}
		}
		vals := make([]float32, len(b)/4)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return gguf.Quantize(typ, vals, t.Shape[len(t.Shape)-1])
	}
	return t
}
