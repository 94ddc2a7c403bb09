package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hift-go/hift/data/tokenizer"
	"github.com/hift-go/hift/internal/validators"
	"github.com/hift-go/hift/io/gguf"
)

// TestImportGGUFNotAModel: a LoRA adapter GGUF (general.type adapter, as hift export --adapter and llama.cpp's
// convert_lora_to_gguf.py write it) and one part of a llama-gguf-split file are refused by what they are, in
// one line naming the file, where they used to fail on a missing size key or import a partial model; the
// tokenize command says the adapter carries no tokenizer instead of naming an empty tokenizer model.
func TestImportGGUFNotAModel(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "tiny.gguf")
	exportGGUF(t, repoPath("examples", "tiny-llama"), "q8_0", src)
	kvs, ts := ggufParts(t, src)

	adapter := filepath.Join(dir, "adapter.gguf")
	akvs := []gguf.KV{{Key: "general.architecture", Value: "llama"}, {Key: "general.type", Value: "adapter"},
		{Key: "adapter.type", Value: "lora"}, {Key: "adapter.lora.alpha", Value: float32(16)}}
	a := gguf.Tensor{Name: "blk.0.attn_q.weight.lora_a", Type: gguf.TypeF32, Shape: []int{2, 128}, Data: make([]byte, 2*128*4)}
	b := gguf.Tensor{Name: "blk.0.attn_q.weight.lora_b", Type: gguf.TypeF32, Shape: []int{128, 2}, Data: make([]byte, 2*128*4)}
	if err := gguf.WriteFile(adapter, akvs, []gguf.Tensor{a, b}); err != nil {
		t.Fatal(err)
	}
	checkImportFails(t, adapter, "is a lora adapter")

	split := filepath.Join(dir, "tiny-00001-of-00002.gguf")
	skvs := setKV(setKV(kvs, "split.no", uint32(0)), "split.count", uint32(2))
	if err := gguf.WriteFile(split, skvs, ts[:len(ts)/2]); err != nil {
		t.Fatal(err)
	}
	checkImportFails(t, split, "part 1 of a GGUF split into 2 files")

	var out bytes.Buffer
	err := runTokenize(&TokenizeOptions{f: &factory{stdout: &out, stderr: &out}, Tokenizer: adapter, in: strings.NewReader(`"x"` + "\n")})
	if err == nil || !strings.Contains(err.Error(), "holds no tokenizer") || !strings.Contains(err.Error(), "LoRA adapter") {
		t.Errorf("tokenize with an adapter GGUF: %v; want it to say the file holds no tokenizer, being an adapter", err)
	}
}

