package outdir

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestOverlap(t *testing.T) {
	root := t.TempDir()
	model := filepath.Join(root, "model")
	os.MkdirAll(filepath.Join(model, "sub"), 0o755)
	os.Symlink(model, filepath.Join(root, "link"))
	cases := []struct{ out, want string }{
		{model, "is"},
		{model + "/", "is"},
		{filepath.Join(root, "link"), "is"},
		{filepath.Join(model, "sub"), "is inside"},
		{filepath.Join(model, "new", "deeper"), "is inside"},
		{filepath.Join(root, "link", "x"), "is inside"},
		{root, "contains"},
		{filepath.Join(root, "model2"), ""},
		{filepath.Join(root, "other"), ""},
	}
	for _, c := range cases {
		got, err := Overlap(c.out, model)
		if err != nil || got != c.want {
			t.Errorf("Overlap(%s, model) = %q, %v; want %q", c.out, got, err, c.want)
		}
	}
}

func TestIsLeftover(t *testing.T) {
	for name, want := range map[string]bool{
		"checkpoint-3.tmp": true, ".model.safetensors.tmp-123": true, ".config.json.tmp456": true, ".trash-checkpoint-2-99": true,
		"checkpoint-3": false, "model.safetensors": false, LockFile: false, "notes.tmp": false, "checkpoint-x.tmp": false, "metrics.jsonl": false,
	} {
		if IsLeftover(name) != want {
			t.Errorf("IsLeftover(%q) = %v", name, !want)
		}
	}
}

func TestWriteFileAndRemoveAll(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.json")
	if err := WriteFile(p, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, %v; want 0644", st.Mode().Perm(), err)
	}
	ck := filepath.Join(dir, "checkpoint-2")
	os.MkdirAll(ck, 0o755)
	os.WriteFile(filepath.Join(ck, "w"), []byte("x"), 0o644)
	// Debris of a kill: a staging folder, a temp file and a trash folder.
	os.MkdirAll(filepath.Join(dir, "checkpoint-4.tmp"), 0o755)
	os.WriteFile(filepath.Join(dir, ".model.safetensors.tmp-9"), nil, 0o644)
	os.MkdirAll(filepath.Join(dir, ".trash-checkpoint-1-7"), 0o755)
	if err := RemoveAll(ck); err != nil {
		t.Fatal(err)
	}
	removed, err := CleanLeftovers(dir)
	if err != nil {
		t.Fatal(err)
	}
	names, _ := Contents(dir)
	if strings.Join(names, ",") != "a.json" || len(removed) != 3 {
		t.Errorf("left %v, removed %v", names, removed)
	}
}

func TestLockNamesHolder(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock on windows: one writer per folder is not enforced there")
	}
	dir := t.TempDir()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A second open file description conflicts exactly as a second process would.
	_, err = Acquire(dir)
	if err == nil || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second lock: %v", err)
	}
	l.Release()
	l2, err := Acquire(dir)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l2.Release()
}
