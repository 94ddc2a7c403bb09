package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hift-go/hift/internal/fixture"
)

func TestBenchMemoryAnalytical(t *testing.T) {
	code, out, stderr := runCLI(t, "bench", "memory", "--model", "llama-7b", "--format", "csv")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "optimizer,precision,method,trainable_params,para_mb,gra_mb,sta_mb,pgs_gb,residual_gb,total_gb,source" || len(recs) != 26 {
		t.Fatalf("csv header %v, %d records", recs[0], len(recs))
	}
	if got := strings.Join(recs[5], ","); got != "adamw,mixed_hi,hift,202383360,13624.5391,772.0312,1544.0625,15.5670,,,analytical" {
		t.Errorf("Mixed^Hi row %s", got)
	}
	// The paper's rows beside ours, in markdown, and an SVG chart.
	chart := filepath.Join(t.TempDir(), "m.svg")
	code, out, stderr = runCLI(t, "bench", "memory", "--model", "llama-7b", "--compare-paper", "--optimizer", "adamw", "--chart", chart)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"| AdamW | FP32 | FPFT | 6738.42M | 25705.04 | 25705.04 | 51410.08 | 100.41 | 41.7 | 142.11 | paper |",
		"| AdamW | Mixed^Hi | HiFT | 202.38M | 13624.54 | 772.03 | 1544.06 | 15.57 | – | – | analytical |",
		"#Trainable 5/5", "PGS 5/5"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if data, err := os.ReadFile(chart); err != nil || !strings.HasPrefix(string(data), "<svg") {
		t.Errorf("chart: %v", err)
	}
}

func TestBenchMemoryMeasured(t *testing.T) {
	fx, err := fixture.Load("llama_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "bench", "memory", "--model", fx.Dir, "--measured", "--analytical", "--optimizer", "sgdm",
		"--precision", "fp32", "--batch-size", "2", "--seq-len", "8", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var tab struct {
		Model string `json:"model"`
		Batch int    `json:"batch_size"`
		Rows  []struct {
			Method string   `json:"method"`
			Source string   `json:"source"`
			PGS    float64  `json:"pgs_gb"`
			Total  *float64 `json:"total_gb"`
		} `json:"rows"`
	}
	if err := json.Unmarshal([]byte(out), &tab); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if tab.Model != "llama_causal_lm" || tab.Batch != 2 || len(tab.Rows) != 4 {
		t.Fatalf("table %+v", tab)
	}
	for i := 0; i < 4; i += 2 { // analytical, then measured, per method
		a, m := tab.Rows[i], tab.Rows[i+1]
		if a.Source != "analytical" || m.Source != "measured" || a.PGS != m.PGS || m.Total == nil || *m.Total < m.PGS {
			t.Errorf("rows %+v %+v", a, m)
		}
	}
}

func TestBenchSpeed(t *testing.T) {
	fx, err := fixture.Load("llama_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "bench", "speed", "--model", fx.Dir, "--batch-size", "2", "--seq-len", "8", "--steps", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	line := regexp.MustCompile(`(?m)^BenchmarkStep/llama_causal_lm/(fpft|hift)-\d+\t +3\t +\d+ ns/op\t +[\d.]+ tok/s$`)
	if n := len(line.FindAllString(out, -1)); n != 2 || !strings.Contains(out, "model.layers.1") {
		t.Errorf("%d benchmark lines in:\n%s", n, out)
	}
}

func TestPlan(t *testing.T) {
	code, out, stderr := runCLI(t, "plan", "--model", "llama-7b", "--gpu-memory", "24GB", "--precision", "mixed_hi",
		"--batch-size", "1", "--seq-len", "512", "--host-memory", "64GB")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"HiFT (peak group)", "full fine-tuning (Mixed)", "fits in 24.00 GiB", "largest batch at seq 512",
		"longest seq at batch 1", "75.31 GiB (does NOT fit in 64.00 GiB)", "HiFT groups that set the peak:", "model.layers.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	code, out, stderr = runCLI(t, "plan", "--model", "gpt2", "--gpu-memory", "8GiB", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var p struct {
		HiFT struct {
			Fits   bool  `json:"fits"`
			MaxSeq int   `json:"max_seq"`
			Host   int64 `json:"host_bytes"`
		} `json:"hift"`
		FPFT struct {
			MaxBatch int `json:"max_batch"`
		} `json:"fpft"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	if p.HiFT.MaxSeq > 1024 || p.HiFT.Host != 8*124_439_808 {
		t.Errorf("gpt2 plan %+v (max seq is capped by n_positions 1024; host = AdamW's 8 B/param)", p)
	}
}

func TestPlanCheck(t *testing.T) {
	fx, err := fixture.Load("llama_causal_lm")
	if err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "plan", "--model", fx.Dir, "--gpu-memory", "2GB", "--batch-size", "2", "--seq-len", "16", "--check")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"check: planned vs measured", "act. replay", "HiFT peak: planned", "full fine-tuning peak: planned"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchPlanBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bench", "memory"}, exitBadInput, "needs --model"},
		{[]string{"bench", "memory", "--model", "llama-7b", "--format", "xml"}, exitBadInput, "--format must be markdown, csv or json"},
		{[]string{"bench", "memory", "--model", "llama-7b", "--optimizer", "adam8bit"}, exitBadInput, `unknown optimizer "adam8bit"`},
		{[]string{"bench", "memory", "--model", "llama-7b", "--precision", "fp8"}, exitBadInput, `unknown precision "fp8"`},
		{[]string{"bench", "memory", "--model", "gpt2", "--compare-paper"}, exitBadInput, "the paper's table is for LLaMA-2-7B"},
		{[]string{"bench", "memory", "--model", "llama-70b"}, exitError, "unknown built-in model \"llama-70b\""},
		{[]string{"bench", "speed", "--model", "llama-7b", "--method", "lora"}, exitBadInput, "--method must be both, hift or fpft"},
		{[]string{"plan", "--model", "llama-7b"}, exitBadInput, "needs --gpu-memory"},
		{[]string{"plan", "--model", "llama-7b", "--gpu-memory", "two GB"}, exitBadInput, "--gpu-memory: cannot read size"},
		{[]string{"plan", "--model", "llama-7b", "--gpu-memory", "24XB"}, exitBadInput, `unknown unit "XB"`},
		{[]string{"plan", "--model", "llama-7b", "--gpu-memory", "24GB", "--precision", "mixed", "--check"}, exitBadInput, "--check compares FP32 runs"},
		{[]string{"plan", "--model", "llama-7b", "--gpu-memory", "512MB"}, exitError, "not above the runtime reserve"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"24GB": 24 << 30, "24 GiB": 24 << 30, "24": 24 << 30, "512MiB": 512 << 20,
		"1.5T": 3 << 39, "100b": 100, "64kb": 64 << 10} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GB", "-1GB", "1PB", "abc"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q): want an error", in)
		}
	}
}