// TestGGUFByContentNotName: a GGUF renamed to .bin is still read as GGUF by tokenize (same ids as under its
// .gguf name) and inspect; a folder given to import --in is refused as a folder, not as a file without the
// GGUF magic (nor as an --out inside the input).
func TestGGUFByContentNotName(t *testing.T) {
	dir := t.TempDir()
	gz := repoPath("testdata", "gguf-vocab", "ggml-vocab-llama-spm.gguf.gz")
	named := filepath.Join(dir, "spm.gguf")
	gunzip(t, gz, named)
	renamed := filepath.Join(dir, "spm.bin")
	gunzip(t, gz, renamed)
	text := `"Hello world, <s> and ünïcode"` + "\n" + `""` + "\n"
	tok := func(path string) string {
		var out bytes.Buffer
		if err := runTokenize(&TokenizeOptions{f: &factory{stdout: &out, stderr: &out}, Tokenizer: path, in: strings.NewReader(text)}); err != nil {
			t.Fatalf("tokenize --tokenizer %s: %v", path, err)
		}
		return out.String()
	}
	want, got := tok(named), tok(renamed)
	t.Logf("ids: %s", strings.ReplaceAll(want, "\n", " "))
	if got != want || strings.Count(want, "\n") != 2 {
		t.Errorf("tokenize of the GGUF renamed .bin gave %q, under .gguf %q", got, want)
	}
	code, stdout, stderr := runCLI(t, "inspect", renamed)
	if code != 0 || !strings.Contains(stdout, "(GGUF)") || !strings.Contains(stdout, "tokenizer.ggml.model") {
		t.Errorf("inspect of a GGUF named .bin: exit %d: %.300s %s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, "import", "--in", dir, "--out", filepath.Join(dir, "out"))
	if code != 2 || !strings.Contains(stderr, "is a folder") {
		t.Errorf("import --in FOLDER: exit %d: %s; want exit 2 saying it is a folder", code, stderr)
	}
}

// TestExportGGUFOutPaths: --out into folders that do not exist yet (with spaces in their names) is created,
// as import creates its --out's parents; a device such as /dev/null is refused even with --overwrite (the
// temp-file-and-rename write would otherwise replace the device node); a parent that is a file is an error
// naming --out, with nothing written.
func TestExportGGUFOutPaths(t *testing.T) {
	dir := t.TempDir()
	model := repoPath("examples", "tiny-llama")
	out := filepath.Join(dir, "new folder", "sub dir", "tiny q8.gguf")
	if code, _, stderr := runCLI(t, "export", "--model", model, "--format", "gguf", "--dtype", "q8_0", "--out", out); code != 0 {
		t.Fatalf("export into a missing folder: exit %d: %s", code, stderr)
	}
	if g, err := gguf.Open(out); err != nil {
		t.Errorf("reading the export back: %v", err)
	} else {
		t.Logf("%s: %d tensors", out, len(g.Tensors))
		g.Close()
	}
	if st, err := os.Stat(os.DevNull); err == nil && st.Mode()&os.ModeDevice != 0 {
		code, _, stderr := runCLI(t, "export", "--model", model, "--format", "gguf", "--out", os.DevNull, "--overwrite")
		if code != 2 || !strings.Contains(stderr, "not a regular file") {
			t.Errorf("export --out %s --overwrite: exit %d: %s; want exit 2, not a regular file", os.DevNull, code, stderr)
		}
		if st, err := os.Stat(os.DevNull); err != nil || st.Mode()&os.ModeDevice == 0 {
			t.Fatalf("%s is no longer a device: %v %v", os.DevNull, st.Mode(), err)
		}
	}
	blocker := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "export", "--model", model, "--format", "gguf", "--out", filepath.Join(blocker, "x.gguf"))
	if code == 0 || !strings.Contains(stderr, "--out") || !strings.Contains(stderr, "cannot create its folder") {
		t.Errorf("export under a file: exit %d: %s; want an error naming --out and its folder", code, stderr)
	}
}

// TestGGUFRoundTripTwice: export → import → export again gives the same file up to general.name (the folder
// name): every metadata key (tokenizer.ggml.unknown_token_id too, which the imported tokenizer_config.json
// used to drop) and every tensor byte, for F32 and Q8_0 (re-quantizing Q8_0's dequantized values is exact).
func TestGGUFRoundTripTwice(t *testing.T) {
	for _, dtype := range []string{"f32", "q8_0"} {
		t.Run(dtype, func(t *testing.T) {
			dir := t.TempDir()
			first := filepath.Join(dir, "first.gguf")
			exportGGUF(t, repoPath("examples", "tiny-llama"), dtype, first)
			back := filepath.Join(dir, "back")
			if code, _, stderr := runCLI(t, "import", "--in", first, "--out", back); code != 0 {
				t.Fatalf("import: exit %d: %s", code, stderr)
			}
			second := filepath.Join(dir, "second.gguf")
			exportGGUF(t, back, dtype, second)
			kv1, ts1 := ggufParts(t, first)
			kv2, ts2 := ggufParts(t, second)
			m2 := map[string]any{}
			for _, kv := range kv2 {
				m2[kv.Key] = kv.Value
			}
			for _, kv := range kv1 {
				v, ok := m2[kv.Key]
				switch {
				case kv.Key == "general.name":
				case !ok:
					t.Errorf("%s is missing after import and export", kv.Key)
				case fmt.Sprint(v) != fmt.Sprint(kv.Value):
					t.Errorf("%s: %.100v, was %.100v", kv.Key, v, kv.Value)
				}
				delete(m2, kv.Key)
			}
			for k := range m2 {
				t.Errorf("%s appears after import and export", k)
			}
			if len(ts1) != len(ts2) {
				t.Fatalf("%d tensors, was %d", len(ts2), len(ts1))
			}
			for i := range ts1 {
				if ts1[i].Name != ts2[i].Name || ts1[i].Type != ts2[i].Type || !bytes.Equal(ts1[i].Data, ts2[i].Data) {
					t.Errorf("tensor %s (%s) differs after import and export", ts1[i].Name, gguf.TypeName(ts1[i].Type))
				}
			}
			t.Logf("%s: %d keys, %d tensors compared", dtype, len(kv1), len(ts1))
		})
	}
}

// TestExportFromGGUF: `hift export --model X.gguf --dtype T` re-types a GGUF as llama-quantize does: an F32
// file exported again as q8_0 is byte for byte the q8_0 export of the checkpoint it came from (general.name
// kept), a quantized input gets a note about the added rounding, and what cannot be re-typed (a vocab-only
// file, an --adapter or --format onnx from a GGUF, a checkpoint file instead of a folder) is refused in one line.
func TestExportFromGGUF(t *testing.T) {
	dir := t.TempDir()
	model := repoPath("examples", "tiny-llama")
	f32 := filepath.Join(dir, "tiny.gguf")
	exportGGUF(t, model, "f32", f32)
	direct := filepath.Join(dir, "direct-q8_0.gguf")
	exportGGUF(t, model, "q8_0", direct)
	retyped := filepath.Join(dir, "retyped-q8_0.gguf")
	code, _, stderr := runCLI(t, "export", "--model", f32, "--dtype", "q8_0", "--out", retyped)
	if code != 0 {
		t.Fatalf("export --model F32.gguf: exit %d: %s", code, stderr)
	}
	a, err1 := os.ReadFile(direct)
	b, err2 := os.ReadFile(retyped)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	t.Logf("direct %d bytes, re-typed %d bytes", len(a), len(b))
	if !bytes.Equal(a, b) {
		t.Errorf("q8_0 re-typed from the F32 GGUF differs from the q8_0 export of the checkpoint")
	}
	code, _, stderr = runCLI(t, "export", "--model", retyped, "--dtype", "q4_0", "--out", filepath.Join(dir, "q4_0.gguf"))
	if code != 0 || !strings.Contains(stderr, "holds quantized tensors (Q8_0)") {
		t.Errorf("export from a q8_0 GGUF: exit %d: %s; want success with a note on the quantized input", code, stderr)
	}
	vocab := filepath.Join(dir, "vocab.gguf")
	gunzip(t, repoPath("testdata", "gguf-vocab", "ggml-vocab-gpt-2.gguf.gz"), vocab)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", vocab, "--out", filepath.Join(dir, "v.gguf")}, "holds no tensors"},
		{[]string{"--model", f32, "--adapter", dir, "--out", filepath.Join(dir, "a.gguf")}, "--adapter needs the base model's checkpoint folder"},
		{[]string{"--model", f32, "--format", "onnx", "--out", filepath.Join(dir, "onnx")}, "import it first"},
		{[]string{"--model", filepath.Join(model, "model.safetensors"), "--out", filepath.Join(dir, "s.gguf")}, "give the checkpoint folder"},
	} {
		code, _, stderr := runCLI(t, append([]string{"export"}, c.args...)...)
		if code == 0 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("export %v: exit %d: %s; want one error line saying %q", c.args, code, stderr, c.want)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("a temporary %s is left in %s", e.Name(), dir)
		}
	}
}

