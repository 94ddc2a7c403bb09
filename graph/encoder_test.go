package graph

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/internal/fixture"
	"github.com/hift-go/hift/io/safetensors"
)

// encoderTestConfig returns a tiny config.json for class with the given extra fields.
func encoderTestConfig(t *testing.T, class, modelType string, extra string) *Config {
	t.Helper()
	js := fmt.Sprintf(`{"architectures": [%q], "model_type": %q, "vocab_size": 50, "hidden_size": 16,
		"num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 24, "max_position_embeddings": 20%s}`,
		class, modelType, extra)
	cfg, err := ParseConfig([]byte(js), class+"/config.json")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// encoderRandomWeights fills every parameter of m with deterministic pseudo-random values in [-0.5, 0.5).
func encoderRandomWeights(m *Model) map[string]*tensors.Tensor {
	w := map[string]*tensors.Tensor{}
	seed := uint64(12345)
	for _, p := range m.Params {
		v := make([]float32, p.NumElements())
		for i := range v {
			seed = seed*6364136223846793005 + 1442695040888963407
			v[i] = float32(seed>>40)/float32(1<<24) - 0.5
		}
		w[p.Name] = tensors.FromFlatDataAndDimensions(v, p.Shape...)
	}
	return w
}

// encoderParamNames lists the parameter names of m in order.
func encoderParamNames(m *Model) []string {
	out := make([]string, len(m.Params))
	for i, p := range m.Params {
		out[i] = p.Name
	}
	return out
}

// encoderUnitNames lists the unit names of m in order.
func encoderUnitNames(m *Model) []string {
	out := make([]string, len(m.Units))
	for i, u := range m.Units {
		out[i] = u.Name
	}
	return out
}

// encoderLayerParams lists the 16 parameters of one BERT layer with their shapes (hidden D, intermediate I).
func encoderLayerParams(prefix string, l, D, I int) []ParamSpec {
	p := fmt.Sprintf("%s.encoder.layer.%d.", prefix, l)
	return []ParamSpec{
		{p + "attention.self.query.weight", []int{D, D}, false}, {p + "attention.self.query.bias", []int{D}, true},
		{p + "attention.self.key.weight", []int{D, D}, false}, {p + "attention.self.key.bias", []int{D}, true},
		{p + "attention.self.value.weight", []int{D, D}, false}, {p + "attention.self.value.bias", []int{D}, true},
		{p + "attention.output.dense.weight", []int{D, D}, false}, {p + "attention.output.dense.bias", []int{D}, true},
		{p + "attention.output.LayerNorm.weight", []int{D}, true}, {p + "attention.output.LayerNorm.bias", []int{D}, true},
		{p + "intermediate.dense.weight", []int{I, D}, false}, {p + "intermediate.dense.bias", []int{I}, true},
		{p + "output.dense.weight", []int{D, I}, false}, {p + "output.dense.bias", []int{D}, true},
		{p + "output.LayerNorm.weight", []int{D}, true}, {p + "output.LayerNorm.bias", []int{D}, true},
	}
}

// expectedEncoderParams is the HF named_parameters() list of a tiny test config (V 50, D 16, I 24, P 20, 2
// layers, type_vocab_size tv) with the given tail (pooler and head).
func expectedEncoderParams(prefix string, tv int, tail ...ParamSpec) []ParamSpec {
	const V, D, I, P = 50, 16, 24, 20
	e := prefix + ".embeddings."
	out := []ParamSpec{
		{e + "word_embeddings.weight", []int{V, D}, false},
		{e + "position_embeddings.weight", []int{P, D}, false},
		{e + "token_type_embeddings.weight", []int{tv, D}, false},
		{e + "LayerNorm.weight", []int{D}, true},
		{e + "LayerNorm.bias", []int{D}, true},
	}
	for l := 0; l < 2; l++ {
		out = append(out, encoderLayerParams(prefix, l, D, I)...)
	}
	return append(out, tail...)
}

// encoderLinearSpecs is the weight and bias of an nn.Linear.
func encoderLinearSpecs(name string, out, in int) []ParamSpec {
	return []ParamSpec{{name + ".weight", []int{out, in}, false}, {name + ".bias", []int{out}, true}}
}

func encoderCheckParams(t *testing.T, m *Model, want []ParamSpec) {
	t.Helper()
	if len(m.Params) != len(want) {
		t.Errorf("%s: %d parameters, want %d:\n got %v\nwant %v", m.Class, len(m.Params), len(want), encoderParamNames(m), want)
		return
	}
	for i, p := range m.Params {
		if p.Name != want[i].Name || !slices.Equal(p.Shape, want[i].Shape) || p.NoDecay != want[i].NoDecay {
			t.Errorf("%s: param %d = %+v, want %+v", m.Class, i, p, want[i])
		}
	}
}

// encoderCheckFiniteRun runs the model with grads and checks output shapes and that every output is finite.
// encoderCheckFiniteRun runs m forward and backward and checks output shapes, finiteness, a positive loss and a
// non-zero gradient for every parameter except zeroGrads: those are analytically zero and must be ≈ 0 (float32
// rounding of a sum of terms that cancel exactly).
func encoderCheckFiniteRun(t *testing.T, m *Model, batch map[string]*tensors.Tensor, wantShapes map[string][]int, zeroGrads ...string) {
	t.Helper()
	out, err := RunForward(testBackend(t), m, encoderRandomWeights(m), batch, ForwardOptions{Grads: true, Hidden: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, shape := range wantShapes {
		got, ok := out[name]
		if !ok {
			t.Errorf("%s: output %q missing (have %v)", m.Class, name, SortedKeys(out))
			continue
		}
		if !slices.Equal(got.Shape().Dimensions, shape) {
			t.Errorf("%s: %s has shape %v, want %v", m.Class, name, got.Shape().Dimensions, shape)
		}
	}
	for _, p := range m.Params {
		g, ok := out["grad."+p.Name]
		if !ok {
			t.Errorf("%s: grad.%s missing", m.Class, p.Name)
			continue
		}
		if !slices.Equal(g.Shape().Dimensions, p.Shape) {
			t.Errorf("%s: grad.%s has shape %v, want %v", m.Class, p.Name, g.Shape().Dimensions, p.Shape)
		}
	}
	nonzero := 0
	for name, v := range out {
		for _, x := range tensors.MustCopyFlatData[float32](v) {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Errorf("%s: %s is not finite", m.Class, name)
				break
			}
		}
		if slices.Contains(zeroGrads, strings.TrimPrefix(name, "grad.")) {
			worst := 0.0
			for _, x := range tensors.MustCopyFlatData[float32](v) {
				worst = math.Max(worst, math.Abs(float64(x)))
			}
			t.Logf("%s: %s is analytically zero: max |value| %.3g", m.Class, name, worst)
			if worst > 1e-6 {
				t.Errorf("%s: %s should be zero, has max |value| %.3g > 1e-6", m.Class, name, worst)
			}
			continue
		}
		if strings.HasPrefix(name, "grad.") && slices.ContainsFunc(tensors.MustCopyFlatData[float32](v), func(x float32) bool { return x != 0 }) {
			nonzero++
		}
	}
	if want := len(m.Params) - len(zeroGrads); nonzero != want {
		t.Errorf("%s: %d of %d gradients are non-zero, want %d (all but %v)", m.Class, nonzero, len(m.Params), want, zeroGrads)
	}
	if l := tensors.ToScalar[float32](out["loss"]); !(l > 0) {
		t.Errorf("%s: loss %v, want > 0", m.Class, l)
	}
}

func encoderI64(dims []int, vals ...int64) *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(vals, dims...)
}

func encoderNewTestModel(t *testing.T, cfg *Config) *Model {
	t.Helper()
	m, err := NewModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The [B, T] = [2, 5] batch used by the single-sequence tasks; row 1 is right-padded with pad.
func encoderTestIDs(pad int64) (ids, mask *tensors.Tensor) {
	return encoderI64([]int{2, 5}, 3, 7, 9, 11, 4, 5, 8, 12, pad, pad), encoderI64([]int{2, 5}, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0)
}

func TestEncoderRegressionSeqCls(t *testing.T) {
	for _, tc := range []struct{ class, modelType, prefix string }{
		{"BertForSequenceClassification", "bert", "bert"},
		{"RobertaForSequenceClassification", "roberta", "roberta"},
	} {
		t.Run(tc.class, func(t *testing.T) {
			m := encoderNewTestModel(t, encoderTestConfig(t, tc.class, tc.modelType, `, "num_labels": 1`))
			var tail []ParamSpec
			if tc.prefix == "bert" {
				tail = append(encoderLinearSpecs("bert.pooler.dense", 16, 16), encoderLinearSpecs("classifier", 1, 16)...)
			} else {
				tail = append(encoderLinearSpecs("classifier.dense", 16, 16), encoderLinearSpecs("classifier.out_proj", 1, 16)...)
			}
			encoderCheckParams(t, m, expectedEncoderParams(tc.prefix, 2, tail...))
			ids, mask := encoderTestIDs(map[string]int64{"bert": 0, "roberta": 1}[tc.prefix])
			labels := tensors.FromFlatDataAndDimensions([]float32{0.5, -1.25}, 2)
			encoderCheckFiniteRun(t, m, map[string]*tensors.Tensor{"input_ids": ids, "attention_mask": mask, "labels": labels,
				"token_type_ids": encoderI64([]int{2, 5}, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0)},
				map[string][]int{"logits": {2, 1}, "loss": {}, "hidden_states.2": {2, 5, 16}})
		})
	}
}

func TestBertQA(t *testing.T) {
	m := encoderNewTestModel(t, encoderTestConfig(t, "BertForQuestionAnswering", "bert", ""))
	encoderCheckParams(t, m, expectedEncoderParams("bert", 2, encoderLinearSpecs("qa_outputs", 2, 16)...))
	if got, want := encoderUnitNames(m), []string{"bert.embeddings", "bert.encoder.layer.0", "bert.encoder.layer.1", "qa_outputs"}; !slices.Equal(got, want) {
		t.Errorf("units %v, want %v", got, want)
	}
	ids, mask := encoderTestIDs(0)
	// Row 1's end position 9 is clamped to T = 5 and ignored, as in HF.
	encoderCheckFiniteRun(t, m, map[string]*tensors.Tensor{"input_ids": ids, "attention_mask": mask,
		"start_positions": encoderI64([]int{2}, 1, 2), "end_positions": encoderI64([]int{2}, 3, 9)},
		map[string][]int{"start_logits": {2, 5}, "end_logits": {2, 5}, "loss": {}, "hidden_states.0": {2, 5, 16}})
}

func TestBertMultipleChoice(t *testing.T) {
	m := encoderNewTestModel(t, encoderTestConfig(t, "BertForMultipleChoice", "bert", ""))
	encoderCheckParams(t, m, expectedEncoderParams("bert", 2, append(encoderLinearSpecs("bert.pooler.dense", 16, 16), encoderLinearSpecs("classifier", 1, 16)...)...))
	if got, want := encoderUnitNames(m), []string{"bert.embeddings", "bert.encoder.layer.0", "bert.encoder.layer.1", "bert.pooler", "classifier"}; !slices.Equal(got, want) {
		t.Errorf("units %v, want %v", got, want)
	}
	dims := []int{2, 3, 4} // [B, C, T]
	encoderCheckFiniteRun(t, m, map[string]*tensors.Tensor{
		"input_ids":      encoderI64(dims, 3, 7, 9, 0, 3, 8, 9, 0, 3, 6, 10, 11, 5, 8, 12, 0, 5, 9, 0, 0, 5, 13, 14, 15),
		"attention_mask": encoderI64(dims, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1),
		"token_type_ids": encoderI64(dims, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1),
		"labels":         encoderI64([]int{2}, 2, 0),
	}, map[string][]int{"logits": {2, 3}, "loss": {}, "hidden_states.2": {6, 4, 16}},
		// The bias adds one constant to every choice's logit, and softmax over the choices is invariant to that:
		// d loss / d bias = Σ_b Σ_c (p_bc − y_bc) = 0.
		"classifier.bias")
}

func TestRobertaTokenCls(t *testing.T) {
	m := encoderNewTestModel(t, encoderTestConfig(t, "RobertaForTokenClassification", "roberta", `, "type_vocab_size": 1, "num_labels": 4`))
	encoderCheckParams(t, m, expectedEncoderParams("roberta", 1, encoderLinearSpecs("classifier", 4, 16)...))
	if got, want := encoderUnitNames(m), []string{"roberta.embeddings", "roberta.encoder.layer.0", "roberta.encoder.layer.1", "classifier"}; !slices.Equal(got, want) {
		t.Errorf("units %v, want %v", got, want)
	}
	ids, mask := encoderTestIDs(1)
	encoderCheckFiniteRun(t, m, map[string]*tensors.Tensor{"input_ids": ids, "attention_mask": mask,
		"labels": encoderI64([]int{2, 5}, 0, 3, -100, 2, 1, 1, 2, 3, -100, -100)},
		map[string][]int{"logits": {2, 5, 4}, "loss": {}, "hidden_states.1": {2, 5, 16}})
}

func TestRobertaMultipleChoice(t *testing.T) {
	m := encoderNewTestModel(t, encoderTestConfig(t, "RobertaForMultipleChoice", "roberta", `, "type_vocab_size": 1`))
	encoderCheckParams(t, m, expectedEncoderParams("roberta", 1, append(encoderLinearSpecs("roberta.pooler.dense", 16, 16), encoderLinearSpecs("classifier", 1, 16)...)...))
	if got, want := encoderUnitNames(m), []string{"roberta.embeddings", "roberta.encoder.layer.0", "roberta.encoder.layer.1", "roberta.pooler", "classifier"}; !slices.Equal(got, want) {
		t.Errorf("units %v, want %v", got, want)
	}
	dims := []int{2, 2, 4} // [B, C, T]
	encoderCheckFiniteRun(t, m, map[string]*tensors.Tensor{
		"input_ids":      encoderI64(dims, 0, 7, 9, 2, 0, 8, 2, 1, 0, 6, 2, 1, 0, 5, 12, 2),
		"attention_mask": encoderI64(dims, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1),
		"labels":         encoderI64([]int{2}, 1, 0),
	}, map[string][]int{"logits": {2, 2}, "loss": {}, "hidden_states.0": {4, 4, 16}},
		"classifier.bias") // analytically zero, as for BERT: softmax over the choices ignores a shared constant
}

// TestEncoderUnitCounts checks the HiFT unit counts of hift-algorithm.md §2.4 from configs alone.
func TestEncoderUnitCounts(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		units        int
		params       int64
	}{
		// bert-base-uncased, roberta-base, roberta-large config.json (architectures replaced by the seq-cls class).
		{"bert-base seq-cls", `{"architectures": ["BertForSequenceClassification"], "model_type": "bert", "vocab_size": 30522,
			"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
			"max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0}`, 15, 109483778},
		{"roberta-base seq-cls", `{"architectures": ["RobertaForSequenceClassification"], "model_type": "roberta", "vocab_size": 50265,
			"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
			"max_position_embeddings": 514, "type_vocab_size": 1, "layer_norm_eps": 1e-5, "pad_token_id": 1}`, 14, 124647170},
		{"roberta-large seq-cls", `{"architectures": ["RobertaForSequenceClassification"], "model_type": "roberta", "vocab_size": 50265,
			"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096,
			"max_position_embeddings": 514, "type_vocab_size": 1, "layer_norm_eps": 1e-5, "pad_token_id": 1}`, 26, 355361794},
	} {
		cfg, err := ParseConfig([]byte(tc.config), tc.name)
		if err != nil {
			t.Fatal(err)
		}
		m := encoderNewTestModel(t, cfg)
		if len(m.Units) != tc.units {
			t.Errorf("%s: %d units, want %d: %v", tc.name, len(m.Units), tc.units, encoderUnitNames(m))
		}
		if n := m.NumParameters(); n != tc.params {
			t.Errorf("%s: %d parameters, want %d", tc.name, n, tc.params)
		}
	}
}

// TestEncoderFixtureUnits checks the unit lists and parameter counts of the fixtures against their manifests.
func TestEncoderFixtureUnits(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		units   []string
	}{
		{"bert_seq_cls", []string{"bert.embeddings", "bert.encoder.layer.0", "bert.encoder.layer.1", "bert.pooler", "classifier"}},
		{"bert_token_cls", []string{"bert.embeddings", "bert.encoder.layer.0", "bert.encoder.layer.1", "classifier"}},
		{"roberta_seq_cls", []string{"roberta.embeddings", "roberta.encoder.layer.0", "roberta.encoder.layer.1", "classifier"}},
		{"roberta_qa", []string{"roberta.embeddings", "roberta.encoder.layer.0", "roberta.encoder.layer.1", "qa_outputs"}},
	} {
		fx, err := fixture.Load(tc.fixture)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(fx.Dir)
		if err != nil {
			t.Fatal(err)
		}
		m := encoderNewTestModel(t, cfg)
		if got := encoderUnitNames(m); !slices.Equal(got, tc.units) {
			t.Errorf("%s: units %v, want %v", tc.fixture, got, tc.units)
		}
	}
}

