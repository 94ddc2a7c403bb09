package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGPUScriptFindsPlugin checks scripts/gpu.sh's discovery on a fake jax layout (the GPU itself is not
// needed for this part): it must point HIFT_BACKEND at the plugin by absolute path and keep auto-install off,
// and fail clearly when there is none.
func TestGPUScriptFindsPlugin(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not on PATH: scripts/gpu.sh locates jax's plugin through it")
	}
	site := t.TempDir()
	plugin := filepath.Join(site, "jax_plugins", "xla_cuda13", "xla_cuda_plugin.so")
	os.MkdirAll(filepath.Dir(plugin), 0o755)
	os.WriteFile(plugin, nil, 0o644)
	script := repoPath("scripts", "gpu.sh")
	cmd := exec.Command("bash", script, "--env")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+site)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gpu.sh --env: %v\n%s", err, out)
	}
	for _, want := range []string{"HIFT_BACKEND='xla:" + plugin + "'", "GOMLX_NO_AUTO_INSTALL=1"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("gpu.sh --env printed %q, want it to contain %q", out, want)
		}
	}
	cmd = exec.Command("bash", script, "--env")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+t.TempDir(), "PJRT_PLUGIN_LIBRARY_PATH=", "LD_LIBRARY_PATH=", "HOME="+t.TempDir())
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no PJRT CUDA plugin found") {
		if !strings.Contains(string(out), "xla_cuda") { // a real jax installation on this machine is fine too
			t.Errorf("without a plugin: err %v, output %q", err, out)
		}
	}
}
