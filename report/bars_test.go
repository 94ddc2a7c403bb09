package report

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBarsSave(t *testing.T) {
	dir := t.TempDir()
	b := &Bars{Title: "memory", YLabel: "MiB", Labels: []string{"fpft fp32", "hift fp32", "hift mixed_hi"},
		Parts: []BarPart{{"Para", []float64{400, 400, 200}}, {"Gra", []float64{400, 60, 60}}, {"Sta", []float64{800, 120, 120}}}}
	svg := filepath.Join(dir, "m.svg")
	if err := b.Save(svg); err != nil {
		t.Fatal(err)
	}
	s, _ := os.ReadFile(svg)
	for _, want := range []string{"<svg", "memory", "MiB", "Para", "Gra", "Sta", "hift mixed_hi"} {
		if !strings.Contains(string(s), want) {
			t.Errorf("%s lacks %q", svg, want)
		}
	}
	pngPath := filepath.Join(dir, "m.png")
	if err := b.Save(pngPath); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(pngPath)
	defer f.Close()
	if img, err := png.Decode(f); err != nil || img.Bounds().Dx() < 300 {
		t.Errorf("png: %v", err)
	}
	b.Parts[1].Values = b.Parts[1].Values[:2]
	if err := b.Save(filepath.Join(dir, "x.svg")); err == nil || !strings.Contains(err.Error(), `"Gra" has 2 values for 3 bars`) {
		t.Errorf("mismatched part: %v", err)
	}
}
