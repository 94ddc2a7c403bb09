package graph_test

import (
	"fmt"
	"log"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/graph"
)

// Example runs what `hift forward --grads` does, from Go: load an HF checkpoint, run it on a batch, read the
// loss and a gradient by its HF name.
func Example() {
	dir := "../testdata/fixtures/llama_causal_lm"
	model, weights, err := graph.LoadModel(dir) // config.json + model.safetensors, every tensor checked
	if err != nil {
		log.Fatal(err)
	}
	batch, err := graph.LoadBatch(dir + "/inputs.safetensors")
	if err != nil {
		log.Fatal(err)
	}
	backend, err := graph.NewBackend("") // SimpleGo unless --backend / $HIFT_BACKEND say otherwise
	if err != nil {
		log.Fatal(err)
	}
	out, err := graph.RunForward(backend, model, weights, batch, graph.ForwardOptions{Grads: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(model.Class, len(model.Units), "HiFT units")
	fmt.Printf("loss %.4f\n", tensors.ToScalar[float32](out["loss"]))
	fmt.Println("grad shape", out["grad.model.layers.0.self_attn.q_proj.weight"].Shape().Dimensions)
	// Output:
	// LlamaForCausalLM 5 HiFT units
	// loss 6.0877
	// grad shape [64 64]
}

// ExampleInspect lists a checkpoint's architecture and units without reading tensor data.
func ExampleInspect() {
	in, err := graph.Inspect("../testdata/fixtures/llama_seq_cls")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(in.Architecture, in.Parameters)
	for _, u := range in.Units {
		fmt.Println(u.Name, u.Parameters)
	}
	// Output:
	// LlamaForSequenceClassification 90624
	// model.embed_tokens 16384
	// model.layers.0 36992
	// model.layers.1 36992
	// model.norm 64
	// score 192
}
