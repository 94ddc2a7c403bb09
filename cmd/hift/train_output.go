package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/hift-go/hift/hift"
	"github.com/hift-go/hift/internal/outdir"
)

// outputGuard holds the output folder's lock for the length of a run.
type outputGuard struct{ lock *outdir.Lock }

func (g *outputGuard) release() {
	if g != nil {
		g.lock.Release()
	}
}

// checkOutputPlacement refuses, before anything is loaded, an --output that is, lies inside or contains an input
// of the run (the model, the checkpoint resumed from, the run's base model), and a non-empty --output that is
// not this run's own folder unless --overwrite. Resuming into the folder that holds the checkpoint is allowed.
func (o *TrainOptions) checkOutputPlacement(baseModel string) error {
	out := o.Run.Output
	if out == "" {
		if o.NoSave {
			return nil
		}
		return badInput("train needs --output DIR (or --no-save to train without writing anything, e.g. for benchmarks)")
	}
	if o.NoSave {
		return badInput("--no-save and --output exclude each other")
	}
	type input struct{ flag, path string }
	var inputs []input
	if o.Model != "" {
		inputs = append(inputs, input{"--model", o.Model})
	}
	ownFolder := false
	if o.Resume != "" {
		inputs = append(inputs, input{"--resume", o.Resume})
		ownFolder = outdir.Same(filepath.Dir(filepath.Clean(o.Resume)), out)
	}
	if baseModel != "" {
		inputs = append(inputs, input{"the run's base model", baseModel})
	}
	for _, in := range []input{{"--data", o.Data}, {"--eval-data", o.EvalData}, {"--tokenizer", o.DataFlags.Tokenizer}} {
		if in.path != "" {
			inputs = append(inputs, in)
		}
	}
	for _, in := range inputs {
		rel, err := outdir.Overlap(out, in.path)
		if err != nil {
			return err
		}
		if rel == "" || (rel == "contains" && ownFolder && in.flag == "--resume") {
			continue
		}
		return badInput("--output %s %s %s %s: writing there could destroy the input; choose another folder", out, rel, in.flag, in.path)
	}
	if err := outdir.Busy(out); err != nil {
		return err
	}
	names, err := outdir.Contents(out)
	if err != nil {
		return err
	}
	var foreign []string
	for _, n := range names {
		if !outdir.IsLeftover(n) {
			foreign = append(foreign, n)
		}
	}
	if len(foreign) > 0 && !ownFolder && !o.Overwrite {
		if len(foreign) > 5 {
			foreign = append(foreign[:5], "…")
		}
		return badInput("--output %s is not empty (%s); give --overwrite to write into it, or --resume %s/checkpoint-N to continue the run there",
			out, strings.Join(foreign, ", "), out)
	}
	return nil
}

// lockOutput takes the output folder's one-writer lock and removes what a killed run left there (staging
// folders, temporary files, trash). It is a no-op without --output.
func (o *TrainOptions) lockOutput(logf func(string, ...any)) (*outputGuard, error) {
	if o.Run.Output == "" {
		return nil, nil
	}
	l, err := outdir.Acquire(o.Run.Output)
	if err != nil {
		return nil, err
	}
	removed, err := outdir.CleanLeftovers(o.Run.Output)
	if err != nil {
		l.Release()
		return nil, err
	}
	if len(removed) > 0 {
		logf("removed %d leftover(s) of an interrupted run from %s: %s\n", len(removed), o.Run.Output, strings.Join(removed, ", "))
	}
	return &outputGuard{lock: l}, nil
}

// clearOldCheckpoints removes, for a fresh run written over a folder with --overwrite, the checkpoint-N folders
// of an earlier hift run there (those holding hift_trainer_state.json; atomically), so they can never be
// mistaken for this run's or resumed by accident. Anything else in the folder is left alone.
func (o *TrainOptions) clearOldCheckpoints() error {
	if o.Resume != "" || o.Run.Output == "" {
		return nil
	}
	cks, err := hift.ListCheckpoints(o.Run.Output)
	if err != nil {
		return nil // the folder does not exist yet
	}
	for _, ck := range cks {
		if _, err := os.Stat(filepath.Join(ck, hift.TrainerStateFile)); err != nil {
			continue
		}
		if err := outdir.RemoveAll(ck); err != nil {
			return err
		}
	}
	return nil
}
