// Command hift fine-tunes Hugging Face transformer checkpoints with HiFT (hierarchical full-parameter
// fine-tuning) and inspects and converts their weights. See README.md.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
