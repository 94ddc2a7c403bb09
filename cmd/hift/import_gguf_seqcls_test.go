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
