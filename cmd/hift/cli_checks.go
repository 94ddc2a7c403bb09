package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// signedFlags are integer flags whose negative values mean something.
var signedFlags = map[string]bool{"seed": true}

// installUsageChecks makes every usage error of every command exit 2 with a "did you mean" where one exists:
// unknown commands, unknown flags, wrong argument counts, and flag values that are not finite numbers (float
// flags, checked in float32, the precision of training) or negative counts.
func installUsageChecks(root *cobra.Command) {
	root.SuggestionsMinimumDistance = 2
	root.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf("; did you mean %q?", s[0])
		}
		return usageError{fmt.Errorf("%s (see hift --help)", msg)}
	}
	if root.RunE == nil && root.Run == nil {
		// Runnable, so cobra validates its arguments (above) instead of printing help for any word.
		root.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		msg := err.Error()
		if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
			var names []string
			cmd.Flags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
			if s := closest(name, names); s != "" {
				return usageError{fmt.Errorf("%s; did you mean --%s?", msg, s)}
			}
		}
		return usageError{err}
	})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c != root && c.Args != nil {
			args := c.Args
			c.Args = func(cmd *cobra.Command, a []string) error {
				if err := args(cmd, a); err != nil {
					return usageError{fmt.Errorf("%s: %w (see hift %s --help)", cmd.CommandPath(), err, cmd.Name())}
				}
				return nil
			}
		}
		if c.RunE != nil || c.Run != nil {
			pre := c.PreRunE
			c.PreRunE = func(cmd *cobra.Command, a []string) error {
				if err := checkFlagValues(cmd.Flags()); err != nil {
					return err
				}
				if pre != nil {
					return pre(cmd, a)
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// checkFlagValues refuses float flags that are not finite in float32 and negative integer counts.
func checkFlagValues(fl *pflag.FlagSet) error {
	var problems []string
	fl.Visit(func(f *pflag.Flag) {
		switch f.Value.Type() {
		case "float64", "float32":
			v, err := strconv.ParseFloat(f.Value.String(), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > math.MaxFloat32 {
				problems = append(problems, fmt.Sprintf("--%s must be a finite number (in float32), got %s", f.Name, f.Value.String()))
			}
		case "int", "int64", "int32", "uint", "uint64":
			if signedFlags[f.Name] {
				return
			}
			if v, err := strconv.ParseInt(f.Value.String(), 10, 64); err == nil && v < 0 {
				problems = append(problems, fmt.Sprintf("--%s must not be negative, got %d", f.Name, v))
			}
		}
	})
	if len(problems) > 0 {
		return badInput("%s", strings.Join(problems, "\n  "))
	}
	return nil
}

// checkEnum returns "" when value is one of allowed, else a problem naming the flag, the choices and the
// closest one.
func checkEnum(flag, value string, allowed ...string) string {
	for _, a := range allowed {
		if value == a {
			return ""
		}
	}
	list := allowed[0]
	if n := len(allowed); n > 1 {
		list = strings.Join(allowed[:n-1], ", ") + " or " + allowed[n-1]
	}
	msg := fmt.Sprintf("--%s must be %s, got %q", flag, list, value)
	if s := closest(value, allowed); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return msg
}

// closest returns the candidate within edit distance 2 (or sharing a prefix of 3+ letters) of word, or "".
func closest(word string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		d := editDistance(strings.ToLower(word), strings.ToLower(c))
		prefix := len(word) >= 3 && len(c) >= 3 && (strings.HasPrefix(c, word) || strings.HasPrefix(word, c))
		if d < bestD || (best == "" && prefix) {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