// TestTrainExportGGUFRefusedBeforeTraining: --export-gguf on a model llama.cpp cannot run (a LLaMA sequence
// classifier, an OPT) is refused before the first step, with exit 2 and the exporter's reason, where it used
// to train to the end and fail at the export.
func TestTrainExportGGUFRefusedBeforeTraining(t *testing.T) {
	for _, c := range []struct {
		fixture string
		args    []string
		want    string
	}{
		{"llama_seq_cls", []string{"--task", "seq_cls", "--data", repoPath("examples", "data", "opticks-topics.jsonl")}, "is not a causal LM"},
		{"opt_causal_lm", []string{"--data", repoPath("examples", "data", "opticks-queries.jsonl"), "--seq-len", "32"}, `model_type "opt"`},
	} {
		t.Run(c.fixture, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			args := append([]string{"train", "--model", repoPath("testdata", "fixtures", c.fixture), "--steps", "2", "--export-gguf", "q8_0", "--output", out}, c.args...)
			code, _, stderr := runCLI(t, args...)
			t.Logf("exit %d: %s", code, strings.TrimSpace(stderr))
			if code != 2 || !strings.Contains(stderr, "--export-gguf q8_0") || !strings.Contains(stderr, c.want) {
				t.Errorf("want exit 2 naming --export-gguf and %q", c.want)
			}
			if _, err := os.Stat(filepath.Join(out, "metrics.jsonl")); err == nil {
				t.Errorf("the run trained before refusing: %s exists", filepath.Join(out, "metrics.jsonl"))
			}
		})
	}
}