func TestEncoderConfigErrors(t *testing.T) {
	for _, tc := range []struct{ class, modelType, extra, want string }{
		{"BertForSequenceClassification", "bert", `, "position_embedding_type": "relative_key"`, "position_embedding_type"},
		{"BertForSequenceClassification", "bert", `, "num_attention_heads": 3`, "not divisible"},
		{"BertForQuestionAnswering", "bert", `, "num_labels": 3`, "num_labels = 2"},
		{"RobertaForSequenceClassification", "roberta", `, "pad_token_id": null`, "pad_token_id is required"},
		{"BertForTokenClassification", "bert", `, "hidden_act": "mish"`, "hidden_act"},
	} {
		_, err := NewModel(encoderTestConfig(t, tc.class, tc.modelType, tc.extra))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.class+"/config.json") {
			t.Errorf("%s %s: error %v, want one naming the config file and %q", tc.class, tc.extra, err, tc.want)
		}
	}
	cfg, err := ParseConfig([]byte(`{"architectures": ["BertForSequenceClassification"], "model_type": "bert", "hidden_size": 8}`), "x/config.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewModel(cfg); err == nil || !strings.Contains(err.Error(), "x/config.json") || !strings.Contains(err.Error(), "vocab_size") {
		t.Errorf("missing fields: error %v", err)
	}
}

