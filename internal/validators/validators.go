// Package validators runs the pinned third-party reference programs in testdata/validators (llama.cpp through
// node-llama-cpp, HF tokenizers, C++ SentencePiece, onnxruntime-node) from Go tests. Each script takes file
// paths as arguments and prints one JSON document.
//
// When node or the installed packages are missing, a test skips with the command that installs them — except
// under CI=true, where it fails: .ci/run installs the validators (scripts/validators.sh), so a cross-check that
// cannot run in CI is a broken CI, never a silent skip.
package validators

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Install is the command that installs the validators (what .ci/run runs).
const Install = "bash scripts/validators.sh"

// Dir returns the absolute path of testdata/validators.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "validators")
}

// unavailable skips the test, or fails it under CI=true.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("validator unavailable under CI (CI=%s): "+format, append([]any{os.Getenv("CI")}, args...)...)
	}
	t.Skipf("live cross-check skipped: "+format, args...)
}

// Require returns node's path and the validators folder, after checking that the named packages (e.g.
// "node-llama-cpp", "onnxruntime-node") are installed. It skips (fails under CI) otherwise.
func Require(t testing.TB, packages ...string) (node, dir string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, "node is not on PATH (install Node >= 20, then run `%s`)", Install)
	}
	dir = Dir()
	for _, p := range packages {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", p, "package.json")); err != nil {
			unavailable(t, "%s is not installed in %s; run `%s`", p, dir, Install)
		}
	}
	return node, dir
}

// Run runs testdata/validators/<script> with args under node and decodes its JSON stdout into out. The
// packages named are required (see Require). Downloads by node-llama-cpp and onnxruntime-node are disabled.
func Run(t testing.TB, out any, packages []string, script string, args ...string) {
	t.Helper()
	node, dir := Require(t, packages...)
	if err := RunErr(node, dir, out, script, args...); err != nil {
		t.Fatal(err)
	}
}

// RunErr is Run without a testing.TB: it returns the script's failure (with its stderr) as an error.
func RunErr(node, dir string, out any, script string, args ...string) error {
	cmd := exec.Command(node, append([]string{filepath.Join(dir, script)}, args...)...)
	cmd.Env = append(os.Environ(), "NODE_LLAMA_CPP_SKIP_DOWNLOAD=true", "ONNXRUNTIME_NODE_INSTALL=skip")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		return &ScriptError{Script: script, Err: err, Stderr: stderr.String()}
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		return &ScriptError{Script: script, Err: err, Stderr: "bad JSON on stdout: " + truncate(string(stdout), 400)}
	}
	return nil
}

// ScriptError is a validator script that failed or printed something other than JSON.
type ScriptError struct {
	Script string
	Err    error
	Stderr string
}

// Error names the script, its failure and its stderr.
func (e *ScriptError) Error() string { return e.Script + ": " + e.Err.Error() + "\n" + e.Stderr }

// Unwrap returns the process error.
func (e *ScriptError) Unwrap() error { return e.Err }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
