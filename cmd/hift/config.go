package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hift-go/hift/report"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// RunConfigFile is the file the effective settings of a run are written to, in the output folder and each
// checkpoint, so that `hift train --config OUT/hift_config.yaml` reruns the same job.
const RunConfigFile = "hift_config.yaml"

// installConfigFlags gives every runnable command without a --config of its own (init has one: the HF
// config.json) the flags --config FILE (YAML or JSON: every flag is a key of the same name) and
// --print-config (print the effective settings as YAML and stop). Commands with an --output folder get
// --report-to (tensorboard: events in OUTPUT/runs written while the run trains), and after a successful run
// hift_config.yaml in the folder and its checkpoint-*/ folders and metrics.svg (report.Plot).
func installConfigFlags(root *cobra.Command) {
	for _, c := range root.Commands() {
		installConfigFlags(c)
		if c.RunE == nil || c.Flags().Lookup("config") != nil {
			continue
		}
		c.Flags().String("config", "", "read flags from this YAML or JSON file (keys are flag names; the command line wins)")
		c.Flags().Bool("print-config", false, "print the effective settings as YAML (a valid --config file) and exit")
		if c.Flags().Lookup("output") != nil && c.Flags().Lookup("report-to") == nil {
			c.Flags().String("report-to", "none", "tensorboard: also write the metrics as TensorBoard events in OUTPUT/runs while training; none")
		}
		run := c.RunE
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if p, _ := cmd.Flags().GetBool("print-config"); p {
				b, err := configYAML(cmd)
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			if r, _ := cmd.Flags().GetString("report-to"); r != "none" && r != "tensorboard" && r != "" {
				return badInput("--report-to must be tensorboard or none (got %q)", r)
			}
			if cmd.Annotations[annotationOwnReports] != "" {
				// The command (train) starts and finishes its reports itself, inside its output folder's
				// lock, after its placement checks: see runReports.
				return run(cmd, args)
			}
			stop := followTensorBoard(cmd)
			err := run(cmd, args)
			if serr := stop(); err == nil {
				err = serr
			}
			if err != nil {
				return err
			}
			if err := writeRunConfig(cmd); err != nil {
				return err
			}
			return writeRunReports(cmd)
		}
	}
}

// applyConfigFile sets every flag named in cmd's --config file that was not given on the command line.
func applyConfigFile(cmd *cobra.Command) error {
	fl := cmd.Flags().Lookup("config")
	if fl == nil || fl.Value.Type() != "string" || fl.Value.String() == "" || cmd.Flags().Lookup("print-config") == nil {
		return nil
	}
	path := fl.Value.String()
	raw, err := os.ReadFile(path)
	if err != nil {
		return badInput("--config: %v", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return badInput("--config %s: not valid YAML or JSON: %v", path, err)
	}
	if len(doc.Content) == 0 {
		return nil // an empty file sets nothing
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return badInput("--config %s:%d: the file must be a mapping of flag names to values", path, top.Line)
	}
	seen := map[string]int{}
	return applyMapping(cmd, path, top, seen, true)
}

// applyMapping applies the key/value pairs of a mapping; at the top level, a mapping value whose key is not a
// flag is a section (e.g. "optimizer:" grouping lr, beta1, ...) whose keys are flags.
func applyMapping(cmd *cobra.Command, path string, m *yaml.Node, seen map[string]int, top bool) error {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		name := strings.ReplaceAll(strings.TrimPrefix(k.Value, "--"), "_", "-")
		f := cmd.Flags().Lookup(name)
		if top && v.Kind == yaml.MappingNode { // a section (its name may also be a flag: "optimizer:")
			if err := applyMapping(cmd, path, v, seen, false); err != nil {
				return err
			}
			continue
		}
		if f == nil || name == "config" || name == "print-config" || name == "help" {
			msg := fmt.Sprintf("--config %s:%d: unknown key %q for hift %s", path, k.Line, k.Value, cmd.Name())
			if s := nearestFlag(cmd.Flags(), name); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return badInput("%s", msg)
		}
		if line, dup := seen[name]; dup {
			return badInput("--config %s:%d: %q is set twice (first on line %d)", path, k.Line, name, line)
		}
		seen[name] = k.Line
		if f.Changed { // the command line wins
			continue
		}
		if err := setFromNode(cmd.Flags(), f, v); err != nil {
			return badInput("--config %s:%d: %s: %v", path, v.Line, name, err)
		}
	}
	return nil
}

// setFromNode sets a flag from a YAML scalar or a list of scalars (for list flags, or joined by commas).
func setFromNode(fs *pflag.FlagSet, f *pflag.Flag, v *yaml.Node) error {
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return nil
		}
		return fs.Set(f.Name, v.Value)
	case yaml.SequenceNode:
		var items []string
		for _, e := range v.Content {
			if e.Kind != yaml.ScalarNode {
				return fmt.Errorf("list items must be plain values")
			}
			items = append(items, e.Value)
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			if err := sv.Replace(items); err != nil {
				return err
			}
			f.Changed = true
			return nil
		}
		return fs.Set(f.Name, strings.Join(items, ","))
	}
	return fmt.Errorf("want a value or a list, got a mapping")
}

// nearestFlag suggests the flag name closest to name (cli_checks.go's closest), or "".
func nearestFlag(fs *pflag.FlagSet, name string) string {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && f.Name != "config" && f.Name != "print-config" && f.Name != "help" {
			names = append(names, f.Name)
		}
	})
	return closest(name, names)
}

