package main

import (
	"fmt"
	"runtime"

	"github.com/hift-go/hift/graph"
	"github.com/spf13/cobra"
)

// VersionOptions are the flags of `hift version`.
type VersionOptions struct {
	f *factory
}

func newVersionCmd(f *factory, runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{f: f}
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the backend in use and the devices it sees",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runVersion(opts)
		},
	}
}

func runVersion(opts *VersionOptions) error {
	out := opts.f.stdout
	fmt.Fprintf(out, "hift %s (%s, %s/%s)\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	b, err := opts.f.Backend()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "backend: %s (%s), config %q\n", b.Name(), b.Description(), graph.ResolveBackendConfig(opts.f.backendFlag))
	for d := 0; d < b.NumDevices(); d++ {
		fmt.Fprintf(out, "device %d: %s\n", d, b.DeviceDescription(backendsDevice(d)))
	}
	return nil
}
