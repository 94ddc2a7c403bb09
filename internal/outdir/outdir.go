// Package outdir keeps a run's output folder safe for the user's work: it refuses outputs that overlap the
// inputs, takes the one-writer lock, writes files atomically (0644, fsynced, folder fsynced after rename),
// deletes folders atomically (rename to a trash name first) and removes what a killed run left behind.
package outdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockFile is the lock file inside an output folder.
const LockFile = ".hift.lock"

// trashPrefix names folders being deleted: a kill mid-delete leaves only a trash name, never a half checkpoint.
const trashPrefix = ".trash-"

// canonical returns an absolute, symlink-free form of path (the longest existing prefix resolved).
func canonical(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	rest := ""
	p := abs
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(r, rest), nil
		}
		parent := filepath.Dir(p)
		if parent == p {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// within reports whether child is parent or lies under it (both canonical).
func within(child, parent string) bool {
	if child == parent {
		return true
	}
	rel, err := filepath.Rel(parent, child)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// Overlap returns how output relates to input ("is", "is inside", "contains") or "" when they are apart.
func Overlap(output, input string) (string, error) {
	o, err := canonical(output)
	if err != nil {
		return "", fmt.Errorf("%s: %w", output, err)
	}
	in, err := canonical(input)
	if err != nil {
		return "", fmt.Errorf("%s: %w", input, err)
	}
	switch {
	case o == in:
		return "is", nil
	case within(o, in):
		return "is inside", nil
	case within(in, o):
		return "contains", nil
	}
	return "", nil
}

// Same reports whether two paths name the same folder.
func Same(a, b string) bool {
	x, err1 := canonical(a)
	y, err2 := canonical(b)
	return err1 == nil && err2 == nil && x == y
}

// Contents lists the entries of dir that belong to a run's output (the lock file excluded); nil when dir does
// not exist.
func Contents(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != LockFile {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// IsLeftover reports whether an entry of an output folder is debris of an interrupted write or delete: a trash
// folder, a hidden temporary file (".name.tmp…", as WriteFile and the safetensors writer stage them) or a
// checkpoint staging folder ("checkpoint-N.tmp").
func IsLeftover(name string) bool {
	if strings.HasPrefix(name, trashPrefix) || (strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp")) {
		return true
	}
	base, ok := strings.CutSuffix(name, ".tmp")
	if !ok {
		return false
	}
	step, ok := strings.CutPrefix(base, "checkpoint-")
	_, err := strconv.Atoi(step)
	return ok && err == nil
}

// CleanLeftovers removes the temporary files and trash folders a killed run left in dir (call it holding the
// lock) and returns their names.
func CleanLeftovers(dir string) ([]string, error) {
	names, err := Contents(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, n := range names {
		if !IsLeftover(n) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
			return removed, fmt.Errorf("removing leftover %s: %w", filepath.Join(dir, n), err)
		}
		removed = append(removed, n)
	}
	if len(removed) > 0 {
		SyncDir(dir)
	}
	return removed, nil
}

// RemoveAll deletes the folder path atomically as seen by a reader: it is first renamed to a hidden trash name
// in the same parent (one atomic step), then deleted. A kill in between leaves only the trash, which
// CleanLeftovers removes.
func RemoveAll(path string) error {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	trash := filepath.Join(filepath.Dir(path), fmt.Sprintf("%s%s-%d", trashPrefix, filepath.Base(path), os.Getpid()))
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("removing %s: %w", trash, err)
	}
	if err := os.Rename(path, trash); err != nil {
		return fmt.Errorf("removing %s: %w", path, err)
	}
	SyncDir(filepath.Dir(path))
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("removing %s: %w", path, err)
	}
	return nil
}

// WriteFile writes b to path atomically: a temporary file in the same folder, mode 0644, fsynced, renamed
// over path, then the folder fsynced.
func WriteFile(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		return fail(err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	SyncDir(filepath.Dir(path))
	return nil
}

// Rename renames a file or folder and fsyncs the destination's parent folder.
func Rename(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return err
	}
	SyncDir(filepath.Dir(to))
	return nil
}

// SyncDir fsyncs a folder so renames and removals in it survive a crash (best effort: some file systems refuse).
func SyncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