// TestEncoderDefaults checks HF's config class defaults (transformers 4.34) where config.json omits a field.
func TestEncoderDefaults(t *testing.T) {
	for _, tc := range []struct {
		flavor encoderFlavor
		pad    int
	}{{bertFlavor, 0}, {robertaFlavor, 1}} {
		cfg, err := ParseConfig([]byte(`{"model_type": "x", "vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1,
			"num_attention_heads": 2, "intermediate_size": 16}`), "")
		if err != nil {
			t.Fatal(err)
		}
		c, err := DecodeEncoderConfig(cfg, tc.flavor.defaults)
		if err != nil {
			t.Fatal(err)
		}
		if c.MaxPositionEmbeddings != 512 || c.TypeVocabSize != 2 || c.LayerNormEps != 1e-12 || c.HiddenAct != "gelu" ||
			c.PadTokenID == nil || *c.PadTokenID != tc.pad || c.PositionEmbeddingType != "absolute" {
			t.Errorf("%s defaults: %+v", tc.flavor.family, c)
		}
		if *tc.flavor.defaults.PadTokenID != tc.pad {
			t.Errorf("%s: decoding changed the flavor's default pad_token_id", tc.flavor.family)
		}
	}
}

// encoderVariantFromFixture builds class from a fixture's config (num_labels replaced, label maps dropped) and
// returns it with the fixture's weights and batch and the golden file.
func encoderVariantFromFixture(t *testing.T, fixtureName, class string, numLabels int) (*Model, map[string]*tensors.Tensor, map[string]*tensors.Tensor, *safetensors.Checkpoint) {
	t.Helper()
	fx, _, w, batch := loadFixtureModel(t, fixtureName)
	cfg, err := LoadConfig(fx.Dir)
	if err != nil {
		t.Fatal(err)
	}
	raw := map[string]json.RawMessage{}
	for k, v := range cfg.Raw {
		raw[k] = v
	}
	delete(raw, "id2label")
	delete(raw, "label2id")
	raw["architectures"] = json.RawMessage(fmt.Sprintf("[%q]", class))
	raw["num_labels"] = json.RawMessage(fmt.Sprint(numLabels))
	data, _ := json.Marshal(raw)
	cfg, err = ParseConfig(data, fixtureName+"/config.json")
	if err != nil {
		t.Fatal(err)
	}
	golden, err := safetensors.Open(fx.Path("golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { golden.Close() })
	return encoderNewTestModel(t, cfg), w, batch, golden
}

// encoderRows returns rows [from, to) of a [R, D] weight or a [R] bias as a new tensor.
func encoderRows(x *tensors.Tensor, from, to int) *tensors.Tensor {
	d := x.Shape().Dimensions
	inner := 1
	for _, v := range d[1:] {
		inner *= v
	}
	flat := tensors.MustCopyFlatData[float32](x)
	return tensors.FromFlatDataAndDimensions(slices.Clone(flat[from*inner:to*inner]), append([]int{to - from}, d[1:]...)...)
}

// encoderCompareColumn checks got[i] == want[i*stride+col] for the real positions selected by keep (nil: all).
func encoderCompareColumn(t *testing.T, what string, got *tensors.Tensor, want []float32, stride, col int, keep func(int) bool) {
	t.Helper()
	g := tensors.MustCopyFlatData[float32](got)
	worst := 0.0
	for i, v := range g {
		if keep != nil && !keep(i) {
			continue
		}
		w := want[i*stride+col]
		d := math.Abs(float64(v - w))
		worst = math.Max(worst, d)
		if d > 2e-5+1e-4*math.Abs(float64(w)) {
			t.Errorf("%s[%d] = %g, golden %g", what, i, v, w)
			return
		}
	}
	t.Logf("%s: max|diff| %.3g", what, worst)
}

// TestEncoderHeadsAgainstFixtures anchors the heads without fixtures to HF goldens of the ones with fixtures,
// using the same encoder weights: a QA head whose qa_outputs are the first two rows of a token classifier gives
// that classifier's logits 0 and 1; RoBERTa token-cls with the QA head's weights gives [start, end]; multiple
// choice over the fixture's rows (as choices of one example) with classifier row 0 gives the seq-cls logits
// column 0 (RoBERTa: pooler := classifier.dense, since RobertaClassificationHead is a pooler + out_proj).
func TestEncoderHeadsAgainstFixtures(t *testing.T) {
	be := testBackend(t)
	run := func(m *Model, w, batch map[string]*tensors.Tensor) map[string]*tensors.Tensor {
		t.Helper()
		out, err := RunForward(be, m, w, batch, ForwardOptions{Grads: true})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	realOnly := func(batch map[string]*tensors.Tensor) func(int) bool {
		mask := tensors.MustCopyFlatData[int64](batch["attention_mask"])
		return func(i int) bool { return mask[i] != 0 }
	}

	t.Run("BertForQuestionAnswering", func(t *testing.T) {
		m, w, batch, golden := encoderVariantFromFixture(t, "bert_token_cls", "BertForQuestionAnswering", 2)
		w["qa_outputs.weight"] = encoderRows(w["classifier.weight"], 0, 2)
		w["qa_outputs.bias"] = encoderRows(w["classifier.bias"], 0, 2)
		delete(batch, "labels")
		batch["start_positions"], batch["end_positions"] = encoderI64([]int{2}, 3, 0), encoderI64([]int{2}, 40, 5)
		out := run(m, w, batch)
		want, _ := golden.Float32("logits") // [2, 12, 5]
		encoderCompareColumn(t, "start_logits", out["start_logits"], want, 5, 0, realOnly(batch))
		encoderCompareColumn(t, "end_logits", out["end_logits"], want, 5, 1, realOnly(batch))
		// Loss from the golden logits: start CE over rows 0 and 1; end CE over row 1 only (40 → clamp 12 → ignored).
		ce := func(row, pos, col int) float64 {
			var mx, sum float64 = math.Inf(-1), 0
			for j := 0; j < 12; j++ {
				mx = math.Max(mx, float64(want[(row*12+j)*5+col]))
			}
			for j := 0; j < 12; j++ {
				sum += math.Exp(float64(want[(row*12+j)*5+col]) - mx)
			}
			return mx + math.Log(sum) - float64(want[(row*12+pos)*5+col])
		}
		wantLoss := ((ce(0, 3, 0)+ce(1, 0, 0))/2 + ce(1, 5, 1)) / 2
		if got := float64(tensors.ToScalar[float32](out["loss"])); math.Abs(got-wantLoss) > 1e-5 {
			t.Errorf("QA loss %g, want %g", got, wantLoss)
		}
	})

	t.Run("RobertaForTokenClassification", func(t *testing.T) {
		m, w, batch, golden := encoderVariantFromFixture(t, "roberta_qa", "RobertaForTokenClassification", 2)
		w["classifier.weight"], w["classifier.bias"] = w["qa_outputs.weight"], w["qa_outputs.bias"]
		delete(w, "qa_outputs.weight")
		delete(w, "qa_outputs.bias")
		delete(batch, "start_positions")
		delete(batch, "end_positions")
		batch["labels"] = encoderI64([]int{2, 12}, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, -100, -100, -100, -100)
		out := run(m, w, batch)
		start, _ := golden.Float32("start_logits") // [2, 12]
		end, _ := golden.Float32("end_logits")
		got := tensors.MustCopyFlatData[float32](out["logits"]) // [2, 12, 2]
		col := func(c int) *tensors.Tensor {
			v := make([]float32, 24)
			for i := range v {
				v[i] = got[i*2+c]
			}
			return tensors.FromFlatDataAndDimensions(v, 24)
		}
		encoderCompareColumn(t, "logits[...,0]", col(0), start, 1, 0, realOnly(batch))
		encoderCompareColumn(t, "logits[...,1]", col(1), end, 1, 0, realOnly(batch))
	})

	for _, tc := range []struct{ fixture, class, poolerFrom, classifierFrom string }{
		{"bert_seq_cls", "BertForMultipleChoice", "bert.pooler.dense", "classifier"},
		{"roberta_seq_cls", "RobertaForMultipleChoice", "classifier.dense", "classifier.out_proj"},
	} {
		t.Run(tc.class, func(t *testing.T) {
			m, w, batch, golden := encoderVariantFromFixture(t, tc.fixture, tc.class, 2)
			prefix := strings.SplitN(m.Params[0].Name, ".", 2)[0]
			pw, pb := w[tc.poolerFrom+".weight"], w[tc.poolerFrom+".bias"]
			cw, cb := encoderRows(w[tc.classifierFrom+".weight"], 0, 1), encoderRows(w[tc.classifierFrom+".bias"], 0, 1)
			for _, n := range []string{"classifier.weight", "classifier.bias", "classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight", "classifier.out_proj.bias"} {
				delete(w, n)
			}
			w[prefix+".pooler.dense.weight"], w[prefix+".pooler.dense.bias"] = pw, pb
			w["classifier.weight"], w["classifier.bias"] = cw, cb
			for _, n := range []string{"input_ids", "attention_mask"} {
				v := tensors.MustCopyFlatData[int64](batch[n])
				batch[n] = encoderI64([]int{1, 2, len(v) / 2}, v...) // the two rows as two choices of one example
			}
			batch["labels"] = encoderI64([]int{1}, 1)
			out := run(m, w, batch)
			want, _ := golden.Float32("logits") // [2, L]
			encoderCompareColumn(t, "logits", out["logits"], want, len(want)/2, 0, nil)
		})
	}
}
