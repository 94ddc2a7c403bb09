package graph_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/hift-go/hift/data/tokenizer"
	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/io/gguf"
)

// ExampleGenerate continues a prompt greedily with a causal LM, as hift generate does.
func ExampleGenerate() {
	dir := "../examples/tiny-llama"
	m, weights, err := graph.LoadModel(dir)
	if err != nil {
		log.Fatal(err)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		log.Fatal(err)
	}
	prompt, err := tok.Encode("Do not Bodies act upon Light", true)
	if err != nil {
		log.Fatal(err)
	}
	backend, err := graph.NewBackend("")
	if err != nil {
		log.Fatal(err)
	}
	ids, err := graph.Generate(backend, m, weights, prompt, graph.GenerateOptions{MaxNewTokens: 6}) // Temperature 0: greedy
	if err != nil {
		log.Fatal(err)
	}
	text, err := tok.Decode(ids, true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d new tokens: %q\n", len(ids), text)
	// Output:
	// 6 new tokens: ", and the Spec"
}

// ExampleGGUFExport writes a checkpoint as a GGUF file for llama.cpp, as hift export --format gguf does.
func ExampleGGUFExport() {
	dir := "../examples/tiny-llama"
	m, weights, err := graph.LoadModel(dir)
	if err != nil {
		log.Fatal(err)
	}
	mix, err := gguf.ParseMix("q8_0") // f32, f16, bf16, q8_0, q4_k_m, ...
	if err != nil {
		log.Fatal(err)
	}
	kvs, ts, err := graph.GGUFExport(m, graph.MapWeights(weights), mix, "tiny-llama") // CheckpointWeights streams instead
	if err != nil {
		log.Fatal(err)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		log.Fatal(err)
	}
	tkv, err := tok.GGUFMetadata() // vocabulary, merges, special tokens, chat template
	if err != nil {
		log.Fatal(err)
	}
	out := filepath.Join(os.TempDir(), "hift-example-tiny.gguf")
	defer os.Remove(out)
	if err := gguf.WriteFile(out, append(kvs, tkv...), ts); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(ts), "tensors written")
	// Output:
	// 39 tensors written
}
