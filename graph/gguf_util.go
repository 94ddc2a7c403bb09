package graph

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/io/gguf"
	"github.com/hift-go/hift/io/safetensors"
)

// GGUF conversion shared by the architectures: each gguf_<arch>.go registers a converter (HF → GGUF names,
// keys and tensor transforms, as llama.cpp's convert_hf_to_gguf.py writes them) and an importer (back).
// Tensors are produced lazily so a quantized export holds one encoded tensor at a time.

// ggufSource is one tensor to write: GGUF name, HF-order shape and a function giving its float32 values.
type ggufSource struct {
	name   string
	shape  []int
	values func() ([]float32, error)
	// hf, rows and transposed say where it came from: the HF tensor, the row transform applied (q/k
	// permutation, QKV regrouping) and whether a Conv1D [in, out] was transposed. LoRA export maps adapters
	// through them.
	hf         string
	rows       func(v []float32, shape []int) []float32
	transposed bool
}

// ggufModel is what a converter returns: the GGUF architecture name, its keys (without general.*) and tensors.
type ggufModel struct {
	arch    string
	kvs     []gguf.KV
	tensors []ggufSource
}

// ggufConverter converts one architecture (m.Config.ModelType) to GGUF.
type ggufConverter func(m *Model, w GGUFWeights) (*ggufModel, error)

// GGUFWeights is where an export reads HF tensors by name: a map already in memory (MapWeights) or a
// checkpoint read one tensor at a time (CheckpointWeights), so that exporting never holds the whole model
// twice.
type GGUFWeights interface {
	// Shape is the tensor's HF-order shape; false when the checkpoint has no such tensor.
	Shape(name string) ([]int, bool)
	// Float32 reads the tensor's values (a fresh slice the caller may change).
	Float32(name string) ([]float32, error)
}

// MapWeights serves GGUFWeights from tensors in memory.
type MapWeights map[string]*tensors.Tensor

// Shape implements GGUFWeights.
func (w MapWeights) Shape(name string) ([]int, bool) {
	t, ok := w[name]
	if !ok {
		return nil, false
	}
	return slices.Clone(t.Shape().Dimensions), true
}

// Float32 implements GGUFWeights.
func (w MapWeights) Float32(name string) ([]float32, error) {
	t, ok := w[name]
	if !ok {
		return nil, fmt.Errorf("gguf: weight %q missing", name)
	}
	return tensors.MustCopyFlatData[float32](t), nil
}

// checkpointWeights reads tensors from an open checkpoint on demand, with the model's names (a bare base
// model's tensors are found without the base prefix, as LoadModel finds them).
type checkpointWeights struct {
	m  *Model
	ck *safetensors.Checkpoint
}

// CheckpointWeights serves GGUFWeights from an open checkpoint, one tensor at a time; every parameter of m
// must be present with its shape (checked here, from the header only).
func CheckpointWeights(m *Model, ck *safetensors.Checkpoint) (GGUFWeights, error) {
	w := checkpointWeights{m, ck}
	for _, p := range m.Params {
		shape, ok := w.Shape(p.Name)
		if !ok {
			if _, tied := m.Tied[p.Name]; tied {
				continue
			}
			return nil, fmt.Errorf("gguf: checkpoint %s has no tensor %q", ck.Files()[0], p.Name)
		}
		if !slices.Equal(shape, p.Shape) {
			return nil, fmt.Errorf("gguf: checkpoint %s: tensor %q has shape %v, the config needs %v", ck.Files()[0], p.Name, shape, p.Shape)
		}
	}
	return w, nil
}

func (w checkpointWeights) resolve(name string) (string, bool) {
	if _, ok := w.ck.Info(name); ok {
		return name, true
	}
	if bare, ok := strings.CutPrefix(name, w.m.BasePrefix); ok && w.m.BasePrefix != "" {
		if _, ok := w.ck.Info(bare); ok {
			return bare, true
		}
	}
	return "", false
}

// Shape implements GGUFWeights.
func (w checkpointWeights) Shape(name string) ([]int, bool) {
	n, ok := w.resolve(name)
	if !ok {
		return nil, false
	}
	info, _ := w.ck.Info(n)
	return slices.Clone(info.Shape), true
}

// Float32 implements GGUFWeights.
func (w checkpointWeights) Float32(name string) ([]float32, error) {
	n, ok := w.resolve(name)
	if !ok {
		return nil, fmt.Errorf("gguf: weight %q missing", name)
	}
	return w.ck.Float32(n)
}

