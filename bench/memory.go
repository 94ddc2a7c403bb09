package bench

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/hift"
	"github.com/hift-go/hift/hift/optim"
)

// MiB and GiB are the paper's MB (2^20 bytes) and GB (1024 MB).
const (
	MiB = 1 << 20
	GiB = 1 << 30
)

// Precision is a mixed-precision scheme of the paper's memory table (hift-algorithm.md §7).
type Precision string

// Precisions.
const (
	// FP32: fp32 weights; fp32 gradients and optimizer state of the trained parameters.
	FP32 Precision = "fp32"
	// Mixed is standard AMP: fp32 masters plus fp16 copies of all weights (6 B/param).
	Mixed Precision = "mixed"
	// MixedHi is the paper's Mixed^Hi: fp16 weights of every unit plus the fp32 master of the active group
	// (HiFT only: for full fine-tuning it is Mixed).
	MixedHi Precision = "mixed_hi"
)

// Precisions lists the schemes in the paper's order.
func Precisions() []Precision { return []Precision{FP32, Mixed, MixedHi} }

// Label is the paper's spelling (FP32, Mixed, Mixed^Hi).
func (p Precision) Label() string {
	switch p {
	case FP32:
		return "FP32"
	case Mixed:
		return "Mixed"
	case MixedHi:
		return "Mixed^Hi"
	}
	return string(p)
}

// Method is full fine-tuning or HiFT.
type Method string

// Methods.
const (
	FPFT Method = "fpft"
	HiFT Method = "hift"
)

// Methods lists both methods in the paper's order.
func Methods() []Method { return []Method{FPFT, HiFT} }

// Label is the paper's spelling (FPFT, HiFT).
func (m Method) Label() string {
	switch m {
	case FPFT:
		return "FPFT"
	case HiFT:
		return "HiFT"
	}
	return string(m)
}

// Source says where a row's numbers come from.
type Source string

// Sources.
const (
	Analytical Source = "analytical" // from the config's shapes alone
	Measured   Source = "measured"   // from the trainer's memory ledger during real steps
	Paper      Source = "paper"      // transcribed from the paper (hift-algorithm.md §10.1)
)

// Optimizers lists the optimizers of the paper's table, in its order. "sgdm" is SGD with momentum 0.9.
func Optimizers() []string { return []string{"adamw", "sgdm", "sgd", "adafactor", "adagrad"} }

// OptimizerLabel is the paper's spelling of an optimizer name (AdamW, SGDM, SGD, Adafactor, Adagrad).
func OptimizerLabel(name string) string {
	switch name {
	case "adamw":
		return "AdamW"
	case "sgdm":
		return "SGDM"
	case "sgd":
		return "SGD"
	case "adafactor":
		return "Adafactor"
	case "adagrad":
		return "Adagrad"
	}
	return name
}

// OptimizerConfig returns the rule configuration of a bench optimizer name: any optim rule name, plus "sgdm"
// (SGD, momentum 0.9). Hyper-parameters are HF Trainer's (lr 5e-5; Adafactor without relative step and
// parameter scaling); they do not change the state size.
func OptimizerConfig(name string) (optim.Config, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	base := n
	if n == "sgdm" {
		base = optim.NameSGD
	}
	c, err := optim.Defaults(base)
	if err != nil {
		return c, fmt.Errorf("unknown optimizer %q (known: sgdm, %s)", name, strings.Join(optim.Names(), ", "))
	}
	c.LR, c.WeightDecay = 5e-5, 0
	switch c.Name {
	case optim.NameSGD:
		if n == "sgdm" {
			c.Momentum = 0.9
		}
	case optim.NameAdafactor:
		c.RelativeStep, c.ScaleParameter, c.LRSet = false, false, true
	}
	return c, c.Validate()
}

// Row is one line of the memory table. Sizes are in the paper's units: MB = 2^20 bytes, GB = 1024 MB.
// ResidualGB and TotalGB are nil when unknown (analytical rows; measured rows on a backend that cannot
// report its memory).
type Row struct {
	Optimizer       string    `json:"optimizer"`
	Precision       Precision `json:"precision"`
	Method          Method    `json:"method"`
	TrainableParams int64     `json:"trainable_params"`
	ParaMB          float64   `json:"para_mb"`
	GraMB           float64   `json:"gra_mb"`
	StaMB           float64   `json:"sta_mb"`
	PGSGB           float64   `json:"pgs_gb"`
	ResidualGB      *float64  `json:"residual_gb"`
	TotalGB         *float64  `json:"total_gb"`
	Source          Source    `json:"source"`
	// Note explains a row (e.g. why a measured row has no Total).
	Note string `json:"note,omitempty"`
}

