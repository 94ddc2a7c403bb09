package data

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzRows: any JSONL, CSV or TSV file either formats into a dataset or fails with an error (with and without
// --skip-bad-rows), never a panic. Run: go test -run '^$' -fuzz '^FuzzRows$' -fuzztime 30s ./data.
func FuzzRows(f *testing.F) {
	f.Add([]byte("{\"text\":\"hello world\"}\n{\"text\":\"more\"}\n"), uint8(0))
	f.Add([]byte("{\"text\":\"bad \xff\"}\n{\"text\":[1,2]}\n{\"text\":null}\n{}\n[1]\n"), uint8(0))
	f.Add([]byte("{\"prompt\":\"q\",\"response\":\"a\",\"label\":1.5e300}\n"), uint8(0))
	f.Add([]byte("text,label\n\"quoted, comma\",1\nplain,2\n"), uint8(1))
	f.Add([]byte("text,label\n\"unterminated,1\n"), uint8(1))
	f.Add([]byte("text\tlabel\nhello\t1\n\"x\t2\n"), uint8(2))
	f.Fuzz(func(t *testing.T, content []byte, format uint8) {
		ext := []string{"jsonl", "csv", "tsv"}[int(format)%3]
		path := filepath.Join(t.TempDir(), "d."+ext)
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, task := range []string{TaskCausalLM, TaskSeqCls} {
			for _, skip := range []bool{false, true} {
				rows, err := OpenRows(path, "")
				if err != nil {
					return
				}
				_, _, _ = BuildDataset(rows, charTok{}, FormatOptions{Task: task, SeqLen: 8, SkipBadRows: skip, NumLabels: 3})
				rows.Close()
			}
		}
	})
}
