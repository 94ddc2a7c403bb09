package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hift-go/hift/internal/validators"
)

// TestGGUFGreedyMatchesGenerate: what a llama.cpp user sees. For the demo LLaMA and each architecture's random
// model (archModels), the F32 GGUF's greedy continuation in llama.cpp (llama_greedy.mjs: argmax of its logits,
// from the prompt ids the GGUF's own tokenizer gives with BOS as the file says) is the text `hift generate`
// continues the prompt with, both on the checkpoint and on the folder `hift import` makes of the GGUF (its
// tokenizer rebuilt from the file). 8 tokens each; a mismatch prints both texts.
func TestGGUFGreedyMatchesGenerate(t *testing.T) {
	const prompt = "Query 1. Do not Bodies act upon Light"
	models := []struct{ name, dir string }{{"tiny-llama", repoPath("examples", "tiny-llama")}}
	for _, am := range archModels[:4] { // llama (head_dim), qwen2, gpt2, gptneox
		models = append(models, struct{ name, dir string }{am.name, ""})
	}
	for i, mc := range models {
		t.Run(mc.name, func(t *testing.T) {
			dir := mc.dir
			if dir == "" {
				dir = initModel(t, mc.name, archModels[i-1].cfg)
			}
			file := filepath.Join(t.TempDir(), "m.gguf")
			exportGGUF(t, dir, "f32", file)
			var ids bytes.Buffer
			if err := runTokenize(&TokenizeOptions{f: &factory{stdout: &ids, stderr: &ids}, Tokenizer: file, AddSpecial: true,
				in: strings.NewReader(`"` + prompt + `"` + "\n")}); err != nil {
				t.Fatal(err)
			}
			var ref struct {
				IDs  []int  `json:"ids"`
				Text string `json:"text"`
			}
			validators.Run(t, &ref, []string{"node-llama-cpp"}, "llama_greedy.mjs", file, strings.TrimSpace(ids.String()), "8")
			back := filepath.Join(t.TempDir(), "back")
			if code, _, stderr := runCLI(t, "import", "--in", file, "--out", back); code != 0 {
				t.Fatalf("import: exit %d: %s", code, stderr)
			}
			for _, m := range []string{dir, back} {
				code, stdout, stderr := runCLI(t, "generate", "--model", m, "--prompt", prompt, "--max-new-tokens", "8")
				if code != 0 {
					t.Fatalf("generate --model %s: exit %d: %s", m, code, stderr)
				}
				got := strings.TrimSuffix(strings.TrimPrefix(stdout, prompt), "\n")
				if got != ref.Text {
					t.Errorf("generate --model %s continues with %q; llama.cpp with %q (ids %v)", filepath.Base(m), got, ref.Text, ref.IDs)
				}
			}
			t.Logf("llama.cpp and hift generate (checkpoint and imported): %q", ref.Text)
		})
	}
}
