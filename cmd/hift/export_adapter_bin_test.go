package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestExportAdapterFromBin: an adapter folder from older PEFT (adapter_model.bin, a pickle read through the
// restricted unpickler) exports the same llama.cpp adapter GGUF, byte for byte, as the same adapter saved as
// adapter_model.safetensors (testdata/torchbin/lora_bin and lora_st: identical tensors for the llama fixture).
func TestExportAdapterFromBin(t *testing.T) {
	base := repoPath("testdata", "fixtures", "llama_causal_lm")
	dir := t.TempDir()
	var files [][]byte
	for _, name := range []string{"lora_st", "lora_bin"} {
		// The same folder name for both: general.name is taken from it.
		adapter := filepath.Join(dir, name, "adapter")
		if err := os.MkdirAll(adapter, 0o755); err != nil {
			t.Fatal(err)
		}
		src := repoPath("testdata", "torchbin", name)
		entries, err := os.ReadDir(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(adapter, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out := filepath.Join(dir, name+".gguf")
		if code, _, stderr := runCLI(t, "export", "--model", base, "--adapter", adapter, "--format", "gguf", "--out", out); code != 0 {
			t.Fatalf("export --adapter %s: exit %d: %s", name, code, stderr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Fatalf("the adapter GGUF from adapter_model.bin (%d bytes) differs from the one from adapter_model.safetensors (%d bytes)", len(files[1]), len(files[0]))
	}
	t.Logf("adapter_model.bin and adapter_model.safetensors give the same %d-byte adapter GGUF", len(files[0]))
}