// TestTokenizeDecodeGGUFSpecial: --decode --add-special-tokens keeps a SentencePiece GGUF's <s> and </s> in the
// text, written as themselves (not JSON's "\u003cs\u003e"), and leaves them out without the flag; --format is
// read case-insensitively (--format GGUF).
func TestTokenizeDecodeGGUFSpecial(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "spm.gguf")
	gunzip(t, repoPath("testdata", "gguf-vocab", "ggml-vocab-llama-spm.gguf.gz"), file)
	decode := func(special bool) string {
		var out bytes.Buffer
		opts := &TokenizeOptions{f: &factory{stdout: &out, stderr: &out}, Tokenizer: file, Decode: true, AddSpecial: special, in: strings.NewReader("[1, 15043, 2]\n")}
		if err := runTokenize(opts); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out.String())
	}
	with, without := decode(true), decode(false)
	t.Logf("with special tokens %s, without %s", with, without)
	if with != `"<s> Hello</s>"` || without != `"Hello"` {
		t.Errorf("decode [1 15043 2]: %s with --add-special-tokens, %s without; want \"<s> Hello</s>\" and \"Hello\"", with, without)
	}
	out := filepath.Join(dir, "tiny.gguf")
	if code, _, stderr := runCLI(t, "export", "--model", repoPath("examples", "tiny-llama"), "--format", "GGUF", "--out", out); code != 0 {
		t.Errorf("export --format GGUF: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "import", "--format", "GGUF", "--in", out, "--out", filepath.Join(dir, "back")); code != 0 {
		t.Errorf("import --format GGUF: exit %d: %s", code, stderr)
	}
}

