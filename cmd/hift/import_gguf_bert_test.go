package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/io/gguf"
	"github.com/hift-go/hift/io/torchbin"
)

// encoderCase is a tiny random encoder with a real vocabulary: BERT (WordPiece) and RoBERTa (BPE), as in
// TestExportGGUFEncoderEmbeddings; hidden 256 so that every K-quant applies without fallbacks.
type encoderCase struct {
	name, cfg, tok string
	ids            []int
}

func encoderCases(t *testing.T) []encoderCase {
	t.Helper()
	bertTok := filepath.Join(t.TempDir(), "tokenizer.json")
	gunzip(t, repoPath("testdata", "tokenizers", "bert", "tokenizer.json.gz"), bertTok)
	return []encoderCase{
		{"bert", `{"architectures":["BertForSequenceClassification"],"model_type":"bert","vocab_size":30522,
"hidden_size":256,"intermediate_size":512,"num_hidden_layers":2,"num_attention_heads":4,"max_position_embeddings":64}`,
			bertTok, []int{101, 7592, 1010, 2088, 999, 2023, 2003, 1037, 3231, 102}},
		{"roberta", `{"architectures":["RobertaForSequenceClassification"],"model_type":"roberta","vocab_size":512,
"hidden_size":256,"intermediate_size":512,"num_hidden_layers":2,"num_attention_heads":4,"max_position_embeddings":66,
"pad_token_id":1,"type_vocab_size":1,"layer_norm_eps":1e-5}`,
			repoPath("examples", "tiny-llama", "tokenizer.json"), []int{0, 300, 17, 42, 299, 400, 8, 77, 2}},
	}
}

// initEncoder writes the case's random model (hift init, seed 3) and returns its folder.
func initEncoder(t *testing.T, c encoderCase) string {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config-src.json")
	if err := os.WriteFile(cfgPath, []byte(c.cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, c.name)
	if code, _, stderr := runCLI(t, "init", "--config", cfgPath, "--tokenizer", c.tok, "--out", model, "--seed", "3"); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	return model
}

// exportImportEncoder exports model as a llama.cpp embedding GGUF of dtype and imports it back; it returns
// the GGUF file, the imported folder and import's stderr.
func exportImportEncoder(t *testing.T, model, dtype, pooling string) (string, string, string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, dtype+".gguf")
	if code, _, stderr := runCLI(t, "export", "--model", model, "--format", "gguf", "--embeddings-only", "--pooling", pooling, "--dtype", dtype, "--out", file); code != 0 {
		t.Fatalf("export --dtype %s: %s", dtype, stderr)
	}
	back := filepath.Join(dir, "back")
	code, _, stderr := runCLI(t, "import", "--in", file, "--out", back)
	if code != 0 {
		t.Fatalf("import of the %s embedding GGUF: exit %d: %s", dtype, code, stderr)
	}
	return file, back, stderr
}

// headlessLastHidden is the last hidden state [T·D] of an imported BertModel (see loadHeadless).
func headlessLastHidden(t *testing.T, dir string, ids []int) []float32 {
	t.Helper()
	return loadHeadless(t, dir).lastHidden(t, ids)
}