// ggufImporter converts a GGUF file of one general.architecture back to config.json fields and HF tensors.
type ggufImporter func(g *gguf.File) (map[string]any, map[string]*tensors.Tensor, error)

// ggufConverters (by HF model_type) and ggufImporters (by GGUF architecture) are filled by init functions
// only and read-only afterwards.
var (
	ggufConverters = map[string]ggufConverter{}
	ggufImporters  = map[string]ggufImporter{}
)

func kv(key string, value any) gguf.KV { return gguf.KV{Key: key, Value: value} }

// GGUFExport converts a checkpoint to GGUF keys and lazily encoded tensors in the mix's types (chosen per
// tensor as llama-quantize chooses them). The tokenizer keys are the caller's (data/tokenizer).
func GGUFExport(m *Model, w GGUFWeights, mix gguf.Mix, name string) ([]gguf.KV, []gguf.Tensor, error) {
	conv, ok := ggufConverters[m.Config.ModelType]
	if !ok {
		var have []string
		for k := range ggufConverters {
			have = append(have, k)
		}
		sort.Strings(have)
		return nil, nil, fmt.Errorf("gguf: model_type %q has no llama.cpp architecture hift can write (%s can be exported)", m.Config.ModelType, strings.Join(have, ", "))
	}
	gm, err := conv(m, w)
	if err != nil {
		return nil, nil, err
	}
	kvs := []gguf.KV{kv("general.architecture", gm.arch), kv("general.name", name), kv("general.file_type", mix.FileType),
		kv("general.quantization_version", uint32(2))} // as llama.cpp's converter and llama-quantize write it
	kvs = append(kvs, gm.kvs...)
	plan := make([]gguf.PlanTensor, len(gm.tensors))
	for i, s := range gm.tensors {
		plan[i] = gguf.PlanTensor{Name: s.name, Shape: s.shape}
	}
	types := mix.Plan(plan)
	out := make([]gguf.Tensor, len(gm.tensors))
	for i, s := range gm.tensors {
		typ := types[i]
		out[i] = gguf.Tensor{Name: s.name, Type: typ, Shape: s.shape, Encode: func() ([]byte, error) {
			v, err := s.values()
			if err != nil {
				return nil, err
			}
			b, err := gguf.Quantize(typ, v, s.shape[len(s.shape)-1])
			if err != nil {
				return nil, fmt.Errorf("%s as %s: %w", s.name, gguf.TypeName(typ), err)
			}
			return b, nil
		}}
	}
	return kvs, out, nil
}

// GGUFImport converts a GGUF file to config.json fields and float32 HF tensors (block types dequantized).
// The result is checked against the model the config describes: every tensor present with its shape,
// nothing left over, so a file whose keys and tensors disagree is refused here rather than at training time.
func GGUFImport(g *gguf.File) (cfg map[string]any, out map[string]*tensors.Tensor, err error) {
	if err := checkImportKind(g); err != nil {
		return nil, nil, err
	}
	arch, _ := g.KV["general.architecture"].(string)
	imp, ok := ggufImporters[arch]
	if !ok {
		var have []string
		for k := range ggufImporters {
			have = append(have, k)
		}
		sort.Strings(have)
		return nil, nil, fmt.Errorf("gguf: %s: architecture %q cannot be imported (%s can)", g.Path, quoteShort(arch), strings.Join(have, ", "))
	}
	if err := checkImportKeys(g, arch); err != nil {
		return nil, nil, err
	}
	// The checks above and below should leave nothing for a row transform to trip over; a garbled file
	// that still does is reported as one error, never a crash.
	defer func() {
		if r := recover(); r != nil {
			cfg, out, err = nil, nil, fmt.Errorf("gguf: %s: inconsistent %s file (keys and tensor shapes disagree): %v", g.Path, arch, r)
		}
	}()
	if cfg, out, err = imp(g); err != nil {
		return nil, nil, err
	}
	if err := checkImported(g, cfg, out); err != nil {
		return nil, nil, err
	}
	return cfg, out, nil
}

// checkImportKind refuses, by what they are, the GGUF files that hold no whole model: a LoRA adapter
// (general.type "adapter", as llama.cpp's convert_lora_to_gguf.py and hift export --adapter write it) and one
// shard of a file split by llama-gguf-split (split.count > 1), whose tensors are spread over several files.
func checkImportKind(g *gguf.File) error {
	if t, _ := g.KV["general.type"].(string); t == "adapter" {
		kind, _ := g.KV["adapter.type"].(string)
		return fmt.Errorf("gguf: %s is a %s adapter (general.type adapter), not a model: hift imports whole models only; "+
			"apply it in llama.cpp with --lora on its base model, or import the base model's GGUF", g.Path, quoteShort(kind))
	}
	if n, ok := ggufUint(g, "split.count"); ok && n > 1 {
		no, _ := ggufUint(g, "split.no")
		return fmt.Errorf("gguf: %s is part %d of a GGUF split into %d files (llama-gguf-split); hift imports one file: "+
			"merge the parts first with llama-gguf-split --merge FIRST-PART merged.gguf", g.Path, no+1, n)
	}
	return nil
}