// setPGS fills PGSGB = (Para + Gra + Sta) / 1024, the paper's definition.
func (r *Row) setPGS() { r.PGSGB = (r.ParaMB + r.GraMB + r.StaMB) / 1024 }

// Key identifies the row's configuration (optimizer, precision, method), without the source.
func (r Row) Key() string { return r.Optimizer + "/" + string(r.Precision) + "/" + string(r.Method) }

// Group is one distinct HiFT group: the units trained together in one step.
type Group struct {
	// Index is the group's index in the queue's Groups().
	Index int
	// Units are indices into Model.Units (depth order: 0 is the embedding unit).
	Units []int
	// Names are the units' HF module names.
	Names []string
	// Params are the HF names of the group's parameters, in model order.
	Params []string
	// NumParams counts the group's parameters.
	NumParams int64
	// Lowest is the smallest unit index of the group: backward reaches down to it.
	Lowest int
}

// Label joins the unit names.
func (g Group) Label() string { return strings.Join(g.Names, " + ") }

// Analysis holds what the memory table and the planner derive from a model's shapes alone.
type Analysis struct {
	Model *graph.Model
	// NumParams counts every trainable parameter; BufferElems the non-trained tensors (e.g. GPT-NeoX inv_freq).
	NumParams, BufferElems int64
	// Groups are the distinct HiFT groups of the queue, in order of first use.
	Groups []Group
	// GroupSize is m.
	GroupSize int

	shapes map[string][]int
}

// Analyze describes m's HiFT groups for group size m (down2up, rotate: the original's queue).
func Analyze(m *graph.Model, groupSize int) (*Analysis, error) {
	if groupSize < 1 {
		return nil, fmt.Errorf("group size must be >= 1, got %d", groupSize)
	}
	if groupSize > len(m.Units) {
		return nil, fmt.Errorf("group size %d exceeds the model's %d units", groupSize, len(m.Units))
	}
	q, err := hift.NewQueue(hift.QueueConfig{NumUnits: len(m.Units), GroupSize: groupSize, Strategy: hift.StrategyDown2Up})
	if err != nil {
		return nil, err
	}
	a := &Analysis{Model: m, NumParams: m.NumParameters(), GroupSize: groupSize, shapes: map[string][]int{}}
	for _, p := range m.Params {
		a.shapes[p.Name] = p.Shape
	}
	for _, b := range m.Buffers {
		a.BufferElems += int64(b.NumElements())
	}
	sizes := hift.UnitParams(m)
	for i, units := range q.Groups() {
		g := Group{Index: i, Units: units, Lowest: slices.Min(units)}
		in := map[string]bool{}
		for _, u := range units {
			g.Names = append(g.Names, m.Units[u].Name)
			g.NumParams += sizes[u]
			for _, p := range m.Units[u].Params {
				in[p] = true
			}
		}
		for _, p := range m.Params {
			if in[p.Name] {
				g.Params = append(g.Params, p.Name)
			}
		}
		a.Groups = append(a.Groups, g)
	}
	return a, nil
}

// StateBytes sums optim.StateBytes over the named parameters.
func (a *Analysis) StateBytes(cfg optim.Config, params []string) int64 {
	var n int64
	for _, p := range params {
		n += optim.StateBytes(cfg, a.shapes[p])
	}
	return n
}

// AllParams lists every parameter name in model order.
func (a *Analysis) AllParams() []string {
	out := make([]string, len(a.Model.Params))
	for i, p := range a.Model.Params {
		out[i] = p.Name
	}
	return out
}

// LargestGroup returns the index of the group with the most parameters (the first on ties).
func (a *Analysis) LargestGroup() int {
	best := 0
	for i, g := range a.Groups {
		if g.NumParams > a.Groups[best].NumParams {
			best = i
		}
	}
	return best
}

// Footprint is the static device memory of one training configuration, in bytes, by the paper's categories.
type Footprint struct {
	// Trainable counts the parameters trained at once (FPFT: all; HiFT: the largest group).
	Trainable int64
	// Para: weights on the device (fp32; or fp32 + fp16 copies; or fp16 + the active group's fp32 master).
	Para int64
	// Gra: fp32 gradients of the trained parameters.
	Gra int64
	// Sta: optimizer state of the trained parameters (HiFT: the largest over groups).
	Sta int64
	// Host: bytes kept in host memory (HiFT: every unit's optimizer state, plus fp32 masters under Mixed^Hi).
	Host int64
}