// loadHeadless loads an imported BertModel: hift has no class for a bare encoder, so it is loaded as a token
// classifier with a new head (as `hift train --task token_cls --init-head` loads it); the head does not
// touch the hidden states.
func loadHeadless(t *testing.T, dir string) *headless {
	t.Helper()
	cfg, err := graph.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := graph.RetargetConfig(cfg, graph.TaskTokenCls, 2); err != nil {
		t.Fatal(err)
	}
	m, err := graph.NewModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := torchbin.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	w, rep, err := graph.LoadWeightsWith(m, ck, graph.LoadOptions{InitHead: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range rep.Initialised {
		if !strings.HasPrefix(n, "classifier.") {
			t.Fatalf("loading the imported encoder created %s, which is not the new head's", n)
		}
	}
	be, err := graph.NewBackend("")
	if err != nil {
		t.Fatal(err)
	}
	return &headless{m, w, be}
}

// headless is a loaded encoder and the backend its weights live on.
type headless struct {
	m  *graph.Model
	w  map[string]*tensors.Tensor
	be backends.Backend
}

// lastHidden runs one sequence and returns its last hidden state [T·D].
func (h *headless) lastHidden(t *testing.T, ids []int) []float32 {
	t.Helper()
	in := make([]int64, len(ids))
	for i, id := range ids {
		in[i] = int64(id)
	}
	res, err := graph.RunForward(h.be, h.m, h.w, map[string]*tensors.Tensor{"input_ids": tensors.FromFlatDataAndDimensions(in, 1, len(ids))}, graph.ForwardOptions{Hidden: true})
	if err != nil {
		t.Fatal(err)
	}
	last := -1
	for k := range res {
		var i int
		if _, err := fmt.Sscanf(k, "hidden_states.%d", &i); err == nil && i > last {
			last = i
		}
	}
	if last < 0 {
		t.Fatal("forward returned no hidden states")
	}
	return tensors.MustCopyFlatData[float32](res[fmt.Sprintf("hidden_states.%d", last)])
}

// bertHFName maps a llama.cpp bert tensor name to BertModel's (written here independently of graph's table).
func bertHFName(gg string) string {
	top := map[string]string{"token_embd.weight": "embeddings.word_embeddings.weight", "position_embd.weight": "embeddings.position_embeddings.weight",
		"token_types.weight": "embeddings.token_type_embeddings.weight", "token_embd_norm.weight": "embeddings.LayerNorm.weight",
		"token_embd_norm.bias": "embeddings.LayerNorm.bias"}
	if n, ok := top[gg]; ok {
		return n
	}
	m := regexp.MustCompile(`^blk\.(\d+)\.(\w+)\.(weight|bias)$`).FindStringSubmatch(gg)
	if m == nil {
		return ""
	}
	part := map[string]string{"attn_q": "attention.self.query", "attn_k": "attention.self.key", "attn_v": "attention.self.value",
		"attn_output": "attention.output.dense", "attn_output_norm": "attention.output.LayerNorm", "ffn_up": "intermediate.dense",
		"ffn_down": "output.dense", "layer_output_norm": "output.LayerNorm"}[m[2]]
	if part == "" {
		return ""
	}
	return fmt.Sprintf("encoder.layer.%s.%s.%s", m[1], part, m[3])
}

// TestImportGGUFEncoderRoundTrip: a BERT and a RoBERTa exported as llama.cpp embedding models (f32) come back
// as HF BertModel checkpoints whose last hidden state equals the original's (bound 1e-5; RoBERTa's position
// rows were shifted by pad+1 on export, so the imported BERT computes the same positions), with the pooling
// recorded (config.json and sentence-transformers' modules.json) and the tokenizer files written. A Q8_0 export imports to exactly io/gguf's
// dequantization of each tensor (Δ 0), within half a quantization step (its scale
// rounded to fp16) of the original weights.
func TestImportGGUFEncoderRoundTrip(t *testing.T) {
	for _, c := range encoderCases(t) {
		t.Run(c.name, func(t *testing.T) {
			model := initEncoder(t, c)
			_, back, stderr := exportImportEncoder(t, model, "f32", "mean")
			t.Logf("import: %s", strings.TrimSpace(stderr))
			var cfg map[string]any
			b, err := os.ReadFile(filepath.Join(back, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &cfg); err != nil {
				t.Fatal(err)
			}
			wantTypes, wantCtx := 2.0, 64.0 // BERT's default type_vocab_size; RoBERTa: 66 positions less pad+1
			if c.name == "roberta" {
				wantTypes = 1
			}
			for k, want := range map[string]any{"model_type": "bert", "hift_gguf_pooling": "mean", "hidden_act": "gelu",
				"hidden_size": 256.0, "num_hidden_layers": 2.0, "num_attention_heads": 4.0, "intermediate_size": 512.0,
				"max_position_embeddings": wantCtx, "type_vocab_size": wantTypes} {
				if cfg[k] != want {
					t.Errorf("config.json %s = %v, want %v", k, cfg[k], want)
				}
			}
			if a, _ := cfg["architectures"].([]any); len(a) != 1 || a[0] != "BertModel" {
				t.Errorf("config.json architectures %v, want [BertModel]", cfg["architectures"])
			}
			for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
				if _, err := os.Stat(filepath.Join(back, f)); err != nil {
					t.Errorf("import wrote no %s (TestImportGGUFTokenizers compares them): %v", f, err)
				}
			}
			var pool map[string]any
			if b, err := os.ReadFile(filepath.Join(back, "1_Pooling", "config.json")); err != nil {
				t.Errorf("no sentence-transformers pooling config: %v", err)
			} else if err := json.Unmarshal(b, &pool); err != nil || pool["pooling_mode_mean_tokens"] != true || pool["pooling_mode_cls_token"] != false {
				t.Errorf("1_Pooling/config.json %v (%v), want mean pooling", pool, err)
			}
			if _, err := os.Stat(filepath.Join(back, "modules.json")); err != nil {
				t.Errorf("no modules.json: %v", err)
			}

			want := hiftLastHidden(t, model, c.ids)
			got := headlessLastHidden(t, back, c.ids)
			if len(got) != len(want) {
				t.Fatalf("imported model's hidden state has %d values, the original's %d", len(got), len(want))
			}
			maxAbs := 0.0
			for i := range want {
				maxAbs = math.Max(maxAbs, math.Abs(float64(got[i]-want[i])))
			}
			t.Logf("%s → GGUF f32 → BertModel: last hidden state over %d tokens, max |Δ| %.3g", c.name, len(c.ids), maxAbs)
			if maxAbs > 1e-5 {
				t.Errorf("imported %s's last hidden state differs from the original's by %g (> 1e-5)", c.name, maxAbs)
			}

			file, qback, _ := exportImportEncoder(t, model, "q8_0", "cls")
			checkDequantized(t, file, qback, model, c.name == "roberta")
		})
	}
}

// checkDequantized compares every tensor of the imported folder with io/gguf's dequantization of the file
// (exact) and the Q8_0 ones with the original weights (within half a step, the fp16 scale's rounding added:
// |Δ| ≤ (1/2 + 127/2048)·amax/127 per block of 32).
func checkDequantized(t *testing.T, file, back, model string, roberta bool) {
	t.Helper()
	g, err := gguf.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ck, err := torchbin.Open(back)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	orig, err := torchbin.Open(model)
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	prefix, skip := "bert.", 0
	if roberta {
		prefix, skip = "roberta.", 2 // pad_token_id 1: the export dropped rows 0 and 1 of the positions
	}
	var q8, exact int
	maxStep := 0.0
	for _, ti := range g.Tensors {
		hf := bertHFName(ti.Name)
		if hf == "" {
			t.Errorf("GGUF tensor %s has no BertModel name in the test's table", ti.Name)
			continue
		}
		deq, err := g.Float32(ti)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ck.Float32(hf)
		if err != nil {
			t.Errorf("imported checkpoint: %v", err)
			continue
		}
		if !slices.Equal(got, deq) {
			t.Errorf("%s: imported values differ from io/gguf's dequantization of %s", hf, ti.Name)
			continue
		}
		exact++
		if ti.Type != gguf.TypeQ8_0 {
			continue
		}
		q8++
		src, err := orig.Float32(prefix + hf)
		if err != nil {
			t.Fatal(err)
		}
		if ti.Name == "position_embd.weight" {
			src = src[skip*ti.Shape[1]:]
		}
		for b := 0; b+32 <= len(src); b += 32 {
			amax := 0.0
			for _, v := range src[b : b+32] {
				amax = math.Max(amax, math.Abs(float64(v)))
			}
			step := amax / 127
			for i := b; i < b+32; i++ {
				d := math.Abs(float64(deq[i] - src[i]))
				if step > 0 {
					maxStep = math.Max(maxStep, d/step)
				}
				// half a step, plus the fp16 rounding of the block scale (relative 2^-11, times |q| ≤ 127)
				if d > step*(0.5+127.0/2048)+1e-7 {
					t.Fatalf("%s[%d]: dequantized %g, original %g: more than half a Q8_0 step (%g, scale in fp16) apart", hf, i, deq[i], src[i], step)
				}
			}
		}
	}
	t.Logf("q8_0 import: %d tensors equal io/gguf's dequantization (Δ 0), %d of them Q8_0, within %.3f of a step of the originals", exact, q8, maxStep)
	if q8 == 0 {
		t.Error("the q8_0 export has no Q8_0 tensor")
	}
	if exact != len(g.Tensors) {
		t.Errorf("%d of %d tensors checked exactly", exact, len(g.Tensors))
	}
}
