package torchbin

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestOpenAdapterBin: a PEFT adapter saved by older PEFT as adapter_model.bin (testdata/torchbin/lora_bin,
// written by torch.save from the same tensors as lora_st's adapter_model.safetensors, see
// scripts/make_tied_adapter_bins.py) opens with the same names, dtypes, shapes and bytes as the safetensors
// one; a folder with both prefers safetensors; a folder with neither says what it looked for.
func TestOpenAdapterBin(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "torchbin")
	st, err := OpenAdapter(filepath.Join(root, "lora_st"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bin, err := OpenAdapter(filepath.Join(root, "lora_bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer bin.Close()
	if st.Len() == 0 || st.Len() != bin.Len() {
		t.Fatalf("adapter_model.bin has %d tensors, adapter_model.safetensors %d", bin.Len(), st.Len())
	}
	var nbytes int
	for _, n := range st.Names() {
		a, _ := st.Info(n)
		b, ok := bin.Info(n)
		if !ok {
			t.Errorf("%s: missing from the .bin", n)
			continue
		}
		if a.DType != b.DType || !slices.Equal(a.Shape, b.Shape) {
			t.Errorf("%s: .bin %s %v, safetensors %s %v", n, b.DType, b.Shape, a.DType, a.Shape)
		}
		x, _ := st.Bytes(n)
		y, _ := bin.Bytes(n)
		if !bytes.Equal(x, y) {
			t.Errorf("%s: the .bin's bytes differ from the safetensors'", n)
		}
		nbytes += len(x)
	}
	t.Logf("%d adapter tensors, %d bytes, identical from adapter_model.bin and adapter_model.safetensors", st.Len(), nbytes)

	// Both files: safetensors wins.
	both := t.TempDir()
	for _, f := range []string{"lora_st/adapter_model.safetensors", "lora_bin/adapter_model.bin"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(both, filepath.Base(f)), b, 0o644)
	}
	if f, err := AdapterWeightsFile(both); err != nil || filepath.Base(f) != AdapterSafetensorsName {
		t.Errorf("folder with both files: %q, %v; want %s", f, err, AdapterSafetensorsName)
	}
	// Neither: the error names the folder and both file names.
	empty := t.TempDir()
	_, err = OpenAdapter(empty)
	if err == nil || !strings.Contains(err.Error(), empty) || !strings.Contains(err.Error(), AdapterBinName) || !strings.Contains(err.Error(), AdapterSafetensorsName) {
		t.Errorf("empty folder: %v", err)
	}
	// A malicious pickle under the adapter name is refused, not run.
	evil := t.TempDir()
	b, _ := os.ReadFile(filepath.Join(root, "malicious.bin"))
	os.WriteFile(filepath.Join(evil, AdapterBinName), b, 0o644)
	if _, err := OpenAdapter(evil); err == nil || !strings.Contains(err.Error(), "posix.system") {
		t.Errorf("malicious adapter_model.bin: %v", err)
	}
}
