package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hift-go/hift/hift"
	"github.com/spf13/pflag"
)

// runSettingFlags are the flags outside hift.Options that change a run: the data and formatting flags and the
// evaluation settings. A checkpoint records their values; --resume restores them.
func runSettingFlags() []string {
	fs := pflag.NewFlagSet("settings", pflag.ContinueOnError)
	var d DataFlags
	d.bind(fs)
	names := []string{"eval-split", "eval-batch-size", "save-every", "save-total-limit", "sample-prompt", "sample-tokens"}
	fs.VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	return names
}

// tokenizerFiles are hashed for the tokenizer's identity.
var tokenizerFiles = []string{"tokenizer.json", "tokenizer.model", "vocab.txt", "vocab.json", "merges.txt", "added_tokens.json",
	"tokenizer_config.json", "special_tokens_map.json"}

// runInfo describes what this run is made from: data file identities, tokenizer hash and the setting flags.
func (o *TrainOptions) runInfo(fl *pflag.FlagSet, modelDir string) (hift.RunInfo, error) {
	ri := hift.RunInfo{Settings: map[string]string{}}
	for _, n := range runSettingFlags() {
		if f := fl.Lookup(n); f != nil {
			ri.Settings[n] = f.Value.String()
		}
	}
	for _, d := range []struct{ role, path string }{{"train", o.Data}, {"eval", o.EvalData}} {
		if d.path == "" {
			continue
		}
		id, err := hift.IdentifyFile(d.role, d.path)
		if err != nil {
			return ri, fmt.Errorf("data: %w", err)
		}
		ri.Data = append(ri.Data, id)
	}
	if !isPretokenized(o.Data) {
		tok := o.DataFlags.Tokenizer
		if tok == "" {
			tok = modelDir
		}
		var err error
		if st, serr := os.Stat(tok); serr == nil && !st.IsDir() {
			ri.Tokenizer, err = hift.HashFiles(filepath.Dir(tok), []string{filepath.Base(tok)})
		} else {
			ri.Tokenizer, err = hashTokenizer(tok, tokenizerFiles, o.DataFlags.PadToken) // labels.go
		}
		if err != nil {
			return ri, fmt.Errorf("tokenizer: %w", err)
		}
	}
	return ri, nil
}

// restoreSettings sets every recorded setting flag the user did not give on this command line, so the resumed
// run formats its data exactly as the original did. It returns the settings given anew that differ.
func (o *TrainOptions) restoreSettings(fl *pflag.FlagSet, rec hift.RunInfo) ([]string, error) {
	var changed []string
	for _, n := range runSettingFlags() {
		v, ok := rec.Settings[n]
		f := fl.Lookup(n)
		if !ok || f == nil {
			continue
		}
		if f.Changed {
			if f.Value.String() != v {
				changed = append(changed, fmt.Sprintf("--%s %s (was %s)", n, f.Value.String(), v))
			}
			continue
		}
		if err := fl.Set(n, v); err != nil {
			return nil, fmt.Errorf("resume: restoring --%s=%s: %w", n, v, err)
		}
		f.Changed = false
	}
	return changed, nil
}

// compareData reports how this run's data and tokenizer differ from the checkpoint's ("" when equal).
func compareData(rec, now hift.RunInfo) string {
	var diffs []string
	old := map[string]hift.FileID{}
	for _, d := range rec.Data {
		old[d.Role] = d
	}
	for _, d := range now.Data {
		was, ok := old[d.Role]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s data %s was not part of the run", d.Role, d.Path))
		case was.SHA256 != d.SHA256:
			diffs = append(diffs, fmt.Sprintf("%s data %s (%d bytes, sha256 %.12s…) differs from the run's %s (%d bytes, sha256 %.12s…)",
				d.Role, d.Path, d.Size, d.SHA256, was.Path, was.Size, was.SHA256))
		}
		delete(old, d.Role)
	}
	for _, d := range old {
		diffs = append(diffs, fmt.Sprintf("the run's %s data %s is not given", d.Role, d.Path))
	}
	if rec.Tokenizer != now.Tokenizer && (rec.Tokenizer != "" || now.Tokenizer != "") {
		diffs = append(diffs, fmt.Sprintf("the tokenizer (sha256 %.12s…) differs from the run's (sha256 %.12s…)", now.Tokenizer, rec.Tokenizer))
	}
	return strings.Join(diffs, "; ")
}

// describeSettings lists the setting flags whose values differ from their defaults, for the start banner.
func describeSettings(fl *pflag.FlagSet) string {
	var parts []string
	for _, n := range runSettingFlags() {
		if f := fl.Lookup(n); f != nil && f.Value.String() != f.DefValue {
			parts = append(parts, fmt.Sprintf("--%s=%s", n, f.Value.String()))
		}
	}
	if len(parts) == 0 {
		return "data settings: defaults"
	}
	return "data settings: " + strings.Join(parts, " ")
}