// TestGGUFEncoderRoundTripTwice: a BERT (WordPiece) and a RoBERTa (byte-level BPE) embedding GGUF imported by
// hift (an HF BertModel without a head, its pooling in hift_gguf_pooling, the WordPiece normalizer wrapped in
// llama.cpp's Replace steps) export again without any flag, as an embedding model with the pooling they had:
// the same bytes up to general.name, and `export --model FILE.gguf` gives the very bytes. The BertModel used
// to be refused ("unsupported architecture"), and so was the imported WordPiece normalizer.
func TestGGUFEncoderRoundTripTwice(t *testing.T) {
	for _, c := range encoderCases(t) {
		t.Run(c.name, func(t *testing.T) {
			model := initEncoder(t, c)
			first, back, _ := exportImportEncoder(t, model, "q8_0", "cls")
			again := filepath.Join(t.TempDir(), "again.gguf")
			if code, _, stderr := runCLI(t, "export", "--model", back, "--dtype", "q8_0", "--out", again); code != 0 {
				t.Fatalf("export of the imported encoder: exit %d: %s", code, stderr)
			}
			kv1, ts1 := ggufParts(t, first)
			kv2, ts2 := ggufParts(t, again)
			kv2 = setKV(kv2, "general.name", setKVValue(kv1, "general.name"))
			var b1, b2 bytes.Buffer
			fmt.Fprint(&b1, kv1)
			fmt.Fprint(&b2, kv2)
			if b1.String() != b2.String() {
				t.Errorf("metadata differs after import and export:\n%.600s\n%.600s", b1.String(), b2.String())
			}
			if len(ts1) != len(ts2) {
				t.Fatalf("%d tensors, was %d", len(ts2), len(ts1))
			}
			for i := range ts1 {
				if ts1[i].Name != ts2[i].Name || !bytes.Equal(ts1[i].Data, ts2[i].Data) {
					t.Errorf("tensor %s differs after import and export", ts1[i].Name)
				}
			}
			direct := filepath.Join(t.TempDir(), "direct.gguf")
			if code, _, stderr := runCLI(t, "export", "--model", first, "--dtype", "q8_0", "--out", direct); code != 0 {
				t.Fatalf("export --model FILE.gguf: exit %d: %s", code, stderr)
			}
			a, _ := os.ReadFile(first)
			b, _ := os.ReadFile(direct)
			if !bytes.Equal(a, b) {
				t.Errorf("export --model %s --dtype q8_0 is not the same bytes (%d vs %d)", first, len(b), len(a))
			}
			t.Logf("%d keys, %d tensors compared; %d bytes", len(kv1), len(ts1), len(a))
		})
	}
}

// setKVValue is the value of key in kvs (nil when absent).
func setKVValue(kvs []gguf.KV, key string) any {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value
		}
	}
	return nil
}

// TestGGUFAsModelFolder: a GGUF file (also one named .bin) given as --model to a command that needs a
// checkpoint folder is refused with exit 2 saying to import it, where it used to fail parsing config.json
// ("config: x.gguf: not a JSON object"); export (which re-types it) and tokenize --tokenizer still take it.
func TestGGUFAsModelFolder(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tiny.gguf")
	exportGGUF(t, repoPath("examples", "tiny-llama"), "q8_0", file)
	renamed := filepath.Join(dir, "tiny.bin")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(renamed, b, 0o644); err != nil {
		t.Fatal(err)
	}
	data := repoPath("examples", "data", "opticks-queries-eval.jsonl")
	for _, args := range [][]string{
		{"generate", "--model", file, "--prompt", "Query", "--max-new-tokens", "2"},
		{"eval", "--model", renamed, "--data", data},
		{"train", "--model", file, "--data", data, "--steps", "1", "--output", filepath.Join(dir, "run")},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != 2 || !strings.Contains(stderr, "is a GGUF file") || !strings.Contains(stderr, "hift import --in") {
			t.Errorf("%v: exit %d: %s; want exit 2 saying to import the GGUF", args, code, stderr)
		}
	}
	if code, _, stderr := runCLI(t, "export", "--model", renamed, "--dtype", "q8_0", "--out", filepath.Join(dir, "again.gguf")); code != 0 {
		t.Errorf("export --model GGUF.bin: exit %d: %s", code, stderr)
	}
}

