package graph

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/internal/fixture"
	"github.com/hift-go/hift/io/safetensors"
)

var sharedTestBackend = sync.OnceValues(func() (backends.Backend, error) { return NewBackend("") })

// testBackend returns the package tests' one backend (tensors cannot move between backend instances).
func testBackend(t testing.TB) backends.Backend {
	t.Helper()
	b, err := sharedTestBackend()
	if err != nil {
		t.Fatalf("backend: %v", err)
	}
	return b
}

func TestMain(m *testing.M) {
	_ = os.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	os.Exit(m.Run())
}

// loadFixtureModel loads config, model, weights and inputs of a fixture.
func loadFixtureModel(t testing.TB, name string) (*fixture.Fixture, *Model, map[string]*tensors.Tensor, map[string]*tensors.Tensor) {
	t.Helper()
	fx, err := fixture.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(fx.Dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := safetensors.Open(fx.Path("model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	w, err := LoadWeights(m, ck)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := LoadBatch(fx.Path("inputs.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return fx, m, w, batch
}

// realPositionMask returns, for logits of shape [B, T, ...], a skip function excluding padded query positions.
func realPositionSkip(batch map[string]*tensors.Tensor, logitsDims []int) func(int) bool {
	am, ok := batch["attention_mask"]
	if !ok || len(logitsDims) < 3 {
		return nil
	}
	mask := tensors.MustCopyFlatData[int64](am)
	inner := 1
	for _, d := range logitsDims[2:] {
		inner *= d
	}
	return func(i int) bool { return mask[i/inner] == 0 }
}

// checkParity runs forward+backward on a fixture and compares logits, loss, hidden states and every gradient.
func checkParity(t *testing.T, name string) {
	fx, m, w, batch := loadFixtureModel(t, name)
	if m.Class != fx.Manifest.Architecture {
		t.Fatalf("fixture is %s, model built as %s", fx.Manifest.Architecture, m.Class)
	}
	out, err := RunForward(testBackend(t), m, w, batch, ForwardOptions{Grads: true, Hidden: true})
	if err != nil {
		t.Fatal(err)
	}
	compared := compareWithGolden(t, fx, out, batch)
	for _, p := range m.Params {
		if !compared["grad."+p.Name] {
			t.Errorf("%s: grad.%s was not compared", name, p.Name)
		}
	}
}

// compareWithGolden compares every tensor of a fixture's golden file (logits, loss, hidden states, gradients)
// with out, the outputs of a model on the fixture's batch, using the manifest's tolerances, and fails unless logits,
// loss, hidden states and gradients were compared. It returns the names compared.
func compareWithGolden(t *testing.T, fx *fixture.Fixture, out, batch map[string]*tensors.Tensor) map[string]bool {
	t.Helper()
	name := fx.Manifest.Name
	golden, err := safetensors.Open(fx.Path("golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer golden.Close()
	compared, grads := map[string]bool{}, 0
	for _, gname := range golden.Names() {
		got, ok := out[gname]
		if !ok {
			t.Errorf("%s: output %q missing (have %v)", name, gname, strings.Join(SortedKeys(out), ","))
			continue
		}
		family := gname
		if i := strings.IndexByte(gname, '.'); i > 0 {
			family = gname[:i]
		}
		if family == "start_logits" || family == "end_logits" {
			family = "logits"
		}
		// A manifest may give a tolerance per output name (QA: start_logits, end_logits) or per family.
		tol, err := fx.Tolerance(gname)
		if err != nil {
			if tol, err = fx.Tolerance(family); err != nil {
				t.Fatal(err)
			}
		}
		want, err := golden.Float32(gname)
		if err != nil {
			t.Fatal(err)
		}
		var skip func(int) bool
		if family == "logits" || family == "hidden_states" {
			skip = realPositionSkip(batch, got.Shape().Dimensions)
		}
		rep, err := fixture.Compare(tensors.MustCopyFlatData[float32](got), want, tol, skip)
		if err != nil {
			t.Errorf("%s: %s: %v", name, gname, err)
			continue
		}
		compared[gname] = true
		if family == "grad" {
			grads++
		}
		if !rep.OK() {
			t.Errorf("%s: %-50s FAIL %s (atol %.2g rtol %.2g)", name, gname, rep, tol.ATol, tol.RTol)
		} else if testing.Verbose() {
			t.Logf("%s: %-50s ok   max|diff| %.3g", name, gname, rep.MaxAbs)
		}
	}
	if !compared["logits"] && !compared["start_logits"] || !compared["loss"] || grads == 0 || !compared["hidden_states.0"] {
		t.Errorf("%s: compared only %d tensors, %d of them gradients (want logits, loss, gradients and hidden states)", name, len(compared), grads)
	}
	return compared
}

func TestParityLlamaCausalLM(t *testing.T) { checkParity(t, "llama_causal_lm") }
func TestParityLlamaSeqCls(t *testing.T)   { checkParity(t, "llama_seq_cls") }
