package data

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hift-go/hift/data/tokenizer"
	"github.com/parquet-go/parquet-go"
)

// charTok is a test tokenizer: one token per byte (id = byte + 3), BOS 1, EOS 2, PAD 0; it implements word
// alignment and offsets too.
type charTok struct{ left bool }

func (c charTok) Encode(s string, special bool) ([]int, error) {
	ids, _, _ := c.EncodeWithOffsets(s, special)
	return ids, nil
}
func (charTok) BOS() int { return 1 }
func (charTok) EOS() int { return 2 }
func (charTok) PAD() int { return 0 }
func (c charTok) PaddingSide() string {
	if c.left {
		return "left"
	}
	return "right"
}
func (charTok) EncodeWithOffsets(s string, special bool) ([]int, [][2]int, error) {
	var ids []int
	var offs [][2]int
	if special {
		ids, offs = append(ids, 1), append(offs, [2]int{0, 0})
	}
	for i := 0; i < len(s); i++ {
		ids, offs = append(ids, int(s[i])+3), append(offs, [2]int{i, i + 1})
	}
	return ids, offs, nil
}
func (c charTok) EncodeWords(words []string, special bool) ([]int, []int, error) {
	ids, wids := []int{}, []int{}
	if special {
		ids, wids = append(ids, 1), append(wids, -1)
	}
	for w, word := range words {
		for i := 0; i < len(word); i++ {
			ids, wids = append(ids, int(word[i])+3), append(wids, w)
		}
	}
	return ids, wids, nil
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func build(t *testing.T, path string, o FormatOptions) (*TensorDataset, Stats, error) {
	t.Helper()
	r, err := OpenRows(path, "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return BuildDataset(r, charTok{}, o)
}

func TestCausalLMPacking(t *testing.T) {
	p := writeFile(t, "d.jsonl", `{"text":"abc"}`+"\n\n"+`{"text":"de"}`+"\n"+`{"text":"fghij"}`+"\n")
	ds, st, err := build(t, p, FormatOptions{Task: TaskCausalLM, SeqLen: 4})
	if err != nil {
		t.Fatal(err)
	}
	// stream: 1 a b c 2 1 d e 2 1 f g h i j 2 = 16 tokens → 4 blocks of 4
	if ds.N != 4 || st.Rows != 3 {
		t.Fatalf("N=%d rows=%d", ds.N, st.Rows)
	}
	want := []int64{1, 'a' + 3, 'b' + 3, 'c' + 3, 2, 1, 'd' + 3, 'e' + 3}
	if got := ds.Columns["input_ids"].Ints[:8]; !slices.Equal(got, want) {
		t.Errorf("packed ids %v, want %v", got, want)
	}
	if !slices.Equal(ds.Columns["labels"].Ints, ds.Columns["input_ids"].Ints) {
		t.Error("labels differ from inputs for packed text")
	}
}

func TestPromptResponseMasksPrompt(t *testing.T) {
	p := writeFile(t, "d.jsonl", `{"q":"hi","a":"yo"}`+"\n")
	ds, _, err := build(t, p, FormatOptions{Task: TaskCausalLM, SeqLen: 8, PromptField: "q", ResponseField: "a", Template: "Q:{prompt}"})
	if err != nil {
		t.Fatal(err)
	}
	// 1 Q : h i | y o 2 → labels -100 ×5, y o 2, pad
	lab := ds.Columns["labels"].Ints
	if !slices.Equal(lab, []int64{-100, -100, -100, -100, -100, 'y' + 3, 'o' + 3, 2}) {
		t.Errorf("labels %v", lab)
	}
}

func TestSeqClsFromCSVAndParquet(t *testing.T) {
	csvPath := writeFile(t, "d.csv", "sentence,label\n\"good, very\",pos\nbad,neg\n")
	o := FormatOptions{Task: TaskSeqCls, SeqLen: 6, TextField: "sentence", Label2ID: map[string]int{"neg": 0, "pos": 1}, NumLabels: 2}
	ds, st, err := build(t, csvPath, o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.Columns["labels"].Ints, []int64{1, 0}) || st.Truncated != 1 {
		t.Errorf("labels %v truncated %d", ds.Columns["labels"].Ints, st.Truncated)
	}
	// Truncation keeps the closing token; padding fills with PAD and mask 0.
	if ids := ds.Columns["input_ids"].Ints[6:12]; !slices.Equal(ids, []int64{1, 'b' + 3, 'a' + 3, 'd' + 3, 0, 0}) {
		t.Errorf("row 2 ids %v", ids)
	}
	type rec struct {
		Text  string `parquet:"text"`
		Label int64  `parquet:"label"`
		Meta  struct {
			Source string `parquet:"source"`
		} `parquet:"meta"`
	}
	pq := filepath.Join(t.TempDir(), "d.parquet")
	rows := []rec{{Text: "hey", Label: 1}, {Text: "no", Label: 0}}
	rows[0].Meta.Source = "a"
	if err := parquet.WriteFile(pq, rows); err != nil {
		t.Fatal(err)
	}
	ds, _, err = build(t, pq, FormatOptions{Task: TaskSeqCls, SeqLen: 5, NumLabels: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.Columns["labels"].Ints, []int64{1, 0}) {
		t.Errorf("parquet labels %v", ds.Columns["labels"].Ints)
	}
	r, _ := OpenRows(pq, "")
	row, _ := r.Next()
	if v, ok := row.Field("meta.source"); !ok || v != "a" {
		t.Errorf("nested column meta.source = %v", v)
	}
	r.Close()
}

func TestBadRows(t *testing.T) {
	p := writeFile(t, "d.jsonl", `{"text":"ok","label":1}`+"\n"+`{"txt":"x","label":0}`+"\n"+`not json`+"\n"+`{"text":"ok","label":7}`+"\n"+`{"text":"fine","label":0}`+"\n")
	o := FormatOptions{Task: TaskSeqCls, SeqLen: 8, NumLabels: 2}
	_, _, err := build(t, p, o)
	if err == nil || !strings.Contains(err.Error(), "d.jsonl: row 2") || !strings.Contains(err.Error(), `no column "text"`) {
		t.Errorf("bad row error: %v", err)
	}
	o.SkipBadRows = true
	ds, st, err := build(t, p, o)
	if err != nil {
		t.Fatal(err)
	}
	if ds.N != 2 || st.Skipped != 3 {
		t.Errorf("N=%d skipped=%d (want 2, 3); first: %v", ds.N, st.Skipped, st.FirstSkipped)
	}
	empty := writeFile(t, "e.jsonl", "\n")
	if _, _, err := build(t, empty, o); err == nil || !strings.Contains(err.Error(), "no examples") {
		t.Errorf("empty dataset: %v", err)
	}
	if _, err := OpenRows(writeFile(t, "x.txt", "a"), ""); err == nil || !strings.Contains(err.Error(), "unknown dataset format") {
		t.Errorf("unknown format: %v", err)
	}
}

func TestTokenClsQAAndMultipleChoice(t *testing.T) {
	p := writeFile(t, "t.jsonl", `{"tokens":["ab","c"],"ner_tags":["B","O"]}`+"\n")
	ds, _, err := build(t, p, FormatOptions{Task: TaskTokenCls, SeqLen: 6, Label2ID: map[string]int{"O": 0, "B": 1}})
	if err != nil {
		t.Fatal(err)
	}
	if lab := ds.Columns["labels"].Ints; !slices.Equal(lab, []int64{-100, 1, -100, 0, -100, -100}) {
		t.Errorf("token-cls labels %v", lab)
	}
	q := writeFile(t, "q.jsonl", `{"question":"who","context":"it was bob","answers":{"text":["bob"],"answer_start":[7]}}`+"\n")
	ds, _, err = build(t, q, FormatOptions{Task: TaskQA, SeqLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	// [BOS] w h o ' ' i t ' ' w a s ' ' b o b: "bob" = tokens 12..14
	if s, e := ds.Columns["start_positions"].Ints[0], ds.Columns["end_positions"].Ints[0]; s != 12 || e != 14 {
		t.Errorf("QA span %d..%d, want 12..14", s, e)
	}
	mc := writeFile(t, "m.jsonl", `{"text":"x","choices":["a","bb","c"],"label":1}`+"\n"+`{"text":"y","choices":["d","e","f"],"label":2}`+"\n")
	ds, _, err = build(t, mc, FormatOptions{Task: TaskMultipleChoice, SeqLen: 5, NumLabels: 3})
	if err != nil {
		t.Fatal(err)
	}
	if ds.N != 2 || !slices.Equal(ds.Columns["input_ids"].Shape, []int{2, 3, 5}) || !slices.Equal(ds.Columns["labels"].Ints, []int64{1, 2}) {
		t.Errorf("MC N=%d shape %v labels %v", ds.N, ds.Columns["input_ids"].Shape, ds.Columns["labels"].Ints)
	}
}

// TestQAStride: a long context becomes overlapping windows; the window holding the whole answer points at
// it, the others at token 0.
func TestQAStride(t *testing.T) {
	q := writeFile(t, "q.jsonl", `{"question":"who","context":"it was bob and then more text here","answers":{"text":["bob"],"answer_start":[7]}}`+"\n")
	ds, _, err := build(t, q, FormatOptions{Task: TaskQA, SeqLen: 12, DocStride: 2})
	if err != nil {
		t.Fatal(err)
	}
	if ds.N < 3 {
		t.Fatalf("%d windows, want several", ds.N)
	}
	ids := ds.Columns["input_ids"].Ints
	found := 0
	for w := 0; w < ds.N; w++ {
		row := ids[w*12 : (w+1)*12]
		if row[0] != 1 || row[1] != 'w'+3 || row[4] != ' '+3 {
			t.Errorf("window %d does not start with [BOS] who: %v", w, row)
		}
		s, e := ds.Columns["start_positions"].Ints[w], ds.Columns["end_positions"].Ints[w]
		if s == 0 && e == 0 {
			continue
		}
		found++
		var span []byte
		for _, id := range row[s : e+1] {
			span = append(span, byte(id-3))
		}
		if string(span) != "bob" {
			t.Errorf("window %d answer span %q", w, span)
		}
	}
	if found == 0 {
		t.Errorf("no window holds the answer")
	}
}

// TestCacheDirSpillsAndMaps: with a cache folder the columns go to disk in chunks and come back
// memory-mapped, identical to the in-memory build.
func TestCacheDirSpillsAndMaps(t *testing.T) {
	var sb strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&sb, `{"text":"paragraph %d of the book","label":%d}`+"\n", i, i%2)
	}
	p := writeFile(t, "d.jsonl", sb.String())
	for _, task := range []string{TaskCausalLM, TaskSeqCls} {
		mem, _, err := build(t, p, FormatOptions{Task: task, SeqLen: 8, NumLabels: 2})
		if err != nil {
			t.Fatal(err)
		}
		r, _ := OpenRows(p, "")
		cache := t.TempDir()
		disk, _, err := BuildDataset(r, charTok{}, FormatOptions{Task: task, SeqLen: 8, NumLabels: 2, CacheDir: cache, spillAt: 16})
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if disk.N != mem.N {
			t.Fatalf("%s: %d examples on disk, %d in memory", task, disk.N, mem.N)
		}
		for name, c := range mem.Columns {
			if !slices.Equal(disk.Columns[name].Ints, c.Ints) || !slices.Equal(disk.Columns[name].Shape, c.Shape) {
				t.Errorf("%s %s differs after spilling", task, name)
			}
		}
		files, _ := os.ReadDir(cache)
		if len(files) < 2 {
			t.Errorf("%s: cache holds %d files", task, len(files))
		}
	}
}

// TestChatTemplateFormatting: with the LLaMA-3 tokenizer's own chat template the loss covers exactly the
// assistant turn (its text and end-of-turn token), and the prompt carries the template's headers.
func TestChatTemplateFormatting(t *testing.T) {
	tok, err := tokenizer.Load(filepath.Join("..", "testdata", "tokenizers", "llama3"))
	if err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, "c.jsonl", `{"q":"What is light?","a":"Rays."}`+"\n")
	r, _ := OpenRows(p, "")
	defer r.Close()
	ds, _, err := BuildDataset(r, tok, FormatOptions{Task: TaskCausalLM, SeqLen: 48, PromptField: "q", ResponseField: "a", ChatTemplate: true})
	if err != nil {
		t.Fatal(err)
	}
	ids, labels := ds.Columns["input_ids"].Ints, ds.Columns["labels"].Ints
	var promptIDs, target []int
	for i, l := range labels {
		if ds.Columns["attention_mask"].Ints[i] == 0 {
			continue
		}
		if l == -100 {
			promptIDs = append(promptIDs, int(ids[i]))
		} else {
			target = append(target, int(l))
		}
	}
	got, _ := tok.Decode(target, false)
	if got != "Rays.<|eot_id|>" {
		t.Errorf("loss covers %q, want the assistant turn %q", got, "Rays.<|eot_id|>")
	}
	head, _ := tok.Decode(promptIDs, false)
	if !strings.HasPrefix(head, "<|begin_of_text|><|start_header_id|>user") || !strings.HasSuffix(head, "<|start_header_id|>assistant<|end_header_id|>\n\n") {
		t.Errorf("prompt %q", head)
	}
}

// TestConversationLoss: a multi-turn conversation is rendered with LLaMA-3's chat template and the loss
// covers exactly the assistant turns (text and end-of-turn token), nothing else.
func TestConversationLoss(t *testing.T) {
	tok, err := tokenizer.Load(filepath.Join("..", "testdata", "tokenizers", "llama3"))
	if err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, "m.jsonl", `{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is light?"},{"role":"assistant","content":"Rays."},{"role":"user","content":"And colour?"},{"role":"assistant","content":"Refrangibility."}]}`+"\n")
	r, _ := OpenRows(p, "")
	defer r.Close()
	ds, _, err := BuildDataset(r, tok, FormatOptions{Task: TaskCausalLM, SeqLen: 96, MessagesField: "messages"})
	if err != nil {
		t.Fatal(err)
	}
	ids, labels, mask := ds.Columns["input_ids"].Ints, ds.Columns["labels"].Ints, ds.Columns["attention_mask"].Ints
	var all, target []int
	for i := range ids {
		if mask[i] == 1 {
			all = append(all, int(ids[i]))
			if labels[i] != -100 {
				target = append(target, int(labels[i]))
			}
		}
	}
	got, _ := tok.Decode(target, false)
	if got != "Rays.<|eot_id|>Refrangibility.<|eot_id|>" {
		t.Errorf("loss covers %q", got)
	}
	text, _ := tok.Decode(all, false)
	want, _ := tok.ApplyChatTemplate([]tokenizer.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "What is light?"}, {Role: "assistant", Content: "Rays."}, {Role: "user", Content: "And colour?"}, {Role: "assistant", Content: "Refrangibility."}}, false)
	if !strings.HasPrefix(want, text) {
		t.Errorf("tokens decode to %q, not a prefix of the rendered conversation %q", text, want)
	}
}

