package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// readmeNotRun lists the README commands the tests cannot run, by their first words, with the reason.
var readmeNotRun = map[string]string{
	"GOMLX_BACKEND=go:ops_sequential GOMLX_NO_AUTO_INSTALL=1 go test": "runs the test suite this test belongs to",
	"bash scripts/validators.sh":                                      "installs npm packages from the registry (network)",
	"llama-cli":                                                       "llama.cpp's binary is not installed here (the GGUF is checked against llama.cpp by the validator tests)",
}

// readmeCommands extracts the commands of README.md's ```sh blocks (one per line, comments dropped).
func readmeCommands(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
		case strings.HasPrefix(line, "```"):
			in = false
		case in && strings.TrimSpace(line) != "" && !strings.HasPrefix(strings.TrimSpace(line), "#"):
			cmds = append(cmds, strings.TrimSpace(line))
		}
	}
	return cmds
}

// shellWords splits a command line as sh does for the README's commands: spaces, "double" and 'single' quotes.
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	have := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, have = r, true
		case r == ' ' || r == '\t':
			if have || cur.Len() > 0 {
				out = append(out, cur.String())
			}
			cur.Reset()
			have = false
		default:
			cur.WriteRune(r)
		}
	}
	if have || cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// TestReadmeCommands runs every command of README.md's ```sh blocks, in order: hift commands in-process from
// the repository root with at most 2 steps and their outputs (/tmp/…, out/…) moved to a temporary folder,
// the HF-cache example against a cache built here that holds the demo model under the README's id, and the
// build commands with their binaries written to the temporary folder and run. Commands that cannot run here
// are listed in readmeNotRun with the reason; any other command fails the test.
func TestReadmeCommands(t *testing.T) {
	root, err := filepath.Abs(repoPath())
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	// The README's model id, cached as huggingface_hub lays it out, holding the demo model.
	cache := filepath.Join(tmp, "hub")
	snap := filepath.Join(cache, "models--HuggingFaceTB--SmolLM2-135M", "snapshots", "0123456789abcdef0123456789abcdef01234567")
	if err := os.MkdirAll(snap, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} {
		copyFile(t, filepath.Join(root, "examples", "tiny-llama", f), filepath.Join(snap, f))
	}
	os.MkdirAll(filepath.Join(cache, "models--HuggingFaceTB--SmolLM2-135M", "refs"), 0o755)
	os.WriteFile(filepath.Join(cache, "models--HuggingFaceTB--SmolLM2-135M", "refs", "main"), []byte("0123456789abcdef0123456789abcdef01234567"), 0o644)
	t.Setenv("HF_HUB_CACHE", cache)
	t.Chdir(root)

	// Paths the README writes to, moved into tmp (the same README path always maps to the same place).
	outPath := func(p string) string {
		if strings.HasPrefix(p, "/tmp/") || strings.HasPrefix(p, "out/") || strings.HasPrefix(p, "bin/") {
			return filepath.Join(tmp, "w", strings.TrimPrefix(strings.TrimPrefix(p, "/tmp/"), "/"))
		}
		return p
	}
	ran, listed := 0, map[string]bool{}
	for _, line := range readmeCommands(t, filepath.Join(root, "README.md")) {
		if prefix, ok := notRun(line); ok {
			t.Logf("not run: %s (%s)", line, readmeNotRun[prefix])
			listed[prefix] = true
			continue
		}
		words := shellWords(line)
		var env []string
		for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
			env, words = append(env, words[0]), words[1:]
		}
		switch {
		case len(words) >= 3 && words[0] == "go" && words[1] == "run" && words[2] == "./cmd/hift":
			runReadmeHift(t, line, words[3:], outPath)
		case len(words) >= 1 && words[0] == "hift":
			runReadmeHift(t, line, words[1:], outPath)
		case len(words) >= 2 && words[0] == "go" && (words[1] == "build" || words[1] == "install"):
			bin := filepath.Join(tmp, "gobin", "hift")
			args := append([]string{}, words[1:]...)
			for i := range args {
				if i > 0 && args[i-1] == "-o" {
					bin = outPath(args[i])
					args[i] = bin
				}
			}
			cmd := exec.Command("go", args...)
			cmd.Env = append(append(os.Environ(), env...), "GOBIN="+filepath.Dir(bin))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", line, err, out)
			}
			if out, err := exec.Command(bin, "version").CombinedOutput(); err != nil || !strings.Contains(string(out), "hift") {
				t.Errorf("%s: the binary does not run: %v\n%s", line, err, out)
			}
		default:
			t.Errorf("README command neither run by this test nor listed in readmeNotRun: %s", line)
			continue
		}
		ran++
	}
	if ran < 6 || len(listed) != len(readmeNotRun) {
		t.Errorf("ran %d README commands and met %d of the %d not-run entries: the extraction is broken or readmeNotRun is stale", ran, len(listed), len(readmeNotRun))
	}
}

// notRun returns the readmeNotRun entry that line starts with.
func notRun(line string) (string, bool) {
	for prefix := range readmeNotRun {
		if strings.HasPrefix(line, prefix) {
			return prefix, true
		}
	}
	return "", false
}

// runReadmeHift runs a README hift command in-process with --steps capped at 2 and its outputs moved.
func runReadmeHift(t *testing.T, line string, args []string, outPath func(string) string) {
	t.Helper()
	args = append([]string{}, args...)
	for i := 1; i < len(args); i++ {
		switch args[i-1] {
		case "--steps":
			args[i] = "2"
		case "--output", "--out", "--model":
			args[i] = outPath(args[i])
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("%s\n(run as hift %s): exit %d\n%s", line, strings.Join(args, " "), code, stderr.String())
	}
}
