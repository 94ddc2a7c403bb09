package main

import (
	"errors"
	"fmt"
	"slices"

	"github.com/hift-go/hift/bench"
	"github.com/hift-go/hift/io/hfcache"
	"github.com/spf13/cobra"
)

// modelRefFlags are the flags that name a checkpoint or tokenizer folder and so also accept a Hugging Face id
// (org/name[@revision]) found in the local cache.
var modelRefFlags = []string{"model", "tokenizer"}

// prepareCommand runs before every command (root's PersistentPreRunE): it resolves hub ids in --model and
// --tokenizer to snapshot folders of the local Hugging Face cache, so each command sees a plain folder.
func prepareCommand(cmd *cobra.Command) error {
	return resolveModelFlags(cmd, nil)
}

// resolveModelFlags rewrites each set modelRefFlags flag of cmd that is not a local path but a cached hub id to
// the snapshot folder; roots nil means the cache folders of the environment. A local path always wins; a
// built-in model name of plan/bench is kept when the cache does not hold it.
func resolveModelFlags(cmd *cobra.Command, roots []string) error {
	for _, name := range modelRefFlags {
		fl := cmd.Flags().Lookup(name)
		if fl == nil || !fl.Changed || fl.Value.Type() != "string" {
			continue
		}
		spec := fl.Value.String()
		path, ok, err := hfcache.Resolve(spec, roots)
		if err != nil {
			if slices.Contains(bench.BuiltinNames(), spec) {
				continue
			}
			if errors.Is(err, hfcache.ErrNotCached) {
				return badInput("--%s %w", name, err)
			}
			return fmt.Errorf("--%s: %w", name, err)
		}
		if ok && path != spec {
			if err := fl.Value.Set(path); err != nil {
				return fmt.Errorf("--%s: %w", name, err)
			}
		}
	}
	return nil
}
