package bench

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Table is a memory table with what it describes.
type Table struct {
	Model      string `json:"model"`
	Class      string `json:"class"`
	Parameters int64  `json:"parameters"`
	GroupSize  int    `json:"group_size"`
	// Batch and Seq are the measured runs' shape (0 when nothing was measured).
	Batch   int    `json:"batch_size,omitempty"`
	Seq     int    `json:"seq_len,omitempty"`
	Backend string `json:"backend,omitempty"`
	Rows    []Row  `json:"rows"`
	// Notes are printed under the markdown table.
	Notes []string `json:"notes,omitempty"`
}

// SortRows orders rows as the paper does (optimizer, precision, method), then analytical, measured, paper.
func SortRows(rows []Row) {
	rank := func(list []string, v string) int {
		for i, x := range list {
			if x == v {
				return i
			}
		}
		return len(list)
	}
	opts := Optimizers()
	precs := []string{string(FP32), string(Mixed), string(MixedHi)}
	methods := []string{string(FPFT), string(HiFT)}
	sources := []string{string(Analytical), string(Measured), string(Paper)}
	key := func(r Row) [5]int {
		return [5]int{rank(opts, r.Optimizer), rank(precs, string(r.Precision)), rank(methods, string(r.Method)),
			rank(sources, string(r.Source))}
	}
	for i := 1; i < len(rows); i++ { // insertion sort: stable, small n
		for j := i; j > 0; j-- {
			a, b := key(rows[j-1]), key(rows[j])
			if !less(b, a) {
				break
			}
			rows[j-1], rows[j] = rows[j], rows[j-1]
		}
	}
}

func less(a, b [5]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// cells returns a row's printed cells: #Trainable, Para, Gra, Sta, PGS, Residual, Total. Paper rows keep the
// paper's digits.
func cells(r Row) [7]string {
	if r.Source == Paper {
		if p, ok := paperRowFor(r.Key()); ok {
			return [7]string{p.Trainable, p.Para, p.Gra, p.Sta, p.PGS, p.Residual, p.Total}
		}
	}
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return formatGB(*v)
	}
	return [7]string{fmt.Sprintf("%.2fM", float64(r.TrainableParams)/1e6), fmt.Sprintf("%.2f", r.ParaMB),
		fmt.Sprintf("%.2f", r.GraMB), fmt.Sprintf("%.2f", r.StaMB), formatGB(r.PGSGB),
		opt(r.ResidualGB), opt(r.TotalGB)}
}