// GGUFExportCheck tells, before any weights exist, whether GGUFExport (or GGUFExportEmbeddings with
// embeddingsOnly) would take a checkpoint of m's configuration: it converts a stand-in whose tensors have
// m's parameter shapes and zero values, so `hift train --export-gguf` can refuse a model llama.cpp cannot run
// before training, not after it.
func GGUFExportCheck(m *Model, embeddingsOnly bool) error {
	w := specWeights{m}
	mix := gguf.Mix{Name: "f32", Default: gguf.TypeF32}
	var err error
	if embeddingsOnly {
		_, _, err = GGUFExportEmbeddings(m, w, mix, "check", GGUFPoolingMean)
	} else {
		_, _, err = GGUFExport(m, w, mix, "check")
	}
	return err
}

// specWeights serves a model's parameter shapes as GGUFWeights, with zero values made only when read (the
// converters read values lazily, when a tensor is encoded, so a check allocates nothing for most).
type specWeights struct{ m *Model }

func (w specWeights) Shape(name string) ([]int, bool) {
	p, ok := w.m.Param(name)
	return p.Shape, ok
}

func (w specWeights) Float32(name string) ([]float32, error) {
	p, ok := w.m.Param(name)
	if !ok {
		return nil, fmt.Errorf("no tensor %s", name)
	}
	return make([]float32, p.NumElements()), nil
}

// GGUFExportModel builds the model a GGUF export of a checkpoint with configuration c writes. A base encoder
// (an HF BertModel, as hift import makes of llama.cpp's bert embedding models) has no class of its own in
// hift: it is built as a token classifier with the head's parameters left out, and headless says that only
// the embeddings export (GGUFExportEmbeddings) can write it. Pooling is the config's hift_gguf_pooling (the
// pooling the imported GGUF had), or "" when it has none.
func GGUFExportModel(c *Config) (m *Model, headless bool, pooling string, err error) {
	var p struct {
		Pooling string `json:"hift_gguf_pooling"`
	}
	if c.Has("hift_gguf_pooling") {
		_ = c.Decode(&p)
	}
	if _, _, _, lerr := Lookup(c); lerr != nil {
		if c.ModelType != "bert" && c.ModelType != "roberta" {
			return nil, false, "", lerr
		}
		if err := RetargetConfig(c, TaskTokenCls, 2); err != nil {
			return nil, false, "", lerr
		}
		headless = true
	}
	if m, err = NewModel(c); err != nil {
		return nil, false, "", err
	}
	if headless && len(m.Units) > 0 {
		head := map[string]bool{}
		for _, name := range m.Units[len(m.Units)-1].Params {
			head[name] = true
		}
		var keep []ParamSpec
		for _, ps := range m.Params {
			if !head[ps.Name] {
				keep = append(keep, ps)
			}
		}
		m.Params = keep
	}
	return m, headless, p.Pooling, nil
}