// CSV/TSV labels are strings: "0"/"1" are class ids even when config.json names the classes (LABEL_0, ...).
func TestSeqClsNumericLabelsFromCSV(t *testing.T) {
	l2i := map[string]int{"LABEL_0": 0, "LABEL_1": 1, "LABEL_2": 2}
	for _, c := range []struct{ name, body string }{
		{"d.csv", "text,label\nab,2\ncd,0\nef, 1\n"},
		{"d.tsv", "text\tlabel\nab\t2\ncd\t0\nef\t1\n"},
	} {
		ds, _, err := build(t, writeFile(t, c.name, c.body), FormatOptions{Task: TaskSeqCls, SeqLen: 4, Label2ID: l2i, NumLabels: 3})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := ds.Columns["labels"].Ints; !slices.Equal(got, []int64{2, 0, 1}) {
			t.Errorf("%s: labels %v, want [2 0 1]", c.name, got)
		}
	}
	// Out of range and unknown names are errors that say what is accepted.
	for _, bad := range []string{"3", "-1", "neutral"} {
		_, _, err := build(t, writeFile(t, "b.csv", "text,label\nab,"+bad+"\n"), FormatOptions{Task: TaskSeqCls, SeqLen: 4, Label2ID: l2i, NumLabels: 3})
		if err == nil || !strings.Contains(err.Error(), "class id in [0, 3)") || !strings.Contains(err.Error(), "--label-names") {
			t.Errorf("label %q: err %v", bad, err)
		}
	}
}

// TestCausalLMAllEmptyText: a text dataset whose every row is empty is an error (it would train on special
// tokens only; HF's group_texts yields no examples), while one non-empty row among empty ones is fine.
func TestCausalLMAllEmptyText(t *testing.T) {
	p := writeFile(t, "e.jsonl", `{"text":""}`+"\n"+`{"text":""}`+"\n")
	_, _, err := build(t, p, FormatOptions{Task: TaskCausalLM, SeqLen: 4})
	if err == nil || !strings.Contains(err.Error(), "e.jsonl") || !strings.Contains(err.Error(), "empty") {
		t.Errorf("all-empty text: %v", err)
	}
	p = writeFile(t, "m.jsonl", `{"text":""}`+"\n"+`{"text":"ab"}`+"\n")
	if ds, _, err := build(t, p, FormatOptions{Task: TaskCausalLM, SeqLen: 4}); err != nil || ds.N == 0 {
		t.Errorf("one non-empty row: %v", err)
	}
}
