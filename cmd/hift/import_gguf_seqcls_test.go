package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/io/torchbin"
)

// TestImportedBertSeqClsInitHead: a BertModel imported from llama.cpp's "bert" GGUF has no pooler (GGUF does
// not hold it), so `hift train --task seq_cls --init-head` creates the pooler with the classifier, as HF does
// for a base checkpoint saved without one; every encoder tensor still comes from the file. A checkpoint that
// has its pooler keeps it (only missing tensors are created).
func TestImportedBertSeqClsInitHead(t *testing.T) {
	c := encoderCases(t)[0]
	model := initEncoder(t, c)
	_, back, _ := exportImportEncoder(t, model, "f32", "cls")
	load := func(dir string, labels int) *graph.LoadReport {
		cfg, err := graph.LoadConfig(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := graph.RetargetConfig(cfg, graph.TaskSeqCls, labels); err != nil {
			t.Fatal(err)
		}
		m, err := graph.NewModel(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ck, err := torchbin.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer ck.Close()
		_, rep, err := graph.LoadWeightsWith(m, ck, graph.LoadOptions{InitHead: true, Seed: 1})
		if err != nil {
			t.Fatalf("%s as a sequence classifier with --init-head: %v", dir, err)
		}
		return rep
	}
	rep := load(back, 3)
	want := []string{"bert.pooler.dense.bias", "bert.pooler.dense.weight", "classifier.bias", "classifier.weight"}
	if !slices.Equal(rep.Initialised, want) {
		t.Errorf("imported BertModel: created %v, want %v", rep.Initialised, want)
	}
	// The original checkpoint (a BertForSequenceClassification from hift init) has its pooler: not recreated.
	rep = load(model, 0)
	for _, n := range rep.Initialised {
		if strings.Contains(n, "pooler") {
			t.Errorf("original checkpoint: its pooler %s was recreated instead of loaded", n)
		}
	}
	t.Logf("imported BertModel + --init-head for seq_cls creates %v", want)
}

// TestInspectImportedBertModel: `hift inspect` describes the BertModel that import writes for a bert GGUF as
// the encoder without a task head (its units and parameters), not as an unknown architecture.
func TestInspectImportedBertModel(t *testing.T) {
	c := encoderCases(t)[0]
	_, back, _ := exportImportEncoder(t, initEncoder(t, c), "f32", "mean")
	code, stdout, stderr := runCLI(t, "inspect", back)
	if code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"BertModel (encoder without a task head)", "bert.encoder.layer.1"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("inspect of an imported BertModel lacks %q:\n%s", want, stdout)
		}
	}
	for _, bad := range []string{"unknown", "classifier", "missing"} {
		if strings.Contains(stdout, bad) {
			t.Errorf("inspect of an imported BertModel mentions %q:\n%s", bad, stdout)
		}
	}
}