// PGS is Para + Gra + Sta.
func (f Footprint) PGS() int64 { return f.Para + f.Gra + f.Sta }

// GroupFootprint is the static device memory while group g is trained with HiFT.
func (a *Analysis) GroupFootprint(cfg optim.Config, prec Precision, g int) Footprint {
	grp := a.Groups[g]
	f := Footprint{Trainable: grp.NumParams, Gra: 4 * grp.NumParams, Sta: a.StateBytes(cfg, grp.Params)}
	f.Para = a.weightBytes(prec)
	if prec == MixedHi {
		f.Para += 4 * grp.NumParams
	}
	f.Host = a.StateBytes(cfg, a.AllParams())
	if prec == MixedHi {
		f.Host += 4 * a.NumParams
	}
	return f
}

// weightBytes is the device bytes of the weights before any master copy: fp32 4 B/param, Mixed 6 B/param
// (fp32 master + fp16 copy), Mixed^Hi 2 B/param; buffers 4 B (fp32) or 2 B (half) per element.
func (a *Analysis) weightBytes(prec Precision) int64 {
	switch prec {
	case Mixed:
		return 6*a.NumParams + 2*a.BufferElems
	case MixedHi:
		return 2*a.NumParams + 2*a.BufferElems
	}
	return 4 * (a.NumParams + a.BufferElems)
}

// Footprint returns the paper's Para/Gra/Sta of a configuration (hift-algorithm.md §10.1):
//
//   - #Trainable: FPFT every parameter; HiFT the largest group (LLaMA-2-7B: one block, 202.38M).
//   - Para: FP32 4 B/param; Mixed 6 B/param; Mixed^Hi 2 B/param + the fp32 master of the largest group.
//   - Gra: 4 B × #Trainable (gradients are fp32 in every scheme).
//   - Sta: optim.StateBytes of the trained parameters; for HiFT the largest over the groups (for every
//     built-in model this is the largest group's), e.g. Adafactor's factored rows + cols.
//
// Mixed^Hi is defined for HiFT only.
func (a *Analysis) Footprint(cfg optim.Config, prec Precision, method Method) (Footprint, error) {
	switch prec {
	case FP32, Mixed, MixedHi:
	default:
		return Footprint{}, fmt.Errorf("unknown precision %q (fp32, mixed or mixed_hi)", prec)
	}
	switch method {
	case FPFT:
		if prec == MixedHi {
			return Footprint{}, fmt.Errorf("mixed_hi is HiFT's scheme; full fine-tuning in mixed precision is \"mixed\"")
		}
		return Footprint{Trainable: a.NumParams, Para: a.weightBytes(prec), Gra: 4 * a.NumParams,
			Sta: a.StateBytes(cfg, a.AllParams())}, nil
	case HiFT:
		var f Footprint
		for g := range a.Groups {
			gf := a.GroupFootprint(cfg, prec, g)
			f.Trainable, f.Para, f.Gra = max(f.Trainable, gf.Trainable), max(f.Para, gf.Para), max(f.Gra, gf.Gra)
			f.Sta, f.Host = max(f.Sta, gf.Sta), gf.Host
		}
		return f, nil
	}
	return Footprint{}, fmt.Errorf("unknown method %q (fpft or hift)", method)
}

// AnalyticalRows computes the table's analytical rows for every optimizer × precision × method given (in that
// order), skipping the undefined Mixed^Hi × FPFT.
func AnalyticalRows(a *Analysis, optimizers []string, precisions []Precision, methods []Method) ([]Row, error) {
	var rows []Row
	for _, o := range optimizers {
		cfg, err := OptimizerConfig(o)
		if err != nil {
			return nil, err
		}
		for _, p := range precisions {
			for _, m := range methods {
				if p == MixedHi && m == FPFT {
					continue
				}
				f, err := a.Footprint(cfg, p, m)
				if err != nil {
					return nil, err
				}
				rows = append(rows, footprintRow(o, p, m, Analytical, f))
			}
		}
	}
	return rows, nil
}

func footprintRow(opt string, p Precision, m Method, src Source, f Footprint) Row {
	r := Row{Optimizer: opt, Precision: p, Method: m, Source: src, TrainableParams: f.Trainable,
		ParaMB: float64(f.Para) / MiB, GraMB: float64(f.Gra) / MiB, StaMB: float64(f.Sta) / MiB}
	r.setPGS()
	return r
}