// quoteShort is s for an error message: at most 80 bytes of it.
func quoteShort(s string) string {
	if len(s) > 80 {
		return s[:80] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return s
}

// checkImportKeys refuses size keys an importer would turn into loops or divisions that make no sense:
// each of ARCH.block_count, embedding_length, feed_forward_length, context_length and the head counts
// present must be a positive integer; block_count cannot exceed the file's tensor count.
func checkImportKeys(g *gguf.File, arch string) error {
	for _, k := range []string{"block_count", "embedding_length", "feed_forward_length", "context_length",
		"attention.head_count", "attention.head_count_kv", "rope.dimension_count", "attention.key_length", "attention.value_length"} {
		key := arch + "." + k
		raw, present := g.KV[key]
		if !present {
			continue
		}
		v, ok := ggufUint(g, key)
		if !ok {
			return fmt.Errorf("gguf: %s: %s is a %T, not an integer", g.Path, key, raw)
		}
		if v <= 0 || v > 1<<24 {
			return fmt.Errorf("gguf: %s: %s = %v is not a plausible size", g.Path, key, raw)
		}
	}
	if n, ok := ggufUint(g, arch+".block_count"); ok && n > len(g.Tensors) {
		return fmt.Errorf("gguf: %s: %s.block_count %d but the file holds only %d tensors", g.Path, arch, n, len(g.Tensors))
	}
	h, ok := ggufUint(g, arch+".attention.head_count")
	d, ok2 := ggufUint(g, arch+".embedding_length")
	if _, kl := g.KV[arch+".attention.key_length"]; ok && ok2 && !kl && d%h != 0 {
		return fmt.Errorf("gguf: %s: %s.embedding_length %d is not divisible by %s.attention.head_count %d", g.Path, arch, d, arch, h)
	}
	return nil
}

// checkImported builds the model the imported config describes and checks the tensors against it: each
// parameter present with its shape (a bare base model's names as LoadWeights reads them; a headless
// encoder is checked as a token classifier without its head) and no tensor the model does not use.
func checkImported(g *gguf.File, cfg map[string]any, ts map[string]*tensors.Tensor) error {
	b, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("gguf: %s: imported config: %w", g.Path, err)
	}
	c, err := ParseConfig(b, g.Path+" (config read from it)")
	if err != nil {
		return err
	}
	headless := false
	if _, _, _, err := Lookup(c); err != nil {
		// A base model (BertModel) has no class of its own in hift; check its encoder as a task model's.
		if err := RetargetConfig(c, TaskTokenCls, 2); err != nil {
			return fmt.Errorf("gguf: %s: imported config: %w", g.Path, err)
		}
		headless = true
	}
	m, err := NewModel(c)
	if err != nil {
		return fmt.Errorf("gguf: %s: the keys describe no model hift can build: %w", g.Path, err)
	}
	names := make([]string, 0, len(ts))
	for n := range ts {
		names = append(names, n)
	}
	sort.Strings(names)
	nm := m.MatchNames(names)
	if len(nm.Unexpected) > 0 {
		return fmt.Errorf("gguf: %s: tensors %v do not belong to the %s the keys describe", g.Path, nm.Unexpected, m.Class)
	}
	file := map[string]string{}
	for f, n := range nm.ModelName {
		file[n] = f
	}
	head := map[string]bool{}
	if headless && len(m.Units) > 0 {
		for _, p := range m.Units[len(m.Units)-1].Params {
			head[p] = true
		}
	}
	for _, p := range m.Params {
		f, ok := file[p.Name]
		if !ok {
			if _, tied := m.Tied[p.Name]; tied || head[p.Name] {
				continue
			}
			return fmt.Errorf("gguf: %s: the %s the keys describe needs %q, which the file does not hold", g.Path, m.Class, p.Name)
		}
		if got := ts[f].Shape().Dimensions; !slices.Equal(got, p.Shape) {
			return fmt.Errorf("gguf: %s: tensor %q has shape %v, the keys (%s) need %v", g.Path, f, got, m.Class, p.Shape)
		}
	}
	return nil
}

// weightSource reads an HF tensor as float32 when the file is written, optionally transformed.
func weightSource(w GGUFWeights, hf, gg string, transform func(v []float32, shape []int) []float32) (ggufSource, error) {
	shape, ok := w.Shape(hf)
	if !ok {
		return ggufSource{}, fmt.Errorf("gguf: weight %q missing", hf)
	}
	return ggufSource{name: gg, shape: shape, hf: hf, rows: transform, values: func() ([]float32, error) {
		v, err := w.Float32(hf)
		if err != nil {
			return nil, err
		}
		if transform != nil {
			v = transform(v, shape)
		}
		return v, nil
	}}, nil
}

// ggufNamePair maps an HF name (after the base prefix; {i} is the layer) to a GGUF name, with an optional
// transform of the values on the way out and its inverse on the way in.
type ggufNamePair struct {
	hf, gguf  string
	out, back func(v []float32, shape []int) []float32
	transpose bool // a [in, out] Conv1D weight written as [out, in] (applied after out, before back)
}

