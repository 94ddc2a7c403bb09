package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hift-go/hift/io/hfcache"
	"github.com/spf13/cobra"
)

// modelRefFlags are the flags that name a checkpoint or tokenizer folder and so also accept a Hugging Face id
// (org/name[@revision]) found in the local cache.
var modelRefFlags = []string{"model", "tokenizer"}

// prepareCommand runs before every command (root's PersistentPreRunE): it applies a --config file, then
// resolves hub ids in --model and --tokenizer to snapshot folders of the local Hugging Face cache, so each
// command sees plain flags and folders.
func prepareCommand(cmd *cobra.Command) error {
	if err := applyConfigFile(cmd); err != nil { // config.go: --config FILE sets the flags not given
		return err
	}
	return resolveModelFlags(cmd, nil)
}

// resolveModelFlags rewrites each set modelRefFlags flag of cmd that is not a local path but a cached hub id to
// the snapshot folder; roots nil means the cache folders of the environment. A local path always wins; a bare
// name (gpt2, or a built-in model of plan/bench) is used from the cache when there, else left as it is.
func resolveModelFlags(cmd *cobra.Command, roots []string) error {
	for _, name := range modelRefFlags {
		fl := cmd.Flags().Lookup(name)
		if fl == nil || !fl.Changed || fl.Value.Type() != "string" {
			continue
		}
		spec := fl.Value.String()
		path, ok, err := hfcache.Resolve(spec, roots)
		if err != nil {
			if !strings.Contains(spec, "/") {
				continue // a bare name (a built-in bench model, a missing folder): the command reports it
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
