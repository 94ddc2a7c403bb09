package hift

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// RunInfo records what a run was made from, beyond Options: the base model, the identity of each data file,
// the tokenizer's hash and the data/formatting settings. It is saved in every checkpoint, written into the
// model card, and compared on resume.
type RunInfo struct {
	BaseModel string   `json:"base_model,omitempty"`
	Data      []FileID `json:"data,omitempty"`
	// Tokenizer is the SHA-256 of the tokenizer files the data was tokenized with ("" for pre-tokenized data).
	Tokenizer string `json:"tokenizer_sha256,omitempty"`
	// Settings are the flags that shape the data and the run outside Options (name → value as given).
	Settings map[string]string `json:"settings,omitempty"`
}

// FileID identifies a data file by content: size and SHA-256.
type FileID struct {
	Role   string `json:"role"` // "train" or "eval"
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// IdentifyFile hashes a file (or every file of a folder, in name order) for a FileID.
func IdentifyFile(role, path string) (FileID, error) {
	id := FileID{Role: role, Path: path}
	if abs, err := filepath.Abs(path); err == nil {
		id.Path = abs
	}
	files := []string{path}
	if st, err := os.Stat(path); err != nil {
		return id, fmt.Errorf("%s: %w", path, err)
	} else if st.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return id, fmt.Errorf("%s: %w", path, err)
		}
		files = files[:0]
		for _, e := range entries {
			if e.Type().IsRegular() {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
	}
	h := sha256.New()
	for _, f := range files {
		n, err := hashInto(h, f)
		if err != nil {
			return id, err
		}
		id.Size += n
	}
	id.SHA256 = hex.EncodeToString(h.Sum(nil))
	return id, nil
}

// HashFiles returns the SHA-256 over the files of dir that exist among names (name and content), or "".
func HashFiles(dir string, names []string) (string, error) {
	h := sha256.New()
	any := false
	for _, n := range names {
		p := filepath.Join(dir, n)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		io.WriteString(h, n+"\x00")
		if _, err := hashInto(h, p); err != nil {
			return "", err
		}
		any = true
	}
	if !any {
		return "", nil
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashInto(h io.Writer, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	n, err := io.Copy(h, f)
	if err != nil {
		return n, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// SetRunInfo records what the run is made from (saved in checkpoints and the model card). A resumed trainer
// starts with the checkpoint's RunInfo; the base model stays the original one.
func (t *Trainer) SetRunInfo(ri RunInfo) {
	if ri.BaseModel == "" {
		ri.BaseModel = t.baseModel()
	}
	t.run = ri
}

// RunInfo returns what the run was made from (for a resumed run: as recorded in the checkpoint until
// SetRunInfo replaces it).
func (t *Trainer) RunInfo() RunInfo { return t.run }
