package safetensors

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// shardedDir writes two shards a.safetensors {w1, w2} and b.safetensors {w3}
// and an index with the given weight_map JSON, returning the directory.
func shardedDir(t *testing.T, weightMap string) string {
	t.Helper()
	dir := t.TempDir()
	if err := WriteFile(filepath.Join(dir, "a.safetensors"), []Tensor{f32Tensor(t, "w1", 0, 2), f32Tensor(t, "w2", 10, 3)}, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(dir, "b.safetensors"), []Tensor{f32Tensor(t, "w3", 20, 1)}, nil); err != nil {
		t.Fatal(err)
	}
	writeTemp(t, dir, IndexFileName, []byte(`{"metadata":{"total_size":24,"note":"x"},"weight_map":`+weightMap+`}`))
	return dir
}

const goodWeightMap = `{"w1":"a.safetensors","w2":"a.safetensors","w3":"b.safetensors"}`

func TestOpenSharded(t *testing.T) {
	dir := shardedDir(t, goodWeightMap)
	for _, path := range []string{dir, filepath.Join(dir, IndexFileName)} {
		c, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Names(); !slices.Equal(got, []string{"w1", "w2", "w3"}) {
			t.Errorf("Names() = %v", got)
		}
		wantFiles := []string{filepath.Join(dir, "a.safetensors"), filepath.Join(dir, "b.safetensors")}
		if got := c.Files(); !slices.Equal(got, wantFiles) {
			t.Errorf("Files() = %v, want %v", got, wantFiles)
		}
		if c.ShardOf("w2") != "a.safetensors" || c.ShardOf("w3") != "b.safetensors" {
			t.Errorf("ShardOf: w2 %q, w3 %q", c.ShardOf("w2"), c.ShardOf("w3"))
		}
		if v, err := c.Float32("w3"); err != nil || !slices.Equal(v, []float32{20}) {
			t.Errorf("Float32(w3) = %v, %v", v, err)
		}
		if v, err := c.Float32("w2"); err != nil || !slices.Equal(v, []float32{10, 11, 12}) {
			t.Errorf("Float32(w2) = %v, %v", v, err)
		}
		md := c.Metadata()
		if md["format"] != "pt" || md["total_size"] != "24" || md["note"] != "x" || len(md) != 3 {
			t.Errorf("Metadata() = %v", md)
		}
		if info, _ := c.Info("w3"); info.File != filepath.Join(dir, "b.safetensors") {
			t.Errorf("Info(w3).File = %q", info.File)
		}
		c.Close()
	}
}

func TestShardedErrors(t *testing.T) {
	cases := []struct {
		name      string
		weightMap string
		setup     func(dir string)
		fragments []string
	}{
		{"missing shard file", `{"w1":"a.safetensors","w2":"a.safetensors","w3":"c.safetensors"}`, nil,
			[]string{`weight_map["w3"] points at`, "c.safetensors"}},
		{"index tensor absent from its shard", `{"w1":"a.safetensors","w2":"a.safetensors","w3":"b.safetensors","w4":"b.safetensors"}`, nil,
			[]string{`tensor "w4"`, "does not hold it"}},
		{"shard tensor not in the index", `{"w1":"a.safetensors","w3":"b.safetensors"}`, nil,
			[]string{`tensor "w2"`, "not listed in the index"}},
		{"tensor mapped to the wrong shard", `{"w1":"a.safetensors","w2":"b.safetensors","w3":"b.safetensors"}`, nil,
			[]string{`tensor "w2"`, "index maps it to b.safetensors"}},
		{"tensor in two shards", goodWeightMap, func(dir string) {
			WriteFile(filepath.Join(dir, "b.safetensors"), []Tensor{f32Tensor(t, "w3", 20, 1), f32Tensor(t, "w1", 0, 2)}, nil)
		}, []string{`tensor "w1" is in two shards`}},
		{"duplicate weight_map entry", `{"w1":"a.safetensors","w1":"b.safetensors"}`, nil, []string{`duplicate key "w1"`}},
		{"path outside the directory", `{"w1":"../a.safetensors"}`, nil, []string{"not a file inside"}},
		{"weight_map not strings", `{"w1":1}`, nil, []string{"weight_map", "not a string"}},
		{"empty weight_map", `{}`, nil, []string{"weight_map is empty"}},
		{"corrupt shard", goodWeightMap, func(dir string) {
			os.WriteFile(filepath.Join(dir, "b.safetensors"), []byte("junk"), 0o644)
		}, []string{"b.safetensors", "shorter than"}},
	}
	for _, c := range cases {
		dir := shardedDir(t, c.weightMap)
		if c.setup != nil {
			c.setup(dir)
		}
		ck, err := Open(dir)
		if err == nil {
			ck.Close()
		}
		wantErr(t, c.name, err, c.fragments...)
		if err != nil && c.name != "corrupt shard" {
			wantErr(t, c.name, err, filepath.Join(dir, IndexFileName))
		}
	}

	dir := t.TempDir()
	for _, idx := range []string{`{"metadata":{}}`, `not json`, `{"weight_map":{"a":"b"}} x`} {
		p := writeTemp(t, dir, "model.safetensors.index.json", []byte(idx))
		_, err := Open(p)
		wantErr(t, "index "+idx, err, p)
	}
}