// TestInspectGGUFSummary: inspect says in one line what a GGUF is — a model with its architecture, tensor and
// parameter counts and types, a LoRA adapter, a vocab-only file (and then prints no empty tensor table) —
// and --json gives each tensor's type name and the totals.
func TestInspectGGUFSummary(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "tiny.gguf")
	exportGGUF(t, repoPath("examples", "tiny-llama"), "q8_0", model)
	vocab := filepath.Join(dir, "vocab.gguf")
	gunzip(t, repoPath("testdata", "gguf-vocab", "ggml-vocab-gpt-2.gguf.gz"), vocab)
	code, stdout, stderr := runCLI(t, "inspect", model)
	if code != 0 || !strings.Contains(stdout, "summary:  llama model, 39 tensors, 869504 parameters") || !strings.Contains(stdout, "Q8_0") {
		t.Errorf("inspect model: exit %d: %.400s %s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "inspect", vocab)
	if code != 0 || !strings.Contains(stdout, "vocab-only file (no tensors), tokenizer gpt2") || strings.Contains(stdout, "NAME") {
		t.Errorf("inspect vocab-only: exit %d: %.400s %s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "inspect", model, "--json")
	var js struct {
		Parameters int64          `json:"parameters"`
		Types      map[string]int `json:"types"`
		Tensors    []struct {
			TypeName string `json:"type_name"`
		} `json:"tensors"`
	}
	if err := json.Unmarshal([]byte(stdout), &js); code != 0 || err != nil {
		t.Fatalf("inspect --json: exit %d, %v: %s", code, err, stderr)
	}
	n := 0
	for _, c := range js.Types {
		n += c
	}
	t.Logf("--json: %d parameters, types %v", js.Parameters, js.Types)
	if js.Parameters != 869504 || n != len(js.Tensors) || len(js.Tensors) == 0 || js.Tensors[0].TypeName == "" {
		t.Errorf("inspect --json: parameters %d, types %v for %d tensors", js.Parameters, js.Types, len(js.Tensors))
	}
}

// TestTrainResumeExportGGUF: --export-gguf on a resumed run writes the GGUF into the resumed run's --output;
// a resume without --output is told it needs --output, not that --export-gguf "cannot be combined with
// --no-save" (the flag check used to run before the resumed settings were known).
func TestTrainResumeExportGGUF(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "first")
	if code, _, stderr := runCLI(t, "train", "--model", repoPath("examples", "tiny-llama"), "--data", repoPath("examples", "data", "opticks-queries.jsonl"),
		"--seq-len", "32", "--batch-size", "2", "--steps", "2", "--save-every", "1", "--output", first); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	ck := filepath.Join(first, "checkpoint-1")
	code, _, stderr := runCLI(t, "train", "--resume", ck, "--steps", "2", "--export-gguf", "q8_0")
	if code == 0 || strings.Contains(stderr, "--no-save)") && strings.Contains(stderr, "--export-gguf needs") || !strings.Contains(stderr, "--output") {
		t.Errorf("resume without --output: exit %d: %s; want the missing --output named", code, stderr)
	}
	out := filepath.Join(dir, "resumed")
	if code, _, stderr := runCLI(t, "train", "--resume", ck, "--steps", "2", "--output", out, "--export-gguf", "q8_0"); code != 0 {
		t.Fatalf("resume --export-gguf: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "model-q8_0.gguf")); err != nil {
		t.Errorf("resumed run: %v", err)
	}
}

// TestTokenizeLongLine: a stdin line above the 64 MiB limit is refused saying so (bufio's "token too long"
// before), and a 1 MB text tokenizes with a GGUF tokenizer into ids that decode back to it.
func TestTokenizeLongLine(t *testing.T) {
	file := filepath.Join(t.TempDir(), "gpt2.gguf")
	gunzip(t, repoPath("testdata", "gguf-vocab", "ggml-vocab-gpt-2.gguf.gz"), file)
	var out bytes.Buffer
	err := runTokenize(&TokenizeOptions{f: &factory{stdout: &out, stderr: &out}, Tokenizer: file,
		in: strings.NewReader(`"` + strings.Repeat("a", maxTokenizeLine+1) + `"` + "\n")})
	if err == nil || !strings.Contains(err.Error(), "longer than 64 MiB") {
		t.Errorf("a 64 MiB line: %v; want it refused as too long", err)
	}
	line := "Light is propagated from luminous Bodies in time, 1234567 ünïcode\n"
	text := strings.Repeat(line, (1<<20)/len(line)+1) // just over 1 MB
	in, _ := json.Marshal(text)
	out.Reset()
	if err := runTokenize(&TokenizeOptions{f: &factory{stdout: &out, stderr: &out}, Tokenizer: file, in: bytes.NewReader(append(in, '\n'))}); err != nil {
		t.Fatal(err)
	}
	ids := out.Bytes()
	out.Reset()
	if err := runTokenize(&TokenizeOptions{f: &factory{stdout: &out, stderr: &out}, Tokenizer: file, Decode: true, in: bytes.NewReader(ids)}); err != nil {
		t.Fatal(err)
	}
	var back string
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || back != text {
		t.Errorf("1 MB text: decoded back %d bytes (err %v), want the %d bytes given", len(back), err, len(text))
	}
	t.Logf("1 MB text: %d bytes of ids JSON", len(ids))
}

// TestExportAdapterDType: export --adapter honours --dtype f16/bf16 (it wrote F32 whatever --dtype said) and
// llama.cpp applies the F16 adapter as the F32 one (logits within 2e-3, LoRA B rounded to float16); a block
// quantization is refused (rank-8 rows do not fill a block), and a folder without adapter_config.json is
// named as not a LoRA folder.
func TestExportAdapterDType(t *testing.T) {
	dir := t.TempDir()
	base := repoPath("examples", "tiny-llama")
	run := filepath.Join(dir, "lora-run")
	if code, _, stderr := runCLI(t, "train", "--model", base, "--data", repoPath("examples", "data", "opticks-queries.jsonl"), "--seq-len", "32",
		"--batch-size", "2", "--steps", "3", "--lr", "1e-2", "--lora", "--output", run); code != 0 {
		t.Fatalf("train --lora: exit %d: %s", code, stderr)
	}
	baseFile := filepath.Join(dir, "base.gguf")
	exportGGUF(t, base, "f32", baseFile)
	files := map[string]string{}
	for _, d := range []string{"f32", "f16", "bf16"} {
		files[d] = filepath.Join(dir, "lora-"+d+".gguf")
		if code, _, stderr := runCLI(t, "export", "--model", base, "--adapter", run, "--dtype", d, "--out", files[d]); code != 0 {
			t.Fatalf("export --adapter --dtype %s: exit %d: %s", d, code, stderr)
		}
		g, err := gguf.Open(files[d])
		if err != nil {
			t.Fatal(err)
		}
		for _, ti := range g.Tensors {
			if got := strings.ToLower(gguf.TypeName(ti.Type)); got != d {
				t.Errorf("--dtype %s: %s is %s", d, ti.Name, got)
			}
		}
		g.Close()
	}
	for _, c := range []struct{ args []string }{
		{[]string{"--adapter", run, "--dtype", "q8_0"}},
		{[]string{"--adapter", base}},
	} {
		code, _, stderr := runCLI(t, append([]string{"export", "--model", base, "--out", filepath.Join(dir, "x.gguf")}, c.args...)...)
		if code != 2 || (!strings.Contains(stderr, "f32, f16 or bf16") && !strings.Contains(stderr, "not a PEFT LoRA folder")) {
			t.Errorf("export %v: exit %d: %s", c.args, code, stderr)
		}
	}
	validators.Require(t, "node-llama-cpp")
	tok, err := tokenizer.Load(base)
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := tok.Encode("Query 1. Do not Bodies act upon Light at a distance?", false)
	js, _ := json.Marshal([][]int{ids})
	seqPath := filepath.Join(dir, "seqs.json")
	if err := os.WriteFile(seqPath, js, 0o644); err != nil {
		t.Fatal(err)
	}
	logits := map[string][][][]float64{}
	for _, d := range []string{"f32", "f16"} {
		var res struct {
			Logits [][][]float64 `json:"logits"`
		}
		validators.Run(t, &res, []string{"node-llama-cpp"}, "llama_logits_lora.mjs", seqPath, baseFile, files[d])
		logits[d] = res.Logits
	}
	maxAbs := 0.0
	for p := range logits["f32"][0] {
		for v := range logits["f32"][0][p] {
			maxAbs = math.Max(maxAbs, math.Abs(logits["f32"][0][p][v]-logits["f16"][0][p][v]))
		}
	}
	t.Logf("llama.cpp logits with the F16 vs the F32 adapter: max |Δ| %.3g over %d positions", maxAbs, len(ids))
	if maxAbs > 2e-3 || math.IsNaN(maxAbs) {
		t.Errorf("the F16 adapter moves llama.cpp's logits by %g (> 2e-3)", maxAbs)
	}
}
