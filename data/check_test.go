package data

import (
	"strings"
	"testing"
)

// panicTok panics on text containing "boom", as a buggy third-party tokenizer might.
type panicTok struct{ charTok }

func (p panicTok) Encode(s string, special bool) ([]int, error) {
	if strings.Contains(s, "boom") {
		panic("index out of range [7] with length 3")
	}
	return p.charTok.Encode(s, special)
}

// TestBadRowsAreRowErrors: invalid UTF-8 (JSONL, CSV) and a tokenizer panic are errors naming the file and the
// row; --skip-bad-rows counts and skips them.
func TestBadRowsAreRowErrors(t *testing.T) {
	cases := []struct {
		name, file, content, want string
	}{
		{"jsonl invalid utf-8", "d.jsonl", "{\"text\":\"good row one\"}\n{\"text\":\"bad \xff\xfe row\"}\n{\"text\":\"good row two\"}\n", "line 2: not valid UTF-8 (byte 13 is 0xff)"},
		{"csv invalid utf-8", "d.csv", "text\ngood row one\nbad \xc3\x28 row\ngood row two\n", "record 3: field \"text\" is not valid UTF-8 (byte 4 is 0xc3)"},
		{"tokenizer panic", "d.jsonl", "{\"text\":\"good row one\"}\n{\"text\":\"boom\"}\n{\"text\":\"good row two\"}\n", "row 2: internal error while tokenizing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, c.file, c.content)
			for _, skip := range []bool{false, true} {
				rows, err := OpenRows(path, "")
				if err != nil {
					t.Fatal(err)
				}
				_, st, err := BuildDataset(rows, panicTok{}, FormatOptions{Task: TaskCausalLM, SeqLen: 4, SkipBadRows: skip})
				rows.Close()
				if !skip {
					if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
						t.Errorf("error %v; want it to name %s and %q", err, path, c.want)
					}
					continue
				}
				if err != nil || st.Skipped != 1 || st.Rows < 2 || !strings.Contains(st.FirstSkipped.Error(), c.want) {
					t.Errorf("--skip-bad-rows: err %v, stats %+v", err, st)
				}
			}
		})
	}
}

// TestCheckTokenIDs: pre-tokenized ids outside the vocabulary are an error naming the example; skipBad drops
// exactly those examples.
func TestCheckTokenIDs(t *testing.T) {
	ds := &TensorDataset{Path: "ids.safetensors", N: 3, Columns: map[string]Column{
		"input_ids":      {Shape: []int{3, 2}, Ints: []int64{1, 2, 3, 300, 4, 5}},
		"attention_mask": {Shape: []int{3, 2}, Ints: []int64{1, 1, 1, 1, 1, 1}},
	}}
	if _, _, err := CheckTokenIDs(ds, 256, false); err == nil || !strings.Contains(err.Error(), "example 1: input_ids[1] = 300 is outside the model's vocabulary [0, 256)") {
		t.Errorf("CheckTokenIDs: %v", err)
	}
	got, skipped, err := CheckTokenIDs(ds, 256, true)
	if err != nil || skipped != 1 || got.N != 2 || got.Columns["input_ids"].Ints[2] != 4 || got.Columns["attention_mask"].Shape[0] != 2 {
		t.Errorf("skip: %v, %d skipped, %+v", err, skipped, got)
	}
	neg := &TensorDataset{Path: "neg", N: 1, Columns: map[string]Column{"input_ids": {Shape: []int{1, 1}, Ints: []int64{-5}}}}
	if _, _, err := CheckTokenIDs(neg, 256, true); err == nil || !strings.Contains(err.Error(), "all 1 examples skipped") {
		t.Errorf("all bad: %v", err)
	}
}
