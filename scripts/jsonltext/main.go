// Command jsonltext prints the "text" field of every JSON line of standard input, one paragraph per line
// (training text for scripts/tinytok).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log"
	"os"
)

func main() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for sc.Scan() {
		var row struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			log.Fatal(err)
		}
		fmt.Fprintln(w, row.Text)
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
}
