package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hift-go/hift/io/gguf"
	"github.com/hift-go/hift/io/hfcache"
	"github.com/spf13/cobra"
)

// modelRefFlags are the flags that name a checkpoint or tokenizer folder and so also accept a Hugging Face id
// (org/name[@revision]) found in the local cache.
var modelRefFlags = []string{"model", "tokenizer"}

// prepareCommand runs before every command (root's PersistentPreRunE): it applies a --config file, then
// resolves hub ids in --model, --tokenizer, inspect's argument and --data/--eval-data to snapshot folders of
// the local Hugging Face cache, so each command sees plain flags and folders.
func prepareCommand(cmd *cobra.Command, args []string) error {
	if err := applyConfigFile(cmd); err != nil { // config.go: --config FILE sets the flags not given
		return err
	}
	if err := resolveModelFlags(cmd, nil); err != nil {
		return err
	}
	if err := resolveModelArgs(cmd, args, nil); err != nil {
		return err
	}
	return resolveDataFlags(cmd, nil)
}

// modelArgCommands take a checkpoint path as their positional argument.
var modelArgCommands = map[string]bool{"inspect": true}

// resolveModelArgs resolves the positional checkpoint of modelArgCommands like --model. cobra hands the same
// args slice to the pre-run hook and to RunE, so the snapshot folder replaces the id in place.
func resolveModelArgs(cmd *cobra.Command, args []string, roots []string) error {
	if !modelArgCommands[cmd.Name()] || len(args) != 1 {
		return nil
	}
	path, ok, err := hfcache.Resolve(args[0], roots)
	if err != nil {
		if errors.Is(err, hfcache.ErrNotCached) && (strings.Contains(args[0], "/") || mustExistCommands[cmd.Name()]) {
			return badInput("%w", err)
		}
		if !strings.Contains(args[0], "/") {
			return nil
		}
		return err
	}
	if ok {
		args[0] = path
	} else if err := checkExists(cmd, "", args[0]); err != nil {
		return err
	}
	return nil
}

// mustExistCommands read the checkpoint (or tokenizer) their --model, --tokenizer or positional argument names.
// For them a name that is neither a local path nor a Hugging Face id in the local cache is bad input (exit 2,
// like every other usage error), whether it looks like a folder or like a hub id; a path that exists but holds
// something wrong (no config.json, truncated weights) is a runtime error (exit 1), reported by the command.
// plan and bench are not here: their --model also takes built-in names.
var mustExistCommands = map[string]bool{"train": true, "eval": true, "generate": true, "forward": true,
	"export": true, "convert": true, "inspect": true, "tokenize": true}

// checkExists refuses a path that does not exist for mustExistCommands; flag is "" for a positional argument.
func checkExists(cmd *cobra.Command, flag, path string) error {
	if !mustExistCommands[cmd.Name()] || path == "" { // "" (e.g. --tokenizer "" in a config file) means unset
		return nil
	}
	if _, err := os.Stat(path); err != nil && errors.Is(err, os.ErrNotExist) {
		if flag != "" {
			flag = "--" + flag + " "
		}
		return badInput("%s%s: no such file or folder (and not a Hugging Face id in the local cache)", flag, path)
	}
	return nil
}

// refuseGGUFModel refuses a GGUF file as --model of a command that needs a checkpoint folder (export re-types
// a GGUF itself), saying how to get the folder, instead of failing on config.json's JSON.
func refuseGGUFModel(cmd *cobra.Command, flag, path string) error {
	if flag == "model" && mustExistCommands[cmd.Name()] && cmd.Name() != "export" && gguf.IsGGUF(path) {
		return badInput("--model %s is a GGUF file; %s needs a checkpoint folder: hift import --in %s --out DIR, then --model DIR", path, cmd.Name(), path)
	}
	return nil
}

// dataRefFlags name datasets; a value that is not a local path may be a dataset id in the local HF cache.
var dataRefFlags = []string{"data", "eval-data"}

// resolveDataFlags rewrites --data/--eval-data given as a cached Hugging Face dataset id (org/name[@revision],
// `huggingface-cli download --repo-type dataset`) to its snapshot folder, read as a datasets folder with
// --split. A missing id without a file extension is an error saying how to fill the cache; anything else that
// does not exist is left to the command.
func resolveDataFlags(cmd *cobra.Command, roots []string) error {
	for _, name := range dataRefFlags {
		fl := cmd.Flags().Lookup(name)
		if fl == nil || !fl.Changed || fl.Value.Type() != "string" {
			continue
		}
		spec := fl.Value.String()
		if _, err := os.Stat(spec); err == nil || !strings.Contains(spec, "/") {
			continue
		}
		ref, ok := hfcache.ParseRef(spec)
		if !ok {
			continue
		}
		if roots == nil {
			roots = hfcache.DefaultRoots()
		}
		path, err := hfcache.LookupDataset(ref, roots)
		if err != nil {
			if filepath.Ext(ref.ID) == "" && errors.Is(err, hfcache.ErrNotCached) {
				return badInput("--%s %w", name, err)
			}
			continue
		}
		if err := fl.Value.Set(path); err != nil {
			return fmt.Errorf("--%s: %w", name, err)
		}
	}
	return nil
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
			if errors.Is(err, hfcache.ErrNotCached) && (strings.Contains(spec, "/") || mustExistCommands[cmd.Name()]) {
				return badInput("--%s %w", name, err)
			}
			if !strings.Contains(spec, "/") {
				continue // a bare name (a built-in bench model, a missing folder): the command reports it
			}
			return fmt.Errorf("--%s: %w", name, err)
		}
		if !ok {
			if err := checkExists(cmd, name, spec); err != nil {
				return err
			}
		}
		if err := refuseGGUFModel(cmd, name, spec); err != nil {
			return err
		}
		if ok && path != spec {
			if err := fl.Value.Set(path); err != nil {
				return fmt.Errorf("--%s: %w", name, err)
			}
		}
	}
	return nil
}