// expandNames turns a name table into the tensors of a model with layers blocks; optional pairs whose HF
// tensor is absent are skipped when optional says so.
func expandNames(table []ggufNamePair, layers int, prefix string, w GGUFWeights, optional func(hf string) bool) ([]ggufSource, error) {
	var out []ggufSource
	for _, p := range table {
		n := 1
		if strings.Contains(p.hf, "{i}") {
			n = layers
		}
		for l := range n {
			hf := prefix + strings.ReplaceAll(p.hf, "{i}", fmt.Sprint(l))
			gg := strings.ReplaceAll(p.gguf, "{i}", fmt.Sprint(l))
			if _, ok := w.Shape(hf); !ok && optional != nil && optional(hf) {
				continue
			}
			s, err := weightSource(w, hf, gg, p.out)
			if err != nil {
				return nil, err
			}
			if p.transpose {
				src, hfShape := s.values, s.shape
				s.shape, s.transposed = []int{hfShape[1], hfShape[0]}, true
				s.values = func() ([]float32, error) {
					v, err := src()
					if err != nil {
						return nil, err
					}
					return transpose2D(v, hfShape), nil
				}
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// importNames reads every tensor of g through the table back to HF names; a tensor the table does not name
// is an error unless keep accepts it (returning its HF name).
func importNames(g *gguf.File, table []ggufNamePair, layers int, prefix string, extra map[string]string) (map[string]*tensors.Tensor, error) {
	type back struct {
		hf        string
		fn        func(v []float32, shape []int) []float32
		transpose bool
	}
	toHF := map[string]back{}
	for _, p := range table {
		n := 1
		if strings.Contains(p.hf, "{i}") {
			n = layers
		}
		for l := range n {
			toHF[strings.ReplaceAll(p.gguf, "{i}", fmt.Sprint(l))] = back{prefix + strings.ReplaceAll(p.hf, "{i}", fmt.Sprint(l)), p.back, p.transpose}
		}
	}
	for gg, hf := range extra {
		toHF[gg] = back{hf: hf}
	}
	out := map[string]*tensors.Tensor{}
	for _, ti := range g.Tensors {
		b, ok := toHF[ti.Name]
		if !ok {
			return nil, fmt.Errorf("gguf: %s: tensor %q has no HF name in hift's %v map (refusing to drop it)", g.Path, quoteShort(ti.Name), g.KV["general.architecture"])
		}
		v, err := g.Float32(ti)
		if err != nil {
			return nil, err
		}
		shape := ti.Shape
		if (b.transpose || b.fn != nil) && (len(shape) < 1 || len(shape) > 2) {
			return nil, fmt.Errorf("gguf: %s: tensor %q has rank %d; its layout transform needs a matrix or a vector", g.Path, ti.Name, len(shape))
		}
		if b.transpose && len(shape) != 2 {
			return nil, fmt.Errorf("gguf: %s: tensor %q has shape %v, not a matrix", g.Path, ti.Name, shape)
		}
		if _, dup := out[b.hf]; dup {
			return nil, fmt.Errorf("gguf: %s: tensor %q appears twice", g.Path, ti.Name)
		}
		if b.transpose {
			v, shape = transpose2D(v, shape), []int{shape[1], shape[0]}
		}
		if b.fn != nil {
			v = b.fn(v, shape)
		}
		out[b.hf] = tensors.FromFlatDataAndDimensions(v, shape...)
	}
	return out, nil
}

// ggufUint reads an integer key of any integer type.
func ggufUint(g *gguf.File, key string) (int, bool) {
	switch v := g.KV[key].(type) {
	case uint8:
		return int(v), true
	case uint16:
		return int(v), true
	case int8:
		return int(v), true
	case int16:
		return int(v), true
	case uint32:
		return int(v), true
	case uint64:
		if v > 1<<62 {
			return -1, true // an implausible size; the caller's range check names it
		}
		return int(v), true
	case int32:
		return int(v), true
	case int64:
		return int(v), true
	}
	return 0, false
}

func ggufFloat(g *gguf.File, key string, def float64) float64 {
	if v, ok := g.KV[key].(float32); ok {
		return float64(v)
	}
	return def
}

// ggufTokenIDs copies bos/eos/pad ids into config.json fields.
func ggufTokenIDs(g *gguf.File, cfg map[string]any) {
	for _, id := range []struct{ gg, hf string }{{"bos_token_id", "bos_token_id"}, {"eos_token_id", "eos_token_id"}, {"padding_token_id", "pad_token_id"}} {
		if v, ok := ggufUint(g, "tokenizer.ggml."+id.gg); ok {
			cfg[id.hf] = v
		}
	}
}

// appendOutputHead adds llama.cpp's output.weight from the HF head tensor (lm_head.weight, embed_out.weight)
// unless the model ties it to the token embeddings, which llama.cpp then reuses.
func appendOutputHead(srcs []ggufSource, m *Model, w GGUFWeights, head string) ([]ggufSource, error) {
	if _, tied := m.Tied[head]; tied {
		return srcs, nil
	}
	s, err := weightSource(w, head, "output.weight", nil)
	if err != nil {
		return nil, err
	}
	return append(srcs, s), nil
}
