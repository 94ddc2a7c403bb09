package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/hift-go/hift/graph"
	"github.com/spf13/cobra"
)

// Version is the hift version, set at build time with -ldflags "-X main.Version=...".
var Version = "0.1.0-dev"

// Exit codes, in one place. exitBadInput (2) is for what the user typed: an unknown or malformed flag, a value
// out of range, or a path that names nothing (a --model/--tokenizer that is neither a local path nor a cached
// Hugging Face id, see mustExistCommands). exitError (1) is for everything found while running: a file that
// exists but is corrupt or does not fit the model, a backend that fails, a write that fails.
const (
	exitOK          = 0
	exitError       = 1
	exitBadInput    = 2
	exitInterrupted = 130
)

// usageError marks errors caused by bad flags or arguments (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func badInput(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// factory creates expensive dependencies lazily, so --help, inspect and plan never start a backend.
type factory struct {
	stdout, stderr io.Writer
	backendFlag    string
	backendOnce    sync.Once
	backend        backends.Backend
	backendErr     error
}

// Backend starts the compute backend chosen by --backend / $HIFT_BACKEND / $GOMLX_BACKEND on first use.
func (f *factory) Backend() (backends.Backend, error) {
	f.backendOnce.Do(func() {
		f.backend, f.backendErr = graph.NewBackend(f.backendFlag)
		// A backend name hift does not know, or a SimpleGo option it does not have (SimpleGo fails for no other
		// reason), is a bad --backend (or HIFT_BACKEND) value: a usage error, exit 2.
		switch name, _, _ := strings.Cut(graph.ResolveBackendConfig(f.backendFlag), ":"); name {
		case "xla", "stablehlo", "hlo", "shlo":
		default:
			if f.backendErr != nil {
				f.backendErr = usageError{f.backendErr}
			}
		}
	})
	return f.backend, f.backendErr
}

func newRootCmd(f *factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "hift",
		Short: "Memory-efficient full fine-tuning of Hugging Face transformers with HiFT",
		Long: `hift fine-tunes Hugging Face checkpoints with HiFT (Hierarchical Full-parameter Fine-Tuning,
arXiv 2401.15207): the model is split into units (embeddings, each block, the head pieces); each optimizer
step updates one group of units taken from a rotating queue, so the device holds the model plus one group's
gradients and optimizer state. hift reads and writes HF safetensors checkpoints directly.

Backends: the pure-Go SimpleGo backend is the default; --backend xla:/abs/path/to/pjrt_plugin.so runs on
XLA through a PJRT plugin (e.g. jax's xla_cuda_plugin.so). Nothing is ever downloaded.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Resolves Hugging Face ids in --model/--tokenizer to local cache folders (modelref.go).
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error { return prepareCommand(cmd, args) },
	}
	root.SetOut(f.stdout)
	root.SetErr(f.stderr)
	root.PersistentFlags().StringVar(&f.backendFlag, "backend", "",
		"compute backend: go[:options] (default "+graph.DefaultBackend+") or xla:/abs/path/plugin.so; env "+graph.BackendEnv)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newVersionCmd(f, nil),
		newForwardCmd(f, nil),
		newInspectCmd(f, nil),
		newTrainCmd(f, nil),
		newInitCmd(f, nil),
		newTokenizeCmd(f, nil),
		newEvalCmd(f, nil),
		newGenerateCmd(f, nil),
		newExportCmd(f, nil),
		newImportCmd(f, nil),
		newBenchCmd(f), newPlanCmd(f, nil),
		newConvertCmd(f, nil), newPlotCmd(f, nil),
	)
	installUsageChecks(root)
	installConfigFlags(root) // config.go: --config FILE and --print-config on every command
	return root
}

// run executes the CLI and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	f := &factory{stdout: stdout, stderr: stderr}
	root := newRootCmd(f)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "hift:", err)
	var ue usageError
	switch {
	case errors.As(err, &ue):
		return exitBadInput
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	}
	return exitError
}

var errInterrupted = errors.New("interrupted")

func backendsDevice(d int) backends.DeviceNum { return backends.DeviceNum(d) }