// formatGB prints GB with the paper's two decimals, or four below 1 GB so that small models stay readable.
func formatGB(v float64) string {
	if math.Abs(v) < 1 && v != 0 {
		return fmt.Sprintf("%.4f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// WriteMarkdown writes the table in the paper's layout, with a Source column when sources are mixed.
func WriteMarkdown(w io.Writer, t Table) error {
	fmt.Fprintf(w, "Memory of %s (%s, %s parameters, HiFT m=%d)", t.Model, t.Class, formatCount(t.Parameters), t.GroupSize)
	if t.Batch > 0 {
		fmt.Fprintf(w, "; measured at batch %d × sequence %d on %s", t.Batch, t.Seq, t.Backend)
	}
	fmt.Fprintf(w, ". MB = 2^20 bytes, GB = 1024 MB.\n\n")
	fmt.Fprintln(w, "| Optimizer | Dtype | FType | #Trainable | Para (MB) | Gra (MB) | Sta (MB) | PGS (GB) | Residual (GB) | Total (GB) | Source |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range t.Rows {
		c := cells(r)
		for i := range c {
			if c[i] == "" {
				c[i] = "–"
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", OptimizerLabel(r.Optimizer),
			r.Precision.Label(), r.Method.Label(), c[0], c[1], c[2], c[3], c[4], c[5], c[6], r.Source)
	}
	if len(t.Notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range t.Notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
	return nil
}

// CSVHeader is the csv format's header.
var CSVHeader = []string{"optimizer", "precision", "method", "trainable_params", "para_mb", "gra_mb", "sta_mb",
	"pgs_gb", "residual_gb", "total_gb", "source"}

// WriteCSV writes one line per row with CSVHeader's columns: lower-case names, sizes with 4 decimals (paper
// rows: as printed), empty Residual/Total when unknown.
func WriteCSV(w io.Writer, t Table) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return f(*v)
	}
	for _, r := range t.Rows {
		rec := []string{r.Optimizer, string(r.Precision), string(r.Method), strconv.FormatInt(r.TrainableParams, 10),
			f(r.ParaMB), f(r.GraMB), f(r.StaMB), f(r.PGSGB), opt(r.ResidualGB), opt(r.TotalGB), string(r.Source)}
		if r.Source == Paper {
			c := cells(r)
			copy(rec[4:10], c[1:7])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the table as indented JSON.
func WriteJSON(w io.Writer, t Table) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(t)
}

// WriteTable writes t in format: markdown, csv or json.
func WriteTable(w io.Writer, t Table, format string) error {
	switch format {
	case "markdown", "md":
		return WriteMarkdown(w, t)
	case "csv":
		return WriteCSV(w, t)
	case "json":
		return WriteJSON(w, t)
	}
	return fmt.Errorf("unknown format %q (markdown, csv or json)", format)
}

// ComparePaperNotes summarises how our analytical rows compare with the paper's: how many cells of each
// column print the same digits, and every differing (ours, paper) pair with the number of rows it occurs in.
func ComparePaperNotes(rows []Row) []string {
	names := []string{"#Trainable", "Para", "Gra", "Sta", "PGS"}
	same := make([]int, len(names))
	total := 0
	type diff struct{ col, ours, theirs string }
	counts := map[diff]int{}
	var order []diff
	for _, r := range rows {
		if r.Source != Analytical {
			continue
		}
		p, ok := paperRowFor(r.Key())
		if !ok {
			continue
		}
		total++
		ours := cells(r)
		theirs := [5]string{p.Trainable, p.Para, p.Gra, p.Sta, p.PGS}
		for i := range theirs {
			if ours[i] == theirs[i] {
				same[i]++
				continue
			}
			d := diff{names[i], ours[i], theirs[i]}
			if counts[d] == 0 {
				order = append(order, d)
			}
			counts[d]++
		}
	}
	if total == 0 {
		return nil
	}
	var parts []string
	for i, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d/%d", n, same[i], total))
	}
	notes := []string{"cells with the paper's printed digits: " + strings.Join(parts, ", ")}
	for _, d := range order {
		notes = append(notes, fmt.Sprintf("%s: ours %s, paper %s (%d rows)", d.col, d.ours, d.theirs, counts[d]))
	}
	if len(order) > 0 {
		notes = append(notes, "the paper's whole-model MB are 0.02–0.05 MB above 4 B × 6,738,415,616 = 25705.0156 MB (and its Mixed^Hi Para 0.01 below 13624.5391): no parameter count reproduces both, so ours are the exact sizes")
	}
	return notes
}

func formatCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	}
	return strconv.FormatInt(n, 10)
}

// WriteSVG draws the rows' Para, Gra and Sta (GB) as stacked bars, grouped by optimizer, one bar per
// precision × method × source. It is plain SVG 1.1 with no scripts or external resources.
func WriteSVG(w io.Writer, t Table) error {
	if len(t.Rows) == 0 {
		return fmt.Errorf("chart: no rows")
	}
	const (
		barW, gap, groupGap = 22.0, 6.0, 26.0
		left, right, top    = 70.0, 20.0, 60.0
		plotH, labelH       = 300.0, 160.0
	)
	colors := [3]string{"#4e79a7", "#f28e2b", "#59a14f"}
	names := [3]string{"Para", "Gra", "Sta"}
	maxGB := 0.0
	for _, r := range t.Rows {
		maxGB = max(maxGB, (r.ParaMB+r.GraMB+r.StaMB)/1024)
	}
	step := niceStep(maxGB / 5)
	yMax := math.Ceil(maxGB/step) * step
	if yMax == 0 {
		yMax = 1
	}
	// Layout: x position of every bar.
	xs := make([]float64, len(t.Rows))
	x := left + gap
	groupStart := []float64{x}
	for i, r := range t.Rows {
		if i > 0 && r.Optimizer != t.Rows[i-1].Optimizer {
			x += groupGap
			groupStart = append(groupStart, x)
		}
		xs[i] = x
		x += barW + gap
	}
	width := x + right
	height := top + plotH + labelH
	y := func(gb float64) float64 { return top + plotH - gb/yMax*plotH }
	esc := func(s string) string {
		return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	title := fmt.Sprintf("%s: device memory by category (Para + Gra + Sta = PGS, GB)", t.Model)
	fmt.Fprintf(&b, `<text x="%.0f" y="22" font-size="14" font-weight="bold">%s</text>`+"\n", left, esc(title))
	for i, n := range names {
		lx := left + float64(i)*70
		fmt.Fprintf(&b, `<rect x="%.0f" y="32" width="12" height="12" fill="%s"/><text x="%.0f" y="42">%s</text>`+"\n", lx, colors[i], lx+16, n)
	}
	// Axis and grid.
	for v := 0.0; v <= yMax+1e-9; v += step {
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, width-right, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y(v)+4, strconv.FormatFloat(v, 'f', -1, 64))
	}
	fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.0f" y2="%.0f" stroke="black"/>`+"\n", left, left, top, top+plotH)
	fmt.Fprintf(&b, `<text transform="translate(18 %.0f) rotate(-90)" text-anchor="middle">GB</text>`+"\n", top+plotH/2)
	for i, r := range t.Rows {
		parts := [3]float64{r.ParaMB / 1024, r.GraMB / 1024, r.StaMB / 1024}
		base := 0.0
		for k, v := range parts {
			if v <= 0 {
				continue
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.2f" width="%.0f" height="%.2f" fill="%s"><title>%s</title></rect>`+"\n",
				xs[i], y(base+v), barW, y(base)-y(base+v), colors[k],
				esc(fmt.Sprintf("%s %s %s (%s): %s %.2f GB", OptimizerLabel(r.Optimizer), r.Precision.Label(), r.Method.Label(), r.Source, names[k], v)))
			base += v
		}
		label := r.Precision.Label() + " " + r.Method.Label()
		if r.Source != Analytical {
			label += " (" + string(r.Source) + ")"
		}
		lx, ly := xs[i]+barW/2+4, top+plotH+8
		fmt.Fprintf(&b, `<text transform="translate(%.1f %.0f) rotate(-60)" text-anchor="end">%s</text>`+"\n", lx, ly, esc(label))
	}
	// Optimizer names above their groups.
	gi := 0
	for i, r := range t.Rows {
		if i == 0 || r.Optimizer != t.Rows[i-1].Optimizer {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-weight="bold">%s</text>`+"\n", groupStart[gi], top-4, esc(OptimizerLabel(r.Optimizer)))
			gi++
		}
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// niceStep rounds a positive step up to 1, 2 or 5 × 10^k.
func niceStep(s float64) float64 {
	if s <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(s)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= s {
			return m * p
		}
	}
	return 10 * p
}
