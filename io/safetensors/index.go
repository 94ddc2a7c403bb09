package safetensors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// index is a parsed model.safetensors.index.json.
type index struct {
	metadata  map[string]string // "metadata", values as strings
	weightMap map[string]string // tensor name -> shard file, relative to the index
}

// parseIndex parses an index file: a JSON object with a required
// "weight_map" (tensor name -> shard file name, no duplicate names) and an
// optional "metadata" object whose values are kept as strings (a string as
// is, anything else as its JSON text, e.g. "total_size": 123 -> "123").
func parseIndex(data []byte) (*index, error) {
	obj, err := parseObject(data, false)
	if err != nil {
		return nil, err
	}
	idx := &index{metadata: map[string]string{}}
	for i, key := range obj.keys {
		switch key {
		case "weight_map":
			if idx.weightMap, err = parseStringMap(obj.vals[i], false); err != nil {
				return nil, fmt.Errorf("weight_map: %w", err)
			}
		case "metadata":
			md, err := parseObject(obj.vals[i], true)
			if err != nil {
				return nil, fmt.Errorf("metadata: %w", err)
			}
			for j, k := range md.keys {
				v := md.vals[j]
				var s string
				if isJSONString(v) && json.Unmarshal(v, &s) == nil {
					idx.metadata[k] = s
					continue
				}
				var buf bytes.Buffer
				if err := json.Compact(&buf, v); err != nil {
					return nil, fmt.Errorf("metadata: %q: %v", k, err)
				}
				idx.metadata[k] = buf.String()
			}
		}
	}
	if idx.weightMap == nil {
		return nil, fmt.Errorf("no weight_map")
	}
	if len(idx.weightMap) == 0 {
		return nil, fmt.Errorf("weight_map is empty")
	}
	return idx, nil
}

// openIndex opens a sharded checkpoint from its index. Each shard named in
// weight_map must exist inside the index's directory; every tensor of the
// index must be in the shard it names; a tensor found in two shards, or in a
// shard the index does not map it to, or not listed in the index at all, is
// an error.
func openIndex(path string) (_ *Checkpoint, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if st.Size() > MaxHeaderSize {
		return nil, fmt.Errorf("safetensors: %s: index is %d bytes, over the %d-byte limit", path, st.Size(), MaxHeaderSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	idx, err := parseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	// The first tensor (by name) naming each file, for error messages;
	// "./a" and "a" are one file.
	firstUser := map[string]string{}
	for _, name := range sortedKeys(idx.weightMap) {
		file := filepath.Clean(idx.weightMap[name])
		idx.weightMap[name] = file
		if _, ok := firstUser[file]; !ok {
			firstUser[file] = name
		}
	}
	files := sortedKeys(firstUser)

	c := &Checkpoint{path: path, tensors: map[string]tensorRef{}}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	dir := filepath.Dir(path)
	for _, file := range files {
		if !filepath.IsLocal(file) {
			return nil, fmt.Errorf("safetensors: %s: weight_map[%q] = %q is not a file inside the index's directory", path, firstUser[file], file)
		}
		full := filepath.Join(dir, file)
		if _, err := os.Stat(full); err != nil {
			return nil, fmt.Errorf("safetensors: %s: weight_map[%q] points at %s: %w", path, firstUser[file], full, err)
		}
		s, err := openShard(full)
		if err != nil {
			return nil, err
		}
		c.shards = append(c.shards, s)
	}

	for i, s := range c.shards {
		file := files[i]
		for _, t := range s.header.Tensors {
			if prev, dup := c.tensors[t.Name]; dup {
				return nil, fmt.Errorf("safetensors: %s: tensor %q is in two shards, %s and %s", path, t.Name, c.shards[prev.shard].path, s.path)
			}
			c.tensors[t.Name] = tensorRef{shard: i, info: t}
			want, listed := idx.weightMap[t.Name]
			switch {
			case !listed:
				return nil, fmt.Errorf("safetensors: %s: tensor %q of shard %s is not listed in the index", path, t.Name, s.path)
			case want != file:
				return nil, fmt.Errorf("safetensors: %s: tensor %q is in shard %s but the index maps it to %s", path, t.Name, s.path, want)
			}
		}
	}
	for _, name := range sortedKeys(idx.weightMap) {
		if _, ok := c.tensors[name]; !ok {
			return nil, fmt.Errorf("safetensors: %s: tensor %q: index maps it to %s, which does not hold it", path, name, idx.weightMap[name])
		}
	}
	c.names = sortedKeys(c.tensors)
	c.metadata = map[string]string{}
	for k, v := range idx.metadata {
		c.metadata[k] = v
	}
	for k, v := range c.shards[0].header.Metadata {
		c.metadata[k] = v
	}
	return c, nil
}

// indexJSON is the layout transformers writes for an index file.
type indexJSON struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"`
}

// encodeIndex renders an index as transformers does (sorted keys, two-space
// indent, trailing newline), with "total_size" as its only metadata.
func encodeIndex(totalSize int64, weightMap map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(indexJSON{Metadata: map[string]any{"total_size": totalSize}, WeightMap: weightMap}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
