package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/internal/fixture"
	"github.com/hift-go/hift/io/safetensors"
)

func TestMain(m *testing.M) {
	_ = os.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	if os.Getenv(cliChildEnv) == "1" { // a chaos test's child process: be the hift command
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// runCLI runs the CLI in-process and returns exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestForwardMatchesGolden is the acceptance check: `hift forward --grads` on the LLaMA fixture writes
// logits, loss and every gradient within the manifest's tolerances.
func TestForwardMatchesGolden(t *testing.T) {
	for _, name := range []string{"llama_causal_lm", "llama_seq_cls"} {
		t.Run(name, func(t *testing.T) {
			fx, err := fixture.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "o.safetensors")
			code, _, stderr := runCLI(t, "forward", "--model", fx.Dir, "--inputs", fx.Path("inputs.safetensors"), "--out", out, "--grads")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got, err := safetensors.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Close()
			golden, err := safetensors.Open(fx.Path("golden.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer golden.Close()
			mask, err := mustCk(t, fx.Path("inputs.safetensors")).Int64("attention_mask")
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, gname := range golden.Names() {
				if strings.HasPrefix(gname, "hidden_states.") {
					continue
				}
				family := "grad"
				if gname == "logits" || gname == "loss" {
					family = gname
				}
				tol, err := fx.Tolerance(family)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := golden.Float32(gname)
				have, err := got.Float32(gname)
				if err != nil {
					t.Errorf("%s: %v", gname, err)
					continue
				}
				var skip func(int) bool
				if info, _ := golden.Info(gname); gname == "logits" && len(info.Shape) == 3 {
					inner := info.Shape[2]
					skip = func(i int) bool { return mask[i/inner] == 0 }
				}
				rep, err := fixture.Compare(have, want, tol, skip)
				if err != nil || !rep.OK() {
					t.Errorf("%s: %v %s", gname, err, rep)
				}
				n++
			}
			if n < 3 {
				t.Fatalf("compared %d tensors", n)
			}
			t.Logf("%s: %d tensors within tolerance", name, n)
		})
	}
}

func mustCk(t *testing.T, path string) *safetensors.Checkpoint {
	t.Helper()
	ck, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ck.Close() })
	return ck
}

func TestInspect(t *testing.T) {
	fx, err := fixture.Load("llama_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "inspect", "--json", fx.Dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Architecture string `json:"architecture"`
		Parameters   int64  `json:"parameters"`
		Units        []struct{ Name string }
		Tensors      []struct{ Name string }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Architecture != "LlamaForCausalLM" || got.Parameters != 106816 || len(got.Units) != 5 || len(got.Tensors) != 21 {
		t.Errorf("inspect: %+v", got)
	}
	code, out, _ = runCLI(t, "inspect", fx.Dir)
	if code != 0 || !strings.Contains(out, "model.layers.1.mlp.up_proj.weight") || !strings.Contains(out, "LlamaForCausalLM") {
		t.Errorf("table output:\n%s", out)
	}
}

// TestBadInput checks that bad flags, missing files, corrupt weights and unknown architectures give one clear
// error naming the problem and the right exit code.
func TestBadInput(t *testing.T) {
	fx, err := fixture.Load("llama_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// A checkpoint folder whose weights are truncated.
	corrupt := filepath.Join(dir, "corrupt")
	os.MkdirAll(corrupt, 0o755)
	copyFile(t, fx.Path("config.json"), filepath.Join(corrupt, "config.json"))
	data, _ := os.ReadFile(fx.Path("model.safetensors"))
	os.WriteFile(filepath.Join(corrupt, "model.safetensors"), data[:len(data)/2], 0o644)
	// A config with an unknown architecture.
	unknown := filepath.Join(dir, "unknown")
	os.MkdirAll(unknown, 0o755)
	os.WriteFile(filepath.Join(unknown, "config.json"), []byte(`{"architectures":["FooForCausalLM"],"model_type":"foo"}`), 0o644)
	copyFile(t, fx.Path("model.safetensors"), filepath.Join(unknown, "model.safetensors"))
	// A config missing required fields.
	missing := filepath.Join(dir, "missing")
	os.MkdirAll(missing, 0o755)
	os.WriteFile(filepath.Join(missing, "config.json"), []byte(`{"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":64}`), 0o644)
	copyFile(t, fx.Path("model.safetensors"), filepath.Join(missing, "model.safetensors"))
	// Weights of another model (seq-cls weights under a causal-LM config).
	wrong := filepath.Join(dir, "wrong")
	os.MkdirAll(wrong, 0o755)
	copyFile(t, fx.Path("config.json"), filepath.Join(wrong, "config.json"))
	seq, _ := fixture.Load("llama_seq_cls")
	copyFile(t, seq.Path("model.safetensors"), filepath.Join(wrong, "model.safetensors"))

	out := filepath.Join(dir, "o.safetensors")
	in := fx.Path("inputs.safetensors")
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"unknown flag", []string{"forward", "--nope"}, exitBadInput, []string{"unknown flag: --nope"}},
		{"missing flags", []string{"forward", "--model", fx.Dir}, exitBadInput, []string{"needs --model, --inputs and --out"}},
		{"no such model", []string{"forward", "--model", filepath.Join(dir, "nope"), "--inputs", in, "--out", out}, exitBadInput, []string{"--model " + filepath.Join(dir, "nope"), "no such file or folder"}}, // bad input, as a missing hub id
		{"truncated weights", []string{"forward", "--model", corrupt, "--inputs", in, "--out", out}, exitError, []string{"model.safetensors"}},
		{"unknown architecture", []string{"forward", "--model", unknown, "--inputs", in, "--out", out}, exitError, []string{"FooForCausalLM", "LlamaForCausalLM"}},
		{"missing config fields", []string{"forward", "--model", missing, "--inputs", in, "--out", out}, exitError, []string{"vocab_size", "num_hidden_layers"}},
		{"weights of another model", []string{"forward", "--model", wrong, "--inputs", in, "--out", out}, exitError, []string{"missing (1): lm_head.weight", "unexpected (1): score.weight"}},
		{"inputs are weights", []string{"forward", "--model", fx.Dir, "--inputs", fx.Path("model.safetensors"), "--out", out}, exitError, []string{"unexpected tensor", "lm_head.weight"}},
		{"grads without labels", []string{"forward", "--model", fx.Dir, "--inputs", writeIDsOnly(t, dir, in), "--out", out, "--grads"}, exitBadInput, []string{"no labels"}},
		{"bad backend", []string{"version", "--backend", "tpu"}, exitBadInput, []string{"unknown backend"}}, // a usage error: exit 2
		{"xla plugin missing", []string{"version", "--backend", "xla:/nonexistent/pjrt.so"}, exitError, []string{"/nonexistent/pjrt.so"}},
		{"xla relative plugin", []string{"version", "--backend", "xla:cuda"}, exitError, []string{"absolute path"}},
		{"inspect corrupt", []string{"inspect", corrupt}, exitError, []string{"model.safetensors"}},
	}
	if graph.XLAAvailable() {
		fake := filepath.Join(dir, "fake_plugin.so")
		os.WriteFile(fake, []byte("not a shared library"), 0o644)
		cases = append(cases, struct {
			name string
			args []string
			code int
			want []string
		}{"broken xla plugin", []string{"version", "--backend", "xla:" + fake}, exitError, []string{"fake_plugin.so", "failed to"}})
	} else {
		t.Log("built without XLA (no cgo or -tags noxla): the broken-plugin case does not apply")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, c.code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a failed run left %s behind", out)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeIDsOnly writes a batch with input_ids and attention_mask only.
func writeIDsOnly(t *testing.T, dir, from string) string {
	t.Helper()
	ck := mustCk(t, from)
	var recs []safetensors.Tensor
	for _, n := range []string{"input_ids", "attention_mask"} {
		rec, err := ck.Tensor(n)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	path := filepath.Join(dir, "ids.safetensors")
	if err := safetensors.WriteFile(path, recs, nil); err != nil {
		t.Fatal(err)
	}
	return path
}
