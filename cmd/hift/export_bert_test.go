package main

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/internal/validators"
)

// TestExportGGUFEncoderEmbeddings: a BERT (WordPiece vocabulary) and a RoBERTa (BPE) sequence classifier,
// exported with --embeddings-only, load in llama.cpp as its bert embedding model and give hift's last hidden
// state: the last token's vector (pooling none) and the mean over tokens (pooling mean). Without the flag
// the export is refused (the task head would be dropped). Bound 1.5e-3 (measured 7.3e-4 BERT, 8.2e-4
// RoBERTa): llama.cpp's bert graph computes ggml's CPU GELU, the tanh approximation through a float16 table,
// where HF's BERT uses the erf GELU in float32; graph's TestGGUFGELUEmulation shows that with that kernel
// emulated hift agrees with llama.cpp to 3e-5. (llama_embed.mjs turns flash attention off: on, llama.cpp
// casts an encoder's K and V to float16 and the difference was 1.4e-3.)
func TestExportGGUFEncoderEmbeddings(t *testing.T) {
	bertTok := filepath.Join(t.TempDir(), "tokenizer.json")
	gunzip(t, repoPath("testdata", "tokenizers", "bert", "tokenizer.json.gz"), bertTok)
	for _, c := range []struct {
		name, cfg, tok string
		ids            []int
	}{
		{"bert", `{"architectures":["BertForSequenceClassification"],"model_type":"bert","vocab_size":30522,
"hidden_size":256,"intermediate_size":512,"num_hidden_layers":2,"num_attention_heads":4,"max_position_embeddings":64}`,
			bertTok, []int{101, 7592, 1010, 2088, 999, 2023, 2003, 1037, 3231, 102}},
		{"roberta", `{"architectures":["RobertaForSequenceClassification"],"model_type":"roberta","vocab_size":512,
"hidden_size":256,"intermediate_size":512,"num_hidden_layers":2,"num_attention_heads":4,"max_position_embeddings":66,
"pad_token_id":1,"type_vocab_size":1,"layer_norm_eps":1e-5}`,
			repoPath("examples", "tiny-llama", "tokenizer.json"), []int{0, 300, 17, 42, 299, 400, 8, 77, 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cfgPath := filepath.Join(dir, "config-src.json")
			if err := os.WriteFile(cfgPath, []byte(c.cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			model := filepath.Join(dir, c.name)
			if code, _, stderr := runCLI(t, "init", "--config", cfgPath, "--tokenizer", c.tok, "--out", model, "--seed", "3"); code != 0 {
				t.Fatalf("init: %s", stderr)
			}
			code, _, stderr := runCLI(t, "export", "--model", model, "--format", "gguf", "--out", filepath.Join(dir, "head.gguf"))
			if code == 0 || !strings.Contains(stderr, "--embeddings-only") {
				t.Errorf("export of a task-head model without --embeddings-only: exit %d, %s", code, stderr)
			}
			var files []string
			for _, pooling := range []string{"none", "mean"} {
				f := filepath.Join(dir, pooling+".gguf")
				if code, _, stderr := runCLI(t, "export", "--model", model, "--format", "gguf", "--embeddings-only", "--pooling", pooling, "--out", f); code != 0 {
					t.Fatalf("export --pooling %s: %s", pooling, stderr)
				}
				files = append(files, f)
			}
			hidden := hiftLastHidden(t, model, c.ids)
			T, D := len(c.ids), len(hidden)/len(c.ids)
			want := [][]float64{make([]float64, D), make([]float64, D)}
			for d := range D {
				want[0][d] = float64(hidden[(T-1)*D+d])
				for p := range T {
					want[1][d] += float64(hidden[p*D+d]) / float64(T)
				}
			}
			js, _ := json.Marshal(c.ids)
			var ref struct {
				Embeddings [][]float64 `json:"embeddings"`
			}
			validators.Run(t, &ref, []string{"node-llama-cpp"}, "llama_embed.mjs", append([]string{string(js)}, files...)...)
			if len(ref.Embeddings) != 2 {
				t.Fatalf("llama.cpp returned %d embeddings for 2 files", len(ref.Embeddings))
			}
			for i, pooling := range []string{"none", "mean"} {
				got := ref.Embeddings[i]
				if len(got) != D {
					t.Fatalf("pooling %s: llama.cpp embedding of %d values, hift's hidden size is %d", pooling, len(got), D)
				}
				maxAbs := 0.0
				for d := range D {
					maxAbs = math.Max(maxAbs, math.Abs(got[d]-want[i][d]))
				}
				t.Logf("%s, pooling %s: llama.cpp vs hift embedding over %d tokens: max |Δ| %.3g", c.name, pooling, T, maxAbs)
				if maxAbs > 1.5e-3 {
					t.Errorf("%s, pooling %s: llama.cpp embedding differs from hift's last hidden state by %g (> 1.5e-3)", c.name, pooling, maxAbs)
				}
			}
		})
	}
}

// hiftLastHidden is hift's last hidden state [T·D] of one sequence.
func hiftLastHidden(t *testing.T, model string, ids []int) []float32 {
	t.Helper()
	m, w, err := graph.LoadModel(model)
	if err != nil {
		t.Fatal(err)
	}
	be, err := graph.NewBackend("")
	if err != nil {
		t.Fatal(err)
	}
	return (&headless{m, w, be}).lastHidden(t, ids)
}

func gunzip(t *testing.T, src, dst string) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
