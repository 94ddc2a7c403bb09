package safetensors

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// WriteSharded writes tensors into dir (created if missing) as
// model-00001-of-0000K.safetensors shards holding at most maxShardBytes of
// tensor data each, filled greedily in name order (a tensor larger than the
// limit gets a shard of its own), plus model.safetensors.index.json
// ({"metadata": {"total_size": N}, "weight_map": {name: file}}). Every shard
// carries metadata. When maxShardBytes <= 0 or all data fits in one shard,
// it writes a single model.safetensors and no index.
//
// Every file is first written to a temporary file in dir and synced; only
// when all are complete are they renamed into place, shards first and the
// index last, so a failed save (bad tensor, full disk) changes nothing in
// dir. A stale model.safetensors or model.safetensors.index.json left in dir
// by an earlier save of the other kind is then removed, because transformers
// would load it instead. It returns the paths written, the index last.
func WriteSharded(dir string, tensors []Tensor, metadata map[string]string, maxShardBytes int64) ([]string, error) {
	sorted, err := prepare(dir, tensors, metadata)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, t := range sorted {
		total += int64(len(t.Data))
	}
	if maxShardBytes <= 0 || total <= maxShardBytes {
		return writeGroups(dir, []string{SingleFileName}, [][]Tensor{sorted}, metadata)
	}
	var groups [][]Tensor
	var cur []Tensor
	var curBytes int64
	for _, t := range sorted {
		n := int64(len(t.Data))
		if len(cur) > 0 && curBytes+n > maxShardBytes {
			groups = append(groups, cur)
			cur, curBytes = nil, 0
		}
		cur = append(cur, t)
		curBytes += n
	}
	groups = append(groups, cur)
	files := make([]string, len(groups))
	for i := range groups {
		files[i] = fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(groups))
	}
	return writeGroups(dir, files, groups, metadata)
}

// WriteLayout writes tensors into dir (created if missing) in a given shard
// layout: shardOf(name) is the base name of the file for each tensor, and
// must end in ".safetensors". When more than one file results it also writes
// model.safetensors.index.json, as WriteSharded does. This saves a
// fine-tuned model in the layout of its input, e.g. with Checkpoint.ShardOf.
// Files are written as by WriteSharded (all staged, then renamed, the index
// last; stale entry points removed) and returned in name order, the index
// last.
func WriteLayout(dir string, tensors []Tensor, metadata map[string]string, shardOf func(name string) string) ([]string, error) {
	sorted, err := prepare(dir, tensors, metadata)
	if err != nil {
		return nil, err
	}
	if len(sorted) == 0 {
		return nil, fmt.Errorf("safetensors: %s: no tensors to write", dir)
	}
	byFile := map[string][]Tensor{}
	for _, t := range sorted {
		file := shardOf(t.Name)
		if file == "" || file != filepath.Base(file) || !strings.HasSuffix(file, ".safetensors") || file == ".safetensors" {
			return nil, fmt.Errorf("safetensors: %s: tensor %q: shard name %q is not a base file name ending in .safetensors", dir, t.Name, file)
		}
		byFile[file] = append(byFile[file], t)
	}
	files := sortedKeys(byFile)
	groups := make([][]Tensor, len(files))
	for i, f := range files {
		groups[i] = byFile[f]
	}
	return writeGroups(dir, files, groups, metadata)
}

// writeGroups writes groups[i] to dir/files[i] and an index when there is
// more than one file: all are staged as temporary files first and renamed
// into place only once every one is complete, the index last. Then it removes
// a stale entry point of the other layout.
func writeGroups(dir string, files []string, groups [][]Tensor, metadata map[string]string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	var tmps, paths []string
	defer func() { // on an early return, remove what was staged
		for _, t := range tmps {
			os.Remove(t)
		}
	}()
	weightMap := map[string]string{}
	var total int64
	for i, file := range files {
		path := filepath.Join(dir, file)
		group := groups[i]
		tmp, err := stage(path, func(w io.Writer) error { return encodeFile(w, group, metadata) })
		if err != nil {
			return nil, err
		}
		tmps, paths = append(tmps, tmp), append(paths, path)
		for _, t := range group {
			weightMap[t.Name] = file
			total += int64(len(t.Data))
		}
	}
	if len(files) > 1 {
		data, err := encodeIndex(total, weightMap)
		if err != nil {
			return nil, fmt.Errorf("safetensors: %s: %w", dir, err)
		}
		path := filepath.Join(dir, IndexFileName)
		tmp, err := stage(path, func(w io.Writer) error { _, err := w.Write(data); return err })
		if err != nil {
			return nil, err
		}
		tmps, paths = append(tmps, tmp), append(paths, path)
	}
	staged := tmps
	tmps = nil // commit removes what it does not rename
	if err := commit(staged, paths); err != nil {
		return nil, err
	}
	// The other layout's entry point, left from an earlier save, would be
	// loaded instead of (or mixed with) what was just written.
	var stale string
	switch {
	case len(files) > 1 && !slices.Contains(files, SingleFileName):
		stale = SingleFileName
	case len(files) == 1 && files[0] == SingleFileName:
		stale = IndexFileName
	}
	if stale != "" {
		if err := os.Remove(filepath.Join(dir, stale)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return paths, fmt.Errorf("safetensors: removing stale %w", err)
		}
	}
	return paths, nil
}
