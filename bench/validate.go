package bench

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
)

// ValidationRow compares the planner with a measured step of one group (HiFT) or of the whole model (FPFT).
type ValidationRow struct {
	Method Method `json:"method"`
	// Group is the HiFT group's index (-1 for FPFT) and Label its units.
	Group int    `json:"group"`
	Label string `json:"label"`
	// Formula is the analytical activation estimate; Replay the activations of the step graph replayed as
	// SimpleGo executes it (SimulateStep).
	Formula int64 `json:"formula_activation_bytes"`
	Replay  int64 `json:"replay_activation_bytes"`
	// Planned is the planner's device total with the formula; PlannedReplay with the replayed activations.
	Planned       int64 `json:"planned_bytes"`
	PlannedReplay int64 `json:"planned_replay_bytes"`
	// Measured is the step's peak Go-heap growth less host-resident state (SimpleGo only; 0 otherwise).
	Measured int64 `json:"measured_bytes"`
}

// Validate runs the planner's configuration (FP32: the only precision the trainer has) on the backend with
// random weights, one HiFT period and two full steps, and compares, per step, the planned device bytes with
// the measured ones. The backend must be SimpleGo for the heap measurement; the replayed activations need no
// run. Prefetch is off (the first cycle has nothing to prefetch).
func Validate(be backends.Backend, a *Analysis, d Dims, o PlanOptions) ([]ValidationRow, error) {
	if o.Precision != FP32 {
		return nil, fmt.Errorf("the check compares FP32 runs (the activation replay builds float32 graphs); got precision %s", o.Precision)
	}
	o.Prefetch = false
	pl := planner{a: a, d: d, o: o}
	if err := pl.init(); err != nil {
		return nil, err
	}
	heap := be.String() == "go"
	var rows []ValidationRow
	for _, m := range []Method{HiFT, FPFT} {
		res, err := Run(be, a.Model, RunOptions{Optimizer: o.Optimizer, Method: m, Batch: o.Batch, Seq: o.Seq,
			GroupSize: a.GroupSize, HeapSampling: heap, Warmup: heap})
		if err != nil {
			return nil, err
		}
		loads := pl.loads(m, o.Batch, o.Seq)
		for i, sm := range res.Steps {
			var l GroupLoad
			units := pl.all
			label := "all units"
			if m == HiFT {
				l = loads[sm.Group]
				units = a.Groups[sm.Group].Units
				label = a.Groups[sm.Group].Label()
			} else {
				if i > 0 {
					break // the second full step only repeats the first
				}
				l = loads[0]
			}
			sim, err := SimulateStep(be, a.Model, o.Batch, o.Seq, units)
			if err != nil {
				return nil, err
			}
			br := l.Breakdown
			withReplay := br.Para + br.Sta + br.Prefetch + max(br.Gra+sim.Peak, br.Copies)
			r := ValidationRow{Method: m, Group: l.Group, Label: label, Formula: br.Act.Total(), Replay: sim.Peak,
				Planned: br.Total(), PlannedReplay: withReplay}
			if heap {
				r.Measured = res.StepHeap[i]
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}
