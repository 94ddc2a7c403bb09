package torchbin

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hift-go/hift/io/safetensors"
)

// Names transformers' save_pretrained(safe_serialization=False) gives a PyTorch checkpoint.
const (
	SingleFileName = "pytorch_model.bin"
	IndexFileName  = "pytorch_model.bin.index.json"
)

// Checkpoint is a PyTorch checkpoint read into memory: its tensors and, for each, the safetensors shard file
// name the same layout gets (pytorch_model-00001-of-00002.bin → model-00001-of-00002.safetensors).
type Checkpoint struct {
	Tensors []safetensors.Tensor
	ShardOf map[string]string
}

// HasTorchWeights reports whether dir holds a PyTorch checkpoint (an index or pytorch_model.bin) and no
// safetensors weights, i.e. whether Open would read it through this package.
func HasTorchWeights(dir string) bool {
	if matches, _ := filepath.Glob(filepath.Join(dir, "*.safetensors")); len(matches) > 0 {
		return false
	}
	return isFile(filepath.Join(dir, IndexFileName)) || isFile(filepath.Join(dir, SingleFileName))
}

// LoadDir reads the PyTorch checkpoint of a folder: pytorch_model.bin.index.json and the shards it names (each
// tensor must be in the shard the index says, and every shard's tensors in the index), else pytorch_model.bin.
func LoadDir(dir string) (*Checkpoint, error) {
	if idxPath := filepath.Join(dir, IndexFileName); isFile(idxPath) {
		return loadIndexed(idxPath)
	}
	file := filepath.Join(dir, SingleFileName)
	if !isFile(file) {
		return nil, fmt.Errorf("torchbin: %s: no %s or %s", dir, IndexFileName, SingleFileName)
	}
	ts, err := Load(file)
	if err != nil {
		return nil, err
	}
	ck := &Checkpoint{Tensors: ts, ShardOf: map[string]string{}}
	for _, t := range ts {
		ck.ShardOf[t.Name] = safetensors.SingleFileName
	}
	return ck, nil
}

func loadIndexed(idxPath string) (*Checkpoint, error) {
	raw, err := os.ReadFile(idxPath)
	if err != nil {
		return nil, fmt.Errorf("torchbin: %w", err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("torchbin: %s: not a valid index: %w", idxPath, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("torchbin: %s: empty or missing weight_map", idxPath)
	}
	files := map[string]bool{}
	for name, f := range idx.WeightMap {
		if f == "" || filepath.Base(f) != f || f == "." || f == ".." {
			return nil, fmt.Errorf("torchbin: %s: tensor %q: shard %q must be a file name in the same folder", idxPath, name, f)
		}
		files[f] = true
	}
	shards := make([]string, 0, len(files))
	for f := range files {
		shards = append(shards, f)
	}
	sort.Strings(shards)
	ck := &Checkpoint{ShardOf: map[string]string{}}
	seen := map[string]bool{}
	for _, f := range shards {
		path := filepath.Join(filepath.Dir(idxPath), f)
		ts, err := Load(path)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			if want, ok := idx.WeightMap[t.Name]; !ok || want != f {
				return nil, fmt.Errorf("torchbin: %s: tensor %q is in %s but the index maps it to %q", idxPath, t.Name, f, want)
			}
			if seen[t.Name] {
				return nil, fmt.Errorf("torchbin: %s: tensor %q is in two shards", idxPath, t.Name)
			}
			seen[t.Name] = true
			ck.ShardOf[t.Name] = safetensorsShardName(f, len(shards))
			ck.Tensors = append(ck.Tensors, t)
		}
	}
	var missing []string
	for name := range idx.WeightMap {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("torchbin: %s: %d tensor(s) of the index are in no shard: %s", idxPath, len(missing), strings.Join(missing, ", "))
	}
	return ck, nil
}

// safetensorsShardName maps a .bin shard name to the name save_pretrained gives the safetensors shard.
func safetensorsShardName(bin string, n int) string {
	if n == 1 {
		return safetensors.SingleFileName
	}
	s := strings.TrimSuffix(bin, ".bin")
	s = strings.TrimPrefix(s, "pytorch_")
	if !strings.HasPrefix(s, "model") {
		s = "model-" + s
	}
	return s + ".safetensors"
}

// Open opens the weights of a checkpoint path as a safetensors.Checkpoint: anything safetensors.Open reads is
// read by it; a folder holding only PyTorch .bin weights (see HasTorchWeights), or a .bin file, is read with
// the restricted unpickler and served through a temporary safetensors copy in the same shard layout, deleted
// as soon as it is mapped (for large models, convert once with `hift convert` instead).
func Open(path string) (*safetensors.Checkpoint, error) {
	st, statErr := os.Stat(path)
	isBin := statErr == nil && !st.IsDir() && strings.HasSuffix(path, ".bin")
	if statErr != nil || (!isBin && !(st.IsDir() && HasTorchWeights(path))) {
		ck, err := safetensors.Open(path)
		if err != nil && statErr == nil && st.IsDir() {
			if bins, _ := filepath.Glob(filepath.Join(path, "*.bin")); len(bins) > 0 {
				err = fmt.Errorf("%w (the folder has .bin files %v but no %s or %s)", err, baseNames(bins), SingleFileName, IndexFileName)
			}
		}
		return ck, err
	}
	var ck *Checkpoint
	var err error
	if isBin {
		var ts []safetensors.Tensor
		if ts, err = Load(path); err == nil {
			ck = &Checkpoint{Tensors: ts, ShardOf: map[string]string{}}
			for _, t := range ts {
				ck.ShardOf[t.Name] = safetensors.SingleFileName
			}
		}
	} else {
		ck, err = LoadDir(path)
	}
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "hift-torchbin-")
	if err != nil {
		return nil, fmt.Errorf("torchbin: %s: temporary copy: %w", path, err)
	}
	defer os.RemoveAll(tmp)
	if _, err := safetensors.WriteLayout(tmp, ck.Tensors, map[string]string{"format": "pt"}, func(n string) string { return ck.ShardOf[n] }); err != nil {
		return nil, fmt.Errorf("torchbin: %s: temporary copy: %w", path, err)
	}
	out, err := safetensors.Open(tmp)
	if err != nil {
		return nil, fmt.Errorf("torchbin: %s: temporary copy: %w", path, err)
	}
	return out, nil
}

func baseNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// Sources lists the .bin files of a PyTorch checkpoint folder and says which file holds each tensor, from the
// index alone (no tensor is read): for inspecting a folder that Open serves through a temporary copy.
func Sources(dir string) (files []string, fileOf func(name string) string, err error) {
	idxPath := filepath.Join(dir, IndexFileName)
	if !isFile(idxPath) {
		single := filepath.Join(dir, SingleFileName)
		return []string{single}, func(string) string { return SingleFileName }, nil
	}
	raw, err := os.ReadFile(idxPath)
	if err != nil {
		return nil, nil, fmt.Errorf("torchbin: %w", err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, nil, fmt.Errorf("torchbin: %s: not a valid index: %w", idxPath, err)
	}
	seen := map[string]bool{}
	for _, f := range idx.WeightMap {
		if !seen[f] {
			seen[f] = true
			files = append(files, filepath.Join(dir, f))
		}
	}
	sort.Strings(files)
	return files, func(name string) string { return idx.WeightMap[name] }, nil
}
