package graph

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/internal/fixture"
	"github.com/hift-go/hift/io/safetensors"
)

// rewriteFixture writes a fixture's model.safetensors to a new folder in t.TempDir() with every name passed
// through rename ("" drops the tensor) and extra tensors added, copies config.json (with class as
// architectures[0] when non-empty) beside it, and returns the folder.
func rewriteFixture(t *testing.T, name string, rename func(string) string, extra ...safetensors.Tensor) string {
	t.Helper()
	fx, err := fixture.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := safetensors.Open(fx.Path("model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	var out []safetensors.Tensor
	for _, n := range ck.Names() {
		tn, err := ck.Tensor(n)
		if err != nil {
			t.Fatal(err)
		}
		if tn.Name = rename(n); tn.Name != "" {
			out = append(out, tn)
		}
	}
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), append(out, extra...), map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(fx.Path("config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// stripPrefix returns a rename function that drops prefix from the names that have it.
func stripPrefix(prefix string) func(string) string {
	return func(n string) string { return strings.TrimPrefix(n, prefix) }
}

// boolTensor is a BOOL tensor of the given shape (a lower-triangular causal mask over the last two axes).
func boolTensor(name string, shape ...int) safetensors.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	T := shape[len(shape)-1]
	data := make([]byte, n)
	for i := range data {
		if i%T <= (i/T)%T {
			data[i] = 1
		}
	}
	return safetensors.Tensor{Name: name, DType: safetensors.Bool, Shape: shape, Data: data}
}

// f32Tensor is an F32 tensor holding values.
func f32Tensor(name string, shape []int, values ...float32) safetensors.Tensor {
	data := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
	}
	return safetensors.Tensor{Name: name, DType: safetensors.F32, Shape: shape, Data: data}
}

// loadDir builds the model of a folder's config.json (class replaces architectures[0] when non-empty) and loads
// the folder's weights with a report.
func loadDir(t *testing.T, dir, class string) (*Model, map[string]*tensors.Tensor, *LoadReport, error) {
	t.Helper()
	cfg, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if class != "" {
		cfg.Architectures = []string{class}
	}
	m, err := NewModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := safetensors.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	w, rep, err := LoadWeightsReport(m, ck)
	return m, w, rep, err
}

// checkSameWeights checks that two weight maps have the same names and values.
func checkSameWeights(t *testing.T, got, want map[string]*tensors.Tensor) {
	t.Helper()
	if !slices.Equal(SortedKeys(got), SortedKeys(want)) {
		t.Fatalf("weights %v, want %v", SortedKeys(got), SortedKeys(want))
	}
	for k, v := range want {
		if !slices.Equal(tensors.MustCopyFlatData[float32](got[k]), tensors.MustCopyFlatData[float32](v)) {
			t.Errorf("%s differs", k)
		}
	}
}

// TestLoadBareGPT2WithMaskBuffers: a GPT-2 checkpoint as the original gpt2 files are (bare GPT2Model names
// without "transformer.", the h.N.attn.bias causal-mask buffers, here BOOL, and masked_bias) loads into
// GPT2LMHeadModel with its tied head, reports the buffers as ignored without reading them, and gives the same
// logits as the prefixed fixture; Inspect reports the same.
func TestLoadBareGPT2WithMaskBuffers(t *testing.T) {
	var extra []safetensors.Tensor
	for l := 0; l < 3; l++ {
		extra = append(extra, boolTensor(fmt.Sprintf("h.%d.attn.bias", l), 1, 1, 64, 64),
			f32Tensor(fmt.Sprintf("h.%d.attn.masked_bias", l), nil, -1e4))
	}
	dir := rewriteFixture(t, "gpt2_causal_lm", stripPrefix("transformer."), extra...)
	m, w, rep, err := loadDir(t, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	wantIgnored := []string{"h.0.attn.bias", "h.0.attn.masked_bias", "h.1.attn.bias", "h.1.attn.masked_bias", "h.2.attn.bias", "h.2.attn.masked_bias"}
	if rep.AddedPrefix != "transformer." || !slices.Equal(rep.Ignored, wantIgnored) {
		t.Errorf("report: prefix %q, ignored %v", rep.AddedPrefix, rep.Ignored)
	}
	fx, mRef, wRef, batch := loadFixtureModel(t, "gpt2_causal_lm")
	checkSameWeights(t, w, wRef)
	be := testBackend(t)
	got, err := RunForward(be, m, w, batch, ForwardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := RunForward(be, mRef, wRef, batch, ForwardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tensors.MustCopyFlatData[float32](got["logits"]), tensors.MustCopyFlatData[float32](want["logits"])) {
		t.Errorf("logits of the bare checkpoint differ from the prefixed one's")
	}

	in, err := Inspect(dir)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Inspect(fx.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if in.AddedPrefix != "transformer." || !slices.Equal(in.Ignored, wantIgnored) || len(in.Missing)+len(in.Unexpected) != 0 {
		t.Errorf("inspect: prefix %q ignored %v missing %v unexpected %v", in.AddedPrefix, in.Ignored, in.Missing, in.Unexpected)
	}
	if in.Parameters != ref.Parameters {
		t.Errorf("inspect: %d parameters, the prefixed fixture has %d (ignored buffers must not count)", in.Parameters, ref.Parameters)
	}
	if ref.AddedPrefix != "" || len(ref.Ignored) != 0 {
		t.Errorf("inspect of the fixture: prefix %q ignored %v", ref.AddedPrefix, ref.Ignored)
	}
}

// TestLoadBareTiedCopyAndUnexpected: in a bare checkpoint the head keeps its own name (a tied lm_head.weight
// copy is checked against wte.weight and reported), while an unknown tensor is still an error naming it, in the
// file's spelling, next to the prefix note; a prefixed checkpoint's unknown tensor too.
func TestLoadBareTiedCopyAndUnexpected(t *testing.T) {
	fx, err := fixture.Load("gpt2_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	ck, err := safetensors.Open(fx.Path("model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	wte, err := ck.Tensor("transformer.wte.weight")
	ck.Close()
	if err != nil {
		t.Fatal(err)
	}
	wte.Name = "lm_head.weight"
	dir := rewriteFixture(t, "gpt2_causal_lm", stripPrefix("transformer."), wte)
	if _, _, rep, err := loadDir(t, dir, ""); err != nil || !slices.Equal(rep.TiedCopies, []string{"lm_head.weight"}) {
		t.Errorf("tied copy: err %v, report %+v", err, rep)
	}

	dir = rewriteFixture(t, "gpt2_causal_lm", stripPrefix("transformer."), boolTensor("h.0.attn.bias", 1, 1, 64, 64),
		f32Tensor("h.0.attn.c_attn.lora_A", []int{2}, 1, 2))
	_, _, _, err = loadDir(t, dir, "")
	if err == nil || !strings.Contains(err.Error(), "unexpected (1): h.0.attn.c_attn.lora_A") || !strings.Contains(err.Error(), `no tensor name starts with "transformer."`) {
		t.Errorf("bare checkpoint with an unknown tensor: err = %v", err)
	}
	dir = rewriteFixture(t, "gpt2_causal_lm", func(n string) string { return n }, f32Tensor("transformer.h.0.attn.extra", []int{1}, 1))
	if _, _, _, err = loadDir(t, dir, ""); err == nil || !strings.Contains(err.Error(), "unexpected (1): transformer.h.0.attn.extra") {
		t.Errorf("prefixed checkpoint with an unknown tensor: err = %v", err)
	}
}

// TestLoadBareUntiedHeadIsMissing: a bare base-model checkpoint has no head; a head that is not tied is a
// missing tensor, as before.
func TestLoadBareUntiedHeadIsMissing(t *testing.T) {
	dir := rewriteFixture(t, "gpt2_causal_lm", stripPrefix("transformer."))
	_, _, _, err := loadDir(t, dir, "GPT2ForTokenClassification")
	if err == nil || !strings.Contains(err.Error(), "missing (2): classifier.bias") || !strings.Contains(err.Error(), "classifier.weight") {
		t.Errorf("err = %v, want classifier.weight and .bias missing", err)
	}
	dir = rewriteFixture(t, "llama_causal_lm", func(n string) string {
		if n == "lm_head.weight" {
			return "" // the bare LlamaModel
		}
		return strings.TrimPrefix(n, "model.")
	})
	if _, _, _, err = loadDir(t, dir, ""); err == nil || !strings.Contains(err.Error(), "missing (1): lm_head.weight") {
		t.Errorf("bare LLaMA base model into an untied LlamaForCausalLM: err = %v", err)
	}
}

// TestLoadBareOPTAndOldBuffers: OPT's base_model_prefix is "model" (the facebook/opt-* files name tensors
// decoder.*); LLaMA checkpoints from before 4.31 carry rotary_emb.inv_freq, BERT ones embeddings.position_ids,
// and a pre-trained BERT's pooler is ignored by BertForTokenClassification, which has none.
func TestLoadBareOPTAndOldBuffers(t *testing.T) {
	t.Run("opt bare", func(t *testing.T) {
		dir := rewriteFixture(t, "opt_causal_lm", stripPrefix("model."))
		_, w, rep, err := loadDir(t, dir, "")
		if err != nil {
			t.Fatal(err)
		}
		if rep.AddedPrefix != "model." {
			t.Errorf("added prefix %q", rep.AddedPrefix)
		}
		_, _, wRef, _ := loadFixtureModel(t, "opt_causal_lm")
		checkSameWeights(t, w, wRef)
	})
	t.Run("llama inv_freq", func(t *testing.T) {
		inv := f32Tensor("model.layers.1.self_attn.rotary_emb.inv_freq", []int{4}, 1, 0.1, 0.01, 0.001)
		dir := rewriteFixture(t, "llama_causal_lm", func(n string) string { return n }, inv)
		_, _, rep, err := loadDir(t, dir, "")
		if err != nil || rep.AddedPrefix != "" || !slices.Equal(rep.Ignored, []string{inv.Name}) {
			t.Errorf("err %v report %+v", err, rep)
		}
	})
	t.Run("bert position_ids and pooler", func(t *testing.T) {
		posIDs := safetensors.Tensor{Name: "bert.embeddings.position_ids", DType: safetensors.I64, Shape: []int{1, 64}, Data: make([]byte, 8*64)}
		pooler := []safetensors.Tensor{
			f32Tensor("bert.pooler.dense.weight", []int{64, 64}, make([]float32, 64*64)...),
			f32Tensor("bert.pooler.dense.bias", []int{64}, make([]float32, 64)...),
		}
		dir := rewriteFixture(t, "bert_token_cls", func(n string) string { return n }, append(pooler, posIDs)...)
		_, _, rep, err := loadDir(t, dir, "")
		want := []string{"bert.embeddings.position_ids", "bert.pooler.dense.bias", "bert.pooler.dense.weight"}
		if err != nil || !slices.Equal(rep.Ignored, want) {
			t.Errorf("token-cls: err %v report %+v, want ignored %v", err, rep, want)
		}
	})
}
