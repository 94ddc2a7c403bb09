package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// flagGroup is a titled section of a command's --help.
type flagGroup struct {
	title string
	flags []string
}

// trainFlagGroups sorts hift train's flags into the sections of its --help, in the order a user sets them up.
var trainFlagGroups = []flagGroup{
	{"Model", []string{"model", "task", "num-labels", "init-head", "tokenizer", "config", "print-config"}},
	{"Data", []string{"data", "data-format", "split", "seq-len", "text-field", "text-pair-field", "text-per-line", "prompt-field",
		"response-field", "template", "chat-template", "messages-field", "label-field", "label-names", "pad-token", "tokens-field",
		"tags-field", "context-field", "question-field", "answers-field", "choices-field", "doc-stride", "skip-bad-rows", "max-rows",
		"data-cache"}},
	{"Evaluation", []string{"eval-data", "eval-split", "eval-every", "eval-batch-size", "sample-prompt", "sample-tokens"}},
	{"HiFT", []string{"group-size", "group-element", "strategy", "reshuffle-each-cycle", "groups", "freeze-layers", "unit-order", "full",
		"print-queue"}},
	{"Optimizer", []string{"optimizer", "lr", "weight-decay", "decay-norm-and-bias", "max-grad-norm", "beta1", "beta2", "eps", "amsgrad",
		"momentum", "dampening", "nesterov", "lr-decay", "initial-accumulator", "alpha", "centered", "scale-parameter", "relative-step",
		"warmup-init", "clip-threshold", "decay-rate", "eps2"}},
	{"Schedule", []string{"steps", "epochs", "batch-size", "grad-accum", "lr-scheduler", "warmup-steps", "warmup-ratio", "lr-horizon",
		"seed", "no-shuffle", "drop-last"}},
	{"Precision and memory", []string{"precision", "no-offload", "no-prefetch"}},
	{"LoRA", []string{"lora", "lora-r", "lora-alpha", "lora-targets"}},
	{"Output and checkpoints", []string{"output", "overwrite", "no-save", "save-every", "save-total-limit", "resume", "allow-data-change",
		"max-skipped-steps", "export-gguf"}},
	{"Logging", []string{"log-every", "report-to"}},
}

// groupedUsage makes cmd's usage list its flags in titled groups; a flag in no group is listed under "Other
// flags". Global flags follow as usual.
func groupedUsage(cmd *cobra.Command, groups []flagGroup) {
	cmd.SetUsageFunc(func(c *cobra.Command) error {
		var b strings.Builder
		fmt.Fprintf(&b, "Usage:\n  %s\n", c.UseLine())
		if len(c.Aliases) > 0 {
			fmt.Fprintf(&b, "\nAliases:\n  %s\n", c.NameAndAliases())
		}
		if c.HasExample() {
			fmt.Fprintf(&b, "\nExamples:\n%s\n", c.Example)
		}
		local := c.LocalFlags()
		placed := map[string]bool{}
		section := func(title string, names []string) {
			fs := pflag.NewFlagSet(title, pflag.ContinueOnError)
			fs.SortFlags = false
			for _, n := range names {
				if f := local.Lookup(n); f != nil && !f.Hidden && !placed[n] {
					fs.AddFlag(f)
					placed[n] = true
				}
			}
			if fs.HasFlags() {
				fmt.Fprintf(&b, "\n%s flags:\n%s", title, fs.FlagUsagesWrapped(120))
			}
		}
		for _, g := range groups {
			section(g.title, g.flags)
		}
		var rest []string
		local.VisitAll(func(f *pflag.Flag) {
			if !placed[f.Name] {
				rest = append(rest, f.Name)
			}
		})
		section("Other", rest)
		if c.HasAvailableInheritedFlags() {
			fmt.Fprintf(&b, "\nGlobal flags:\n%s", c.InheritedFlags().FlagUsagesWrapped(120))
		}
		_, err := fmt.Fprint(c.OutOrStderr(), b.String())
		return err
	})
}
