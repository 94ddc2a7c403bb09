package hfcache

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	hashMain = "0123456789abcdef0123456789abcdef01234567"
	hashV1   = "fedcba9876543210fedcba9876543210fedcba98"
)

// makeCache lays out a cache as huggingface_hub does: blobs/, snapshots/<hash>/ with symlinks into blobs/, and
// refs/main and refs/v1 (a tag).
func makeCache(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	repo := filepath.Join(root, "models--acme--tiny-llama")
	for _, h := range []string{hashMain, hashV1} {
		blob := filepath.Join(repo, "blobs", "blob-"+h[:6])
		write(t, blob, `{"model_type":"llama","rev":"`+h[:6]+`"}`)
		snap := filepath.Join(repo, "snapshots", h)
		if err := os.MkdirAll(snap, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..", "..", "blobs", "blob-"+h[:6]), filepath.Join(snap, "config.json")); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(repo, "refs", "main"), hashMain+"\n")
	write(t, filepath.Join(repo, "refs", "v1"), hashV1)
	// A legacy bare id with only one snapshot and no refs.
	write(t, filepath.Join(root, "models--gpt2", "snapshots", hashV1, "config.json"), "{}")
	return root
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestResolveCache(t *testing.T) {
	root := makeCache(t)
	other := t.TempDir() // searched first, empty
	roots := []string{other, root}
	for _, tc := range []struct{ spec, want string }{
		{"acme/tiny-llama", hashMain},
		{"acme/tiny-llama@main", hashMain},
		{"acme/tiny-llama@v1", hashV1},
		{"acme/tiny-llama@" + hashV1, hashV1},
		{"acme/tiny-llama@fedcba9", hashV1},
		{"gpt2", hashV1},
	} {
		got, ok, err := Resolve(tc.spec, roots)
		if err != nil || !ok {
			t.Fatalf("Resolve(%q): ok=%v err=%v", tc.spec, ok, err)
		}
		if filepath.Base(got) != tc.want {
			t.Errorf("Resolve(%q) = %s, want snapshot %s", tc.spec, got, tc.want)
		}
		if _, err := os.ReadFile(filepath.Join(got, "config.json")); err != nil {
			t.Errorf("Resolve(%q): snapshot config.json unreadable through the blob symlink: %v", tc.spec, err)
		}
	}
}

func TestResolveLocalPathWins(t *testing.T) {
	root := makeCache(t)
	dir := t.TempDir()
	local := filepath.Join(dir, "acme", "tiny-llama")
	if err := os.MkdirAll(local, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	got, ok, err := Resolve("acme/tiny-llama", []string{root})
	if err != nil || !ok || got != "acme/tiny-llama" {
		t.Fatalf("local folder acme/tiny-llama should win over the cached id: got %q ok=%v err=%v", got, ok, err)
	}
}

func TestResolveMissing(t *testing.T) {
	root := makeCache(t)
	for _, tc := range []struct{ spec, mention string }{
		{"acme/absent", "huggingface-cli download acme/absent"},
		{"acme/tiny-llama@v9", `no branch or tag "v9"`},
		{"acme/tiny-llama@0000000", "huggingface-cli download acme/tiny-llama --revision 0000000"},
	} {
		_, ok, err := Resolve(tc.spec, []string{root})
		if ok || err == nil {
			t.Fatalf("Resolve(%q) should fail", tc.spec)
		}
		if !errors.Is(err, ErrNotCached) {
			t.Errorf("Resolve(%q): error %v is not ErrNotCached", tc.spec, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.mention) || !strings.Contains(msg, root) {
			t.Errorf("Resolve(%q): error should mention %q and the folder looked in (%s):\n%s", tc.spec, tc.mention, root, msg)
		}
	}
	// Not a hub id at all: left to the caller.
	for _, spec := range []string{"/abs/missing", "./rel/missing", "a/b/c", "x/../y"} {
		got, ok, err := Resolve(spec, []string{root})
		if err != nil || ok || got != spec {
			t.Errorf("Resolve(%q) = %q, %v, %v; want it unchanged, not ok, no error", spec, got, ok, err)
		}
	}
}

func TestRoots(t *testing.T) {
	env := map[string]string{"HF_HOME": "/h", "HF_HUB_CACHE": "/c"}
	got := Roots(func(k string) string { return env[k] }, "/home/u")
	want := []string{"/c", "/h/hub", "/home/u/.cache/huggingface/hub"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Roots = %v, want %v", got, want)
	}
	env = map[string]string{"XDG_CACHE_HOME": "/x"}
	got = Roots(func(k string) string { return env[k] }, "/home/u")
	want = []string{"/x/huggingface/hub", "/home/u/.cache/huggingface/hub"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Roots = %v, want %v", got, want)
	}
}

func TestLookupDataset(t *testing.T) {
	root := t.TempDir()
	snap := filepath.Join(root, "datasets--acme--opticks", "snapshots", hashMain)
	write(t, filepath.Join(snap, "data", "train-00000-of-00001.parquet"), "x")
	write(t, filepath.Join(root, "datasets--acme--opticks", "refs", "main"), hashMain)
	ref, _ := ParseRef("acme/opticks")
	got, err := LookupDataset(ref, []string{root})
	if err != nil || got != snap {
		t.Fatalf("LookupDataset = %q, %v; want %s", got, err, snap)
	}
	if _, err := Lookup(ref, []string{root}); err == nil {
		t.Errorf("a dataset must not be found as a model")
	}
	ref, _ = ParseRef("acme/absent")
	if _, err := LookupDataset(ref, []string{root}); err == nil || !strings.Contains(err.Error(), "huggingface-cli download --repo-type dataset acme/absent") {
		t.Errorf("missing dataset: %v", err)
	}
}
