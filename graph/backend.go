package graph

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/backends"
	// SimpleGo, GoMLX's pure-Go backend: the embedded default.
	_ "github.com/gomlx/gomlx/backends/simplego"
)

// DefaultBackend is the backend configuration used when neither the caller nor the environment chooses one:
// GoMLX's pure-Go SimpleGo backend with sequential op scheduling (DotGeneral stays internally parallel).
// Sequential scheduling avoids SimpleGo v0.26.0's worker-pool deadlock with concurrent DotGenerals
// (gomlx-notes.md P2) and is also the faster mode on small machines.
const DefaultBackend = "go:ops_sequential"

// BackendEnv is the environment variable that selects the backend when no --backend flag is given.
const BackendEnv = "HIFT_BACKEND"

// ResolveBackendConfig returns the backend configuration to use: the explicit one if non-empty, else
// $HIFT_BACKEND, else $GOMLX_BACKEND, else DefaultBackend. "go" alone becomes DefaultBackend.
func ResolveBackendConfig(explicit string) string {
	cfg := explicit
	if cfg == "" {
		cfg = os.Getenv(BackendEnv)
	}
	if cfg == "" {
		cfg = os.Getenv(backends.ConfigEnvVar)
	}
	if cfg == "" || cfg == "go" {
		cfg = DefaultBackend
	}
	return cfg
}

// NewBackend creates the compute backend for config (see ResolveBackendConfig).
//
// Accepted forms: "go[:options]" (SimpleGo; options ops_sequential, ops_parallel, parallelism=N, ...) and
// "xla:/absolute/path/to/pjrt_plugin.so[,options]" (XLA through a PJRT plugin; needs a cgo build without the
// noxla tag). PJRT auto-install is always off: a plugin must be named by absolute path, and nothing is
// downloaded.
func NewBackend(config string) (b backends.Backend, err error) {
	cfg := ResolveBackendConfig(config)
	name, rest, _ := strings.Cut(cfg, ":")
	// GoMLX's XLA backend reads this variable at init and before any plugin lookup: keep auto-install off.
	_ = os.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	switch name {
	case "go":
	case "xla", "stablehlo", "hlo", "shlo":
		if !xlaCompiledIn {
			return nil, fmt.Errorf("backend %q: this hift binary was built without XLA support (build with CGO_ENABLED=1 and without -tags noxla)", cfg)
		}
		plugin, _, _ := strings.Cut(rest, ",")
		if plugin == "" || !filepath.IsAbs(plugin) {
			return nil, fmt.Errorf("backend %q: name the PJRT plugin by absolute path, e.g. xla:/path/to/xla_cuda_plugin.so (auto-install is disabled)", cfg)
		}
		if st, statErr := os.Stat(plugin); statErr != nil {
			return nil, fmt.Errorf("backend %q: PJRT plugin: %w", cfg, statErr)
		} else if st.IsDir() {
			return nil, fmt.Errorf("backend %q: PJRT plugin %s is a directory, not a .so file", cfg, plugin)
		}
	default:
		return nil, fmt.Errorf("unknown backend %q: use \"go\" (pure Go, default) or \"xla:/abs/path/plugin.so\"", cfg)
	}
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("backend %q: %v", cfg, r)
		}
	}()
	b, err = backends.NewWithConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("backend %q: %w", cfg, err)
	}
	enableFastCPUOrWarn(b) // SIMD float32 kernels under SimpleGo (simplego_fast.go)
	return b, nil
}

// XLAAvailable reports whether this binary was built with the XLA backend (cgo, no noxla tag).
func XLAAvailable() bool { return xlaCompiledIn }
