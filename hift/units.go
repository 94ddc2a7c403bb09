package hift

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/hift-go/hift/graph"
)

// ParseFreeze turns --freeze-layers values (unit indices into the depth-ordered list, or unit names) into
// indices, rejecting unknown names, out-of-range indices and duplicates.
func ParseFreeze(units []graph.Unit, specs []string) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for _, s := range specs {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		idx := -1
		if n, err := strconv.Atoi(s); err == nil {
			if n < 0 || n >= len(units) {
				return nil, fmt.Errorf("freeze: unit index %d out of range [0, %d)", n, len(units))
			}
			idx = n
		} else {
			for i, u := range units {
				if u.Name == s {
					idx = i
				}
			}
			if idx < 0 {
				names := make([]string, len(units))
				for i, u := range units {
					names[i] = u.Name
				}
				return nil, fmt.Errorf("freeze: no unit named %q (units: %s)", s, strings.Join(names, ", "))
			}
		}
		if seen[idx] {
			return nil, fmt.Errorf("freeze: unit %d (%s) given twice", idx, units[idx].Name)
		}
		seen[idx] = true
		out = append(out, idx)
	}
	return out, nil
}

// UnitParams counts the parameters of each unit.
func UnitParams(m *graph.Model) []int64 {
	out := make([]int64, len(m.Units))
	for i, u := range m.Units {
		for _, p := range u.Params {
			s, _ := m.Param(p)
			out[i] += int64(s.NumElements())
		}
	}
	return out
}

// PrintQueue writes the units with their parameter counts and the groups of one period of the queue.
func PrintQueue(w io.Writer, m *graph.Model, q *Queue) {
	sizes := UnitParams(m)
	fmt.Fprintf(w, "%s: %d units, %d parameters\n", m.Class, len(m.Units), m.NumParameters())
	active := map[int]bool{}
	for _, u := range q.Initial() {
		active[u] = true
	}
	for i, u := range m.Units {
		mark := ""
		if !active[i] {
			mark = "  (frozen)"
		}
		fmt.Fprintf(w, "  unit %3d  %-40s %14d%s\n", i, u.Name, sizes[i], mark)
	}
	fmt.Fprintf(w, "queue: n=%d units, m=%d per group, k=%d steps per cycle\n", q.NumUnits(), q.GroupSize(), q.StepsPerCycle())
	period := q.Period()
	if period == 0 {
		period = q.StepsPerCycle()
	}
	for t := 0; t < period; t++ {
		units := q.Active(t)
		names := make([]string, len(units))
		var n int64
		for i, u := range units {
			names[i] = m.Units[u].Name
			n += sizes[u]
		}
		fmt.Fprintf(w, "  step %3d  group %3d  %-60s %14d\n", t, q.GroupIndex(t), strings.Join(names, " + "), n)
	}
}

// PlanQueue builds the model description (config only, no weights) and the queue a run with opts would use.
func PlanQueue(modelDir string, opts Options) (*graph.Model, *Queue, error) {
	cfg, err := loadConfig(modelDir, opts)
	if err != nil {
		return nil, nil, err
	}
	m, err := graph.NewModel(cfg)
	if err != nil {
		return nil, nil, err
	}
	if opts.LoRA != nil {
		if m, err = graph.WithLoRA(m, *opts.LoRA); err != nil {
			return nil, nil, err
		}
	}
	if m.Units, err = OrderUnits(m, opts.UnitOrder); err != nil {
		return nil, nil, err
	}
	freeze, err := ParseFreeze(m.Units, opts.FreezeLayers)
	if err != nil {
		return nil, nil, err
	}
	q, err := NewQueue(QueueConfig{NumUnits: len(m.Units), GroupSize: opts.GroupSize, Strategy: opts.Strategy,
		Seed: opts.Seed, ReshuffleEachCycle: opts.ReshuffleEachCycle, Freeze: freeze, Mode: opts.Mode})
	return m, q, err
}

// Unit orders.
const (
	UnitOrderDepth        = "depth"        // embeddings → blocks → final norm → head (what down2up means; default)
	UnitOrderRegistration = "registration" // the order the model registers its parameters, as the original HiFT
)

// OrderUnits returns the units in the requested order. "registration" sorts them by their first parameter's
// position in HF's named_parameters() order, which reproduces the original's queue (e.g. OPT's model-level
// final_layer_norm, registered before the blocks, becomes unit 1) for paper reproductions.
func OrderUnits(m *graph.Model, order string) ([]graph.Unit, error) {
	switch order {
	case "", UnitOrderDepth:
		return m.Units, nil
	case UnitOrderRegistration:
	default:
		return nil, fmt.Errorf("unit order must be %s or %s, got %q", UnitOrderDepth, UnitOrderRegistration, order)
	}
	pos := map[string]int{}
	for i, p := range m.Params {
		pos[p.Name] = i
	}
	first := func(u graph.Unit) int {
		f := len(m.Params)
		for _, p := range u.Params {
			f = min(f, pos[p])
		}
		return f
	}
	out := slices.Clone(m.Units)
	slices.SortStableFunc(out, func(a, b graph.Unit) int { return first(a) - first(b) })
	return out, nil
}
