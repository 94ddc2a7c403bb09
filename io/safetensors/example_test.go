package safetensors_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/hift-go/hift/io/safetensors"
)

// Read the weights of a Hugging Face checkpoint by name.
func ExampleOpen() {
	c, err := safetensors.Open("testdata/llama_causal_lm") // the directory holding model.safetensors
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	info, _ := c.Info("model.layers.0.self_attn.k_proj.weight")
	fmt.Println(len(c.Names()), "tensors;", info.Name, info.DType, info.Shape, "in", c.ShardOf(info.Name))

	w, err := c.Float32("model.norm.weight")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("model.norm.weight[:2] = %.4f\n", w[:2])
	fmt.Println("metadata:", c.Metadata())
	// Output:
	// 21 tensors; model.layers.0.self_attn.k_proj.weight F32 [32 64] in model.safetensors
	// model.norm.weight[:2] = [1.0461 0.6927]
	// metadata: map[format:pt]
}

// Write float32 values as bfloat16 (rounded to nearest even) and read them
// back as float32.
func ExampleWriteFile() {
	dir, err := os.MkdirTemp("", "safetensors-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	data, err := safetensors.EncodeFloat32(safetensors.BF16, []float32{1, -2.71828, 3.14159, 0.1})
	if err != nil {
		log.Fatal(err)
	}
	ids, _ := safetensors.EncodeInt64(safetensors.I64, []int64{101, 2023, 102})
	path := filepath.Join(dir, "model.safetensors")
	err = safetensors.WriteFile(path, []safetensors.Tensor{
		{Name: "weight", DType: safetensors.BF16, Shape: []int{2, 2}, Data: data},
		{Name: "input_ids", DType: safetensors.I64, Shape: []int{1, 3}, Data: ids},
	}, map[string]string{"format": "pt"})
	if err != nil {
		log.Fatal(err)
	}

	c, err := safetensors.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	w, _ := c.Float32("weight")
	in, _ := c.Int64("input_ids")
	fmt.Println(c.Names(), w, in)
	// Output:
	// [input_ids weight] [1 -2.71875 3.140625 0.100097656] [101 2023 102]
}

// Save tensors in at most 1 KiB shards with an index, as transformers does for
// large models.
func ExampleWriteSharded() {
	dir, err := os.MkdirTemp("", "safetensors-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	var tensors []safetensors.Tensor
	for _, name := range []string{"a", "b", "c"} {
		data, _ := safetensors.EncodeFloat32(safetensors.F32, make([]float32, 200)) // 800 bytes each
		tensors = append(tensors, safetensors.Tensor{Name: name, DType: safetensors.F32, Shape: []int{200}, Data: data})
	}
	files, err := safetensors.WriteSharded(dir, tensors, nil, 1024)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range files {
		fmt.Println(filepath.Base(f))
	}
	c, err := safetensors.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Println(c.ShardOf("b"), c.Metadata()["total_size"])
	// Output:
	// model-00001-of-00003.safetensors
	// model-00002-of-00003.safetensors
	// model-00003-of-00003.safetensors
	// model.safetensors.index.json
	// model-00002-of-00003.safetensors 2400
}
