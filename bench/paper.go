package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// PaperRow is one row of the paper's GPU-memory table for LLaMA (7B) on E2E (hift-algorithm.md §10.1), with
// every cell exactly as printed. Residual and Total were measured by the authors (batch and length not given).
type PaperRow struct {
	Optimizer            string
	Precision            Precision
	Method               Method
	Trainable            string // "6738.42M"
	Para, Gra, Sta       string // MB (2^20 bytes)
	PGS, Residual, Total string // GB (1024 MB)
}

// PaperModel is the built-in model the paper's table describes.
const PaperModel = "llama-7b"

var paperLlama7B = []PaperRow{
	{"adamw", FP32, FPFT, "6738.42M", "25705.04", "25705.04", "51410.08", "100.41", "41.7", "142.11"},
	{"adamw", FP32, HiFT, "202.38M", "25705.04", "772.03", "1544.06", "27.36", "28.04", "55.41"},
	{"adamw", Mixed, FPFT, "6738.42M", "38557.56", "25705.04", "51410.08", "112.96", "32.54", "145.50"},
	{"adamw", Mixed, HiFT, "202.38M", "38557.56", "772.03", "1544.06", "39.92", "21.62", "61.54"},
	{"adamw", MixedHi, HiFT, "202.38M", "13624.53", "772.03", "1544.06", "15.57", "21.00", "36.57"},
	{"sgdm", FP32, FPFT, "6738.42M", "25705.04", "25705.04", "25705.04", "75.31", "41.71", "117.01"},
	{"sgdm", FP32, HiFT, "202.38M", "25705.04", "772.03", "772.03", "26.61", "28.8", "55.41"},
	{"sgdm", Mixed, FPFT, "6738.42M", "38557.56", "25705.04", "25705.04", "87.86", "32.54", "120.40"},
	{"sgdm", Mixed, HiFT, "202.38M", "38557.56", "772.03", "772.03", "39.16", "22.37", "61.54"},
	{"sgdm", MixedHi, HiFT, "202.38M", "13624.53", "772.03", "772.03", "14.81", "21.75", "36.57"},
	{"sgd", FP32, FPFT, "6738.42M", "25705.04", "25705.04", "0.00", "50.21", "41.72", "91.93"},
	{"sgd", FP32, HiFT, "202.38M", "25705.04", "772.03", "0.00", "25.86", "29.55", "55.41"},
	{"sgd", Mixed, FPFT, "6738.42M", "38557.56", "25705.04", "0.00", "62.76", "32.54", "95.30"},
	{"sgd", Mixed, HiFT, "202.38M", "38557.56", "772.03", "0.00", "38.41", "23.13", "61.54"},
	{"sgd", MixedHi, HiFT, "202.38M", "13624.53", "772.03", "0.00", "14.06", "22.51", "36.57"},
	{"adafactor", FP32, FPFT, "6738.42M", "25705.04", "25705.04", "10.82", "50.22", "41.72", "91.94"},
	{"adafactor", FP32, HiFT, "202.38M", "25705.04", "772.03", "0.33", "25.86", "29.55", "55.41"},
	{"adafactor", Mixed, FPFT, "6738.42M", "38557.56", "25705.04", "10.82", "62.77", "32.54", "95.31"},
	{"adafactor", Mixed, HiFT, "202.38M", "38557.56", "772.03", "0.33", "38.41", "23.13", "61.54"},
	{"adafactor", MixedHi, HiFT, "202.38M", "13624.53", "772.03", "0.33", "14.06", "22.51", "36.57"},
	{"adagrad", FP32, FPFT, "6738.42M", "25705.04", "25705.04", "25705.04", "75.31", "41.72", "117.01"},
	{"adagrad", FP32, HiFT, "202.38M", "25705.04", "772.03", "772.03", "26.61", "28.80", "55.41"},
	{"adagrad", Mixed, FPFT, "6738.42M", "38557.56", "25705.04", "25705.04", "87.86", "32.54", "120.40"},
	{"adagrad", Mixed, HiFT, "202.38M", "38557.56", "772.03", "772.03", "39.16", "22.37", "61.54"},
	{"adagrad", MixedHi, HiFT, "202.38M", "13624.53", "772.03", "772.03", "14.81", "21.75", "36.57"},
}

// PaperTable returns the paper's rows in its order.
func PaperTable() []PaperRow { return append([]PaperRow(nil), paperLlama7B...) }

// Row converts the printed cells to a Row with Source Paper.
func (p PaperRow) Row() Row {
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(strings.TrimSuffix(s, "M"), 64)
		if err != nil {
			panic(fmt.Sprintf("bench: paper table cell %q: %v", s, err)) // a transcription error
		}
		return v
	}
	res, tot := num(p.Residual), num(p.Total)
	return Row{Optimizer: p.Optimizer, Precision: p.Precision, Method: p.Method, Source: Paper,
		TrainableParams: int64(num(p.Trainable) * 1e6), ParaMB: num(p.Para), GraMB: num(p.Gra), StaMB: num(p.Sta),
		PGSGB: num(p.PGS), ResidualGB: &res, TotalGB: &tot}
}

// PaperRows returns the paper's table as Rows.
func PaperRows() []Row {
	out := make([]Row, len(paperLlama7B))
	for i, p := range paperLlama7B {
		out[i] = p.Row()
	}
	return out
}

// paperRowFor finds the paper's row of a configuration.
func paperRowFor(key string) (PaperRow, bool) {
	for _, p := range paperLlama7B {
		if p.Row().Key() == key {
			return p, true
		}
	}
	return PaperRow{}, false
}
