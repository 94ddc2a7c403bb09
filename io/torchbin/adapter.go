package torchbin

import (
	"fmt"
	"path/filepath"

	"github.com/hift-go/hift/io/safetensors"
)

// Names PEFT gives an adapter's weights: safetensors since PEFT 0.3 (safe_serialization), a torch.save pickle
// before that.
const (
	AdapterSafetensorsName = "adapter_model.safetensors"
	AdapterBinName         = "adapter_model.bin"
)

// AdapterWeightsFile returns the weights file of a PEFT adapter folder: adapter_model.safetensors when present,
// else adapter_model.bin (older PEFT). A folder with neither is an error naming both.
func AdapterWeightsFile(dir string) (string, error) {
	for _, n := range []string{AdapterSafetensorsName, AdapterBinName} {
		if p := filepath.Join(dir, n); isFile(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: no %s or %s (a PEFT adapter folder holds adapter_config.json and one of them)", dir, AdapterSafetensorsName, AdapterBinName)
}

// OpenAdapter opens the weights of a PEFT adapter folder (see AdapterWeightsFile) as a safetensors.Checkpoint:
// adapter_model.safetensors as it is, adapter_model.bin through the restricted unpickler (tensors and storages
// only, nothing in the file is run) and a temporary safetensors copy, as Open serves a .bin file.
func OpenAdapter(dir string) (*safetensors.Checkpoint, error) {
	file, err := AdapterWeightsFile(dir)
	if err != nil {
		return nil, err
	}
	return Open(file)
}
