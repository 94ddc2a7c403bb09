// Command opticks turns Isaac Newton's Opticks (1730, public domain; the Project Gutenberg text that ships
// with the Go toolchain as $GOROOT/src/testdata/Isaac.Newton-Opticks.txt) into the demo datasets:
// one JSON line {"text": paragraph} per paragraph, split into the books (pre-training) and the Queries
// (fine-tuning, with the last paragraphs held out for evaluation).
//
//	go run ./scripts/opticks -out examples/data
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

func main() {
	src := flag.String("in", filepath.Join(runtime.GOROOT(), "src", "testdata", "Isaac.Newton-Opticks.txt"), "Opticks text")
	out := flag.String("out", "examples/data", "output folder")
	evalN := flag.Int("eval", 12, "Query paragraphs held out for evaluation")
	flag.Parse()
	b, err := os.ReadFile(*src)
	if err != nil {
		log.Fatal(err)
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	i := strings.Index(text, "_Query_ 1.")
	if i < 0 {
		log.Fatal("no Queries found")
	}
	books, queries := paragraphs(text[:i]), paragraphs(text[i:])
	if len(queries) <= *evalN {
		log.Fatal("too few query paragraphs")
	}
	write(filepath.Join(*out, "opticks-books.jsonl"), books)
	write(filepath.Join(*out, "opticks-queries.jsonl"), queries[:len(queries)-*evalN])
	write(filepath.Join(*out, "opticks-queries-eval.jsonl"), queries[len(queries)-*evalN:])
}

// paragraphs splits on blank lines, joins wrapped lines and drops very short fragments (headings, figures).
func paragraphs(s string) []string {
	var out []string
	for _, p := range strings.Split(s, "\n\n") {
		p = strings.Join(strings.Fields(p), " ")
		if len(p) >= 80 {
			out = append(out, p)
		}
	}
	return out
}

func write(path string, paras []string) {
	var sb strings.Builder
	for _, p := range paras {
		b, _ := json.Marshal(map[string]string{"text": p})
		sb.Write(b)
		sb.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d paragraphs, %d bytes\n", path, len(paras), sb.Len())
}
