package torchbin

import (
	"archive/zip"
	"io"
	"path/filepath"
	"testing"
)

// FuzzStateDict feeds arbitrary bytes as data.pkl to the restricted unpickler: it must return a state dict or
// an error, never panic or allocate beyond the input (go test -fuzz=FuzzStateDict ./io/torchbin).
func FuzzStateDict(f *testing.F) {
	for _, name := range []string{"small.bin", "half.bin", "malicious.bin", "eval_builtin.bin"} {
		zr, err := zip.OpenReader(filepath.Join(testdata, name))
		if err != nil {
			f.Fatal(err)
		}
		for _, zf := range zr.File {
			if filepath.Base(zf.Name) == "data.pkl" {
				rc, _ := zf.Open()
				b, _ := io.ReadAll(rc)
				rc.Close()
				f.Add(b)
			}
		}
		zr.Close()
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		entries, err := decodeStateDict(raw)
		if err == nil {
			for _, e := range entries {
				if e.ref == nil || e.ref.st == nil {
					t.Fatalf("entry %q without a storage", e.name)
				}
			}
		}
	})
}