// configYAML renders the effective settings of cmd: every flag of the command in definition order (aliases,
// hidden flags and --config/--print-config/--help left out) and the inherited flags that were set.
func configYAML(cmd *cobra.Command) ([]byte, error) {
	m := &yaml.Node{Kind: yaml.MappingNode}
	local := cmd.LocalFlags()
	fs := cmd.Flags()
	sorted := fs.SortFlags
	fs.SortFlags = false
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Deprecated != "" || strings.HasPrefix(f.Usage, "alias of") ||
			f.Name == "config" || f.Name == "print-config" || f.Name == "help" {
			return
		}
		if local.Lookup(f.Name) == nil && !f.Changed {
			return
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: f.Name}, valueNode(f))
	})
	fs.SortFlags = sorted
	var b bytes.Buffer
	fmt.Fprintf(&b, "# hift %s: effective settings (every flag; the command line overrides any of them)\n", cmd.Name())
	fmt.Fprintf(&b, "# rerun with: hift %s --config FILE", cmd.Name())
	if cmd.Flags().Lookup("output") != nil {
		b.WriteString(" --output NEW_FOLDER (or --overwrite to replace this run)")
	}
	b.WriteString("\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	enc.Close()
	return b.Bytes(), nil
}

// valueNode renders a flag's current value with the YAML type of the flag.
func valueNode(f *pflag.Flag) *yaml.Node {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, s := range sv.GetSlice() {
			seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s})
		}
		return seq
	}
	tag := "!!str" // quoted when it could read as another type
	switch t := f.Value.Type(); {
	case t == "bool", strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), strings.HasPrefix(t, "float"):
		tag = "" // plain: 0, 0.002, 1e-08, true
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: f.Value.String()}
}

// writeRunConfig writes hift_config.yaml into the command's --output folder and each checkpoint-*/ in it
// (atomically; nothing without an --output folder on disk).
func writeRunConfig(cmd *cobra.Command) error {
	fl := cmd.Flags().Lookup("output")
	if fl == nil || fl.Value.String() == "" {
		return nil
	}
	out := fl.Value.String()
	if st, err := os.Stat(out); err != nil || !st.IsDir() {
		return nil
	}
	b, err := configYAML(cmd)
	if err != nil {
		return err
	}
	dirs := []string{out}
	ckpts, _ := filepath.Glob(filepath.Join(out, "checkpoint-*"))
	sort.Strings(ckpts)
	for _, c := range ckpts {
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			dirs = append(dirs, c)
		}
	}
	for _, d := range dirs {
		if err := writeFileAtomic(filepath.Join(d, RunConfigFile), b); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}
	return nil
}

// writeRunReports draws OUTPUT/metrics.svg from OUTPUT/metrics.jsonl after a run.
func writeRunReports(cmd *cobra.Command) error {
	fl := cmd.Flags().Lookup("output")
	if fl == nil || fl.Value.String() == "" {
		return nil
	}
	out := fl.Value.String()
	metrics := filepath.Join(out, report.MetricsFile)
	if _, err := os.Stat(metrics); err != nil {
		return nil
	}
	m, err := report.ReadMetrics(metrics)
	if err != nil {
		return err
	}
	chart := filepath.Join(out, report.PlotFile)
	if err := report.Plot(m, chart); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", chart)
	return nil
}

// annotationOwnReports marks a command that calls runReports itself (inside its output lock) instead of having
// the --config wrapper start TensorBoard and write hift_config.yaml/metrics.svg around it.
const annotationOwnReports = "hift/own-reports"

// runReports are the output-folder reports of a run: TensorBoard events while it trains, then
// hift_config.yaml and metrics.svg. A command marked with annotationOwnReports starts them only once its
// output folder is checked and locked, so that a refused run never writes into another run's folder.
type runReports struct{ cmd *cobra.Command }

// start begins following metrics.jsonl for --report-to tensorboard; the returned function stops it.
func (r runReports) start() func() error {
	if r.cmd == nil {
		return func() error { return nil }
	}
	return followTensorBoard(r.cmd)
}

// finish writes hift_config.yaml into the output and its checkpoints, and draws metrics.svg.
func (r runReports) finish() error {
	if r.cmd == nil {
		return nil
	}
	if err := writeRunConfig(r.cmd); err != nil {
		return err
	}
	return writeRunReports(r.cmd)
}

// tbPollInterval is how often --report-to tensorboard turns new metrics lines into events during a run.
const tbPollInterval = 2 * time.Second

// followTensorBoard, with --report-to tensorboard and an --output folder, converts the run's metrics.jsonl into
// TensorBoard events in OUTPUT/runs while it trains (report.TBFollower, every tbPollInterval); the returned
// function stops it after a last poll and reports the event file.
func followTensorBoard(cmd *cobra.Command) func() error {
	r, _ := cmd.Flags().GetString("report-to")
	fl := cmd.Flags().Lookup("output")
	if r != "tensorboard" || fl == nil || fl.Value.String() == "" {
		return func() error { return nil }
	}
	out := fl.Value.String()
	f := report.NewTBFollower(filepath.Join(out, report.MetricsFile), filepath.Join(out, "runs"))
	done := make(chan struct{})
	finished := make(chan error, 1)
	go func() {
		t := time.NewTicker(tbPollInterval)
		defer t.Stop()
		var perr error
		for {
			select {
			case <-t.C:
				if err := f.Poll(time.Now()); err != nil && perr == nil {
					perr = err
				}
			case <-done:
				finished <- perr
				return
			}
		}
	}()
	return func() error {
		close(done)
		err := <-finished
		if perr := f.Poll(time.Now()); err == nil {
			err = perr
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if p := f.Path(); p != "" {
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (%d metrics lines; tensorboard --logdir %s)\n", p, f.Events, filepath.Dir(p))
		}
		return err
	}
}
