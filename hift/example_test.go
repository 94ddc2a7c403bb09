package hift_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/hift-go/hift/data"
	"github.com/hift-go/hift/data/tokenizer"
	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/hift"
)

// jsonlDataset tokenizes a JSONL file for causal-LM training with a model's tokenizer.
func jsonlDataset(modelDir, path string, seqLen int) *data.TensorDataset {
	tok, err := tokenizer.Load(modelDir)
	if err != nil {
		log.Fatal(err)
	}
	rows, err := data.OpenSource(path, data.SourceOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	ds, _, err := data.BuildDataset(rows, tok, data.FormatOptions{Task: data.TaskCausalLM, SeqLen: seqLen})
	if err != nil {
		log.Fatal(err)
	}
	return ds
}

// Example fine-tunes a checkpoint from Go as hift train does: model folder → dataset from JSONL → options →
// run with a per-step callback → save in Hugging Face layout.
func Example() {
	model := "../examples/tiny-llama"
	ds := jsonlDataset(model, "../examples/data/opticks-queries.jsonl", 64)
	backend, err := graph.NewBackend("") // the pure-Go SimpleGo backend unless $HIFT_BACKEND says otherwise
	if err != nil {
		log.Fatal(err)
	}
	opts := hift.DefaultOptions() // HF Trainer's defaults: AdamW, lr 5e-5, linear schedule; HiFT m=1 down2up
	opts.Steps, opts.BatchSize, opts.GroupSize, opts.Optimizer.LR = 4, 2, 2, 1e-3
	tr, err := hift.NewTrainer(backend, model, ds, opts)
	if err != nil {
		log.Fatal(err)
	}
	err = tr.Run(context.Background(), nil, func(m hift.StepMetrics) bool {
		fmt.Printf("step %d trained %s\n", m.Step+1, strings.Join(m.Units, " + "))
		return true // false stops the run (a checkpoint is saved when Options.Output is set)
	})
	if err != nil {
		log.Fatal(err)
	}
	out, _ := os.MkdirTemp("", "hift-example")
	defer os.RemoveAll(out)
	if err := tr.SaveModel(out); err != nil {
		log.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.json*"))
	for _, f := range files {
		fmt.Println(filepath.Base(f))
	}
	// Output:
	// step 1 trained model.embed_tokens + model.layers.0
	// step 2 trained model.layers.1 + model.layers.2
	// step 3 trained model.layers.3 + model.norm
	// step 4 trained lm_head + model.embed_tokens
	// config.json
	// tokenizer.json
	// tokenizer_config.json
}

// ExampleEvaluate computes the loss and perplexity of a checkpoint on a dataset, as hift eval does.
func ExampleEvaluate() {
	model := "../examples/tiny-llama"
	ds := jsonlDataset(model, "../examples/data/opticks-queries-eval.jsonl", 128)
	m, weights, err := graph.LoadModel(model)
	if err != nil {
		log.Fatal(err)
	}
	backend, err := graph.NewBackend("")
	if err != nil {
		log.Fatal(err)
	}
	em, err := hift.Evaluate(backend, m, weights, ds, 8)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d examples, loss %.1f\n", em.Examples, em.Loss)
	// Output:
	// 79 examples, loss 3.6
}
