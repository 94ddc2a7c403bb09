package bench

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"io"
	"regexp"
	"strings"
	"testing"
)

func llama7BTable(t *testing.T, withPaper bool) Table {
	t.Helper()
	m, err := LoadModel("llama-7b")
	if err != nil {
		t.Fatal(err)
	}
	a, err := Analyze(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := AnalyticalRows(a, Optimizers(), Precisions(), Methods())
	if err != nil {
		t.Fatal(err)
	}
	if withPaper {
		rows = append(rows, PaperRows()...)
	}
	SortRows(rows)
	return Table{Model: "llama-7b", Class: m.Class, Parameters: a.NumParams, GroupSize: 1, Rows: rows}
}

func TestCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, llama7BTable(t, true)); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], ","); got != "optimizer,precision,method,trainable_params,para_mb,gra_mb,sta_mb,pgs_gb,residual_gb,total_gb,source" {
		t.Fatalf("header %s", got)
	}
	if len(recs) != 1+50 {
		t.Fatalf("%d records, want 50 rows + header", len(recs))
	}
	lower := regexp.MustCompile(`^[a-z0-9_]+$`)
	seen := map[string]bool{}
	for _, r := range recs[1:] {
		for _, i := range []int{0, 1, 2, 10} {
			if !lower.MatchString(r[i]) {
				t.Errorf("value %q is not lower-case", r[i])
			}
		}
		key := r[0] + "/" + r[1] + "/" + r[2] + "/" + r[10]
		if seen[key] {
			t.Errorf("duplicate row %s", key)
		}
		seen[key] = true
	}
	first := strings.Join(recs[1], ",")
	if first != "adamw,fp32,fpft,6738415616,25705.0156,25705.0156,51410.0312,100.4102,,,analytical" {
		t.Errorf("first row %s", first)
	}
	if second := strings.Join(recs[2], ","); second != "adamw,fp32,fpft,6738420000,25705.04,25705.04,51410.08,100.41,41.7,142.11,paper" {
		t.Errorf("second row %s", second)
	}
}

func TestJSONAndMarkdown(t *testing.T) {
	tab := llama7BTable(t, false)
	var b bytes.Buffer
	if err := WriteJSON(&b, tab); err != nil {
		t.Fatal(err)
	}
	var back Table
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Rows) != 25 || back.Rows[0].TotalGB != nil || back.Rows[1].TrainableParams != 202_383_360 {
		t.Errorf("json round trip: %+v", back.Rows[:2])
	}
	b.Reset()
	if err := WriteTable(&b, tab, "markdown"); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"| Optimizer | Dtype | FType | #Trainable | Para (MB) |",
		"| AdamW | Mixed^Hi | HiFT | 202.38M | 13624.54 | 772.03 | 1544.06 | 15.57 | – | – | analytical |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if err := WriteTable(&b, tab, "yaml"); err == nil || !strings.Contains(err.Error(), "markdown, csv or json") {
		t.Errorf("unknown format: %v", err)
	}
}

func TestComparePaperNotes(t *testing.T) {
	notes := ComparePaperNotes(llama7BTable(t, true).Rows)
	if len(notes) == 0 || notes[0] != "cells with the paper's printed digits: #Trainable 25/25, Para 0/25, Gra 15/25, Sta 19/25, PGS 25/25" {
		t.Errorf("notes %q", notes)
	}
}

// TestSVG checks that the chart is well-formed XML with three stacked parts per bar (SGD has no state).
func TestSVG(t *testing.T) {
	tab := llama7BTable(t, false)
	var b bytes.Buffer
	if err := WriteSVG(&b, tab); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	rects := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("invalid SVG: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			rects++
		}
	}
	// background + 3 legend swatches + 25 bars × 3 parts − the 5 SGD rows without state
	if want := 1 + 3 + 25*3 - 5; rects != want {
		t.Errorf("%d rects, want %d", rects, want)
	}
	if err := WriteSVG(&b, Table{}); err == nil {
		t.Error("empty table: want an error")
	}
}

func TestSpeedAndBenchLines(t *testing.T) {
	be, err := sharedBackend()
	if err != nil {
		t.Fatal(err)
	}
	m := fixtureModel(t, fixtureConfig)
	res, err := Speed(be, m, SpeedOptions{Batch: 2, Seq: 8, Steps: 5, Optimizer: "adamw", GroupSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[1].Method != HiFT || len(res[1].Groups) != len(m.Units) || len(res[0].Groups) != 1 {
		t.Fatalf("results %+v", res)
	}
	for _, r := range res {
		if r.Steps != 5 || r.Tokens != 16 || r.TokensPerSec <= 0 || r.FirstStep <= 0 || r.MeanStep <= 0 {
			t.Errorf("%s: %+v", r.Method, r)
		}
	}
	var b bytes.Buffer
	WriteBenchLines(&b, "fixture llama", res)
	line := regexp.MustCompile(`^BenchmarkStep/fixture_llama/(hift|fpft)-\d+\t +5\t +\d+ ns/op\t +[\d.]+ tok/s$`)
	n := 0
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, "BenchmarkStep/") {
			n++
			if !line.MatchString(l) {
				t.Errorf("benchmark line %q", l)
			}
		}
	}
	if n != 2 || !strings.Contains(b.String(), "BenchmarkFirstStep/fixture_llama/hift") {
		t.Errorf("benchmark output:\n%s", b.String())
	}
	b.Reset()
	WriteSpeedTable(&b, "fixture", SpeedOptions{Batch: 2, Seq: 8, Optimizer: "adamw"}, res)
	if !strings.Contains(b.String(), "model.layers.1") || !strings.Contains(b.String(), "HiFT step / full step") {
		t.Errorf("speed table:\n%s", b.String())
	}
}
