package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var rowsRE = regexp.MustCompile(`: (\d+) rows → (\d+) examples`)

// TestDataSources: `--data` takes a folder of .txt files (one document per file, or --text-per-line), a
// gzip-compressed JSON array, and a Hugging Face datasets folder with --split; each is evaluated end to end.
func TestDataSources(t *testing.T) {
	lm := tinyModel(t, "LlamaForCausalLM", "")
	dir := t.TempDir()
	put := func(p string, b []byte) {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	docs := filepath.Join(dir, "docs")
	put(filepath.Join(docs, "a.txt"), []byte("Light is refracted by a prism.\nColours differ in refrangibility.\n"))
	put(filepath.Join(docs, "b.txt"), []byte("Bodies attract one another.\n"))
	put(filepath.Join(docs, "more", "c.txt"), []byte("Rays of light\n\nare reflected.\n"))
	var gzbuf bytes.Buffer
	zw := gzip.NewWriter(&gzbuf)
	zw.Write([]byte(`[{"text": "Light is refracted."}, {"text": "Bodies attract."}]`))
	zw.Close()
	arr := filepath.Join(dir, "rows.json.gz")
	put(arr, gzbuf.Bytes())
	hf := filepath.Join(dir, "hfds")
	put(filepath.Join(hf, "data", "train-00000-of-00001.jsonl"), []byte(`{"text":"a"}`+"\n"+`{"text":"b"}`+"\n"))
	put(filepath.Join(hf, "data", "test-00000-of-00001.jsonl"), []byte(`{"text":"Light is refracted by a prism."}`+"\n"))

	for _, c := range []struct {
		name string
		args []string
		rows string
	}{
		{"txt folder", []string{"--data", docs}, "3"},
		{"txt per line", []string{"--data", docs, "--text-per-line"}, "5"},
		{"json array gz", []string{"--data", arr}, "2"},
		{"hf split", []string{"--data", hf, "--split", "test"}, "1"},
	} {
		code, _, stderr := runCLI(t, append([]string{"eval", "--model", lm, "--seq-len", "8", "--batch-size", "2"}, c.args...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.name, code, stderr)
		}
		m := rowsRE.FindStringSubmatch(stderr)
		if m == nil || m[1] != c.rows {
			t.Errorf("%s: want %s rows read, log:\n%s", c.name, c.rows, stderr)
		}
	}
	// The same folder as a dataset of the local HF cache: --data org/name.
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	const hash = "0123456789abcdef0123456789abcdef01234567"
	snap := filepath.Join(cache, "datasets--acme--opticks", "snapshots", hash)
	put(filepath.Join(snap, "data", "test-00000-of-00001.jsonl"), []byte(`{"text":"Light is refracted."}`+"\n"+`{"text":"Rays."}`+"\n"))
	put(filepath.Join(cache, "datasets--acme--opticks", "refs", "main"), []byte(hash))
	if code, _, stderr := runCLI(t, "eval", "--model", lm, "--seq-len", "8", "--data", "acme/opticks", "--split", "test"); code != 0 || rowsRE.FindStringSubmatch(stderr) == nil || rowsRE.FindStringSubmatch(stderr)[1] != "2" {
		t.Errorf("--data acme/opticks from the HF cache: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "eval", "--model", lm, "--data", "acme/nothing"); code != exitBadInput || !strings.Contains(stderr, "huggingface-cli download --repo-type dataset acme/nothing") {
		t.Errorf("--data of an uncached dataset id: exit %d: %s", code, stderr)
	}

	code, _, stderr := runCLI(t, "eval", "--model", lm, "--data", hf, "--split", "validation")
	if code == 0 || !strings.Contains(stderr, `no split "validation"`) || !strings.Contains(stderr, "test, train") {
		t.Errorf("missing split: exit %d: %s", code, stderr)
	}
}
