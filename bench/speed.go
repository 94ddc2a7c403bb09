package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/hift"
)

// SpeedOptions configure Speed.
type SpeedOptions struct {
	Batch, Seq int
	// Steps is the number of timed steps after the warm-up (every group's first, compiling step); 0 means
	// two HiFT periods (every group twice) and the same number of full steps.
	Steps     int
	Optimizer string
	GroupSize int
	Methods   []Method
	Seed      uint64
	// Log receives progress lines (optional).
	Log io.Writer
	// Progress, when set, is called after every step of a method (warm-up included) with the steps done and the
	// method's total (hift bench speed draws its bar with it).
	Progress func(method Method, done, total int)
}

// GroupSpeed is the timing of one HiFT group (or of the full model).
type GroupSpeed struct {
	Group int    `json:"group"` // index into the queue's groups; -1 for full fine-tuning
	Label string `json:"label"`
	// First is the group's first step: compilation plus one run.
	First time.Duration `json:"first_step_ns"`
	// Mean is the mean of its later steps; Steps counts them.
	Mean  time.Duration `json:"mean_step_ns"`
	Steps int           `json:"steps"`
}

// SpeedResult is the timing of one method.
type SpeedResult struct {
	Method Method `json:"method"`
	// Groups are per group, in queue order (one entry for full fine-tuning).
	Groups []GroupSpeed `json:"groups"`
	// MeanStep is the mean time of the timed steps; TokensPerSec the tokens they processed per second.
	MeanStep     time.Duration `json:"mean_step_ns"`
	TokensPerSec float64       `json:"tokens_per_s"`
	// FirstStep is the mean first-step (compile + run) time over the groups; Compile the total of all of them.
	FirstStep time.Duration `json:"first_step_ns"`
	Compile   time.Duration `json:"compile_total_ns"`
	// Steps is the number of timed steps; Tokens per step.
	Steps  int `json:"steps"`
	Tokens int `json:"tokens_per_step"`
}

// Speed times HiFT and full fine-tuning steps of m with random weights on the backend: a warm-up in which every
// group compiles (its first step), then the timed steps.
func Speed(be backends.Backend, m *graph.Model, o SpeedOptions) ([]SpeedResult, error) {
	if len(o.Methods) == 0 {
		o.Methods = Methods()
	}
	var out []SpeedResult
	for _, method := range o.Methods {
		groups := map[int]*GroupSpeed{}
		var order []int
		var timed []hift.StepMetrics
		steps := o.Steps
		if steps == 0 {
			steps = 2 * periodOf(m, o.GroupSize)
		}
		done, all := 0, steps+1 // the warm-up: every group's first step
		if method == HiFT {
			all = steps + periodOf(m, o.GroupSize)
		}
		_, err := Run(be, m, RunOptions{Optimizer: o.Optimizer, Method: method, Batch: o.Batch, Seq: o.Seq,
			GroupSize: o.GroupSize, Seed: o.Seed, Prefetch: true, Steps: steps, Warmup: true,
			OnStep: func(sm hift.StepMetrics) {
				if done++; o.Progress != nil {
					o.Progress(method, done, all)
				}
				g, ok := groups[sm.Group]
				if !ok {
					g = &GroupSpeed{Group: sm.Group, Label: strings.Join(sm.Units, " + ")}
					if method == FPFT {
						g.Label = "all units"
					}
					groups[sm.Group] = g
					order = append(order, sm.Group)
				}
				d := time.Duration(sm.StepTime * float64(time.Second))
				if sm.FirstCall {
					g.First = d
					return
				}
				g.Mean += d
				g.Steps++
				timed = append(timed, sm)
			}})
		if err != nil {
			return nil, err
		}
		r := SpeedResult{Method: method, Steps: len(timed)}
		var total time.Duration
		var tokens int
		for _, sm := range timed {
			total += time.Duration(sm.StepTime * float64(time.Second))
			tokens += sm.Tokens
			r.Tokens = sm.Tokens
		}
		if len(timed) > 0 {
			r.MeanStep = total / time.Duration(len(timed))
			r.TokensPerSec = float64(tokens) / total.Seconds()
		}
		for _, gi := range order {
			g := groups[gi]
			if g.Steps > 0 {
				g.Mean /= time.Duration(g.Steps)
			}
			r.Compile += g.First
			r.Groups = append(r.Groups, *g)
		}
		if len(r.Groups) > 0 {
			r.FirstStep = r.Compile / time.Duration(len(r.Groups))
		}
		if o.Log != nil {
			fmt.Fprintf(o.Log, "%s: %d timed steps, mean %.3fs, %.1f tokens/s\n", method, r.Steps, r.MeanStep.Seconds(), r.TokensPerSec)
		}
		out = append(out, r)
	}
	return out, nil
}

// periodOf is the number of distinct HiFT groups of m at group size m.
func periodOf(m *graph.Model, groupSize int) int {
	q, err := hift.NewQueue(hift.QueueConfig{NumUnits: len(m.Units), GroupSize: max(groupSize, 1)})
	if err != nil {
		return 1
	}
	return q.Period()
}

// WriteSpeedTable writes the per-group timings and the summary of each method.
func WriteSpeedTable(w io.Writer, model string, o SpeedOptions, res []SpeedResult) {
	fmt.Fprintf(w, "%s, batch %d × sequence %d, %s\n", model, o.Batch, o.Seq, o.Optimizer)
	for _, r := range res {
		fmt.Fprintf(w, "\n%s: mean step %.4f s, %.1f tokens/s over %d steps; first step (compile + run) %.3f s mean, %.3f s total\n",
			r.Method.Label(), r.MeanStep.Seconds(), r.TokensPerSec, r.Steps, r.FirstStep.Seconds(), r.Compile.Seconds())
		fmt.Fprintf(w, "  %-5s %-44s %12s %12s %6s\n", "group", "units", "first s", "mean s", "steps")
		for _, g := range r.Groups {
			fmt.Fprintf(w, "  %-5d %-44s %12.4f %12.4f %6d\n", g.Group, truncate(g.Label, 44), g.First.Seconds(), g.Mean.Seconds(), g.Steps)
		}
	}
	if len(res) == 2 && res[0].MeanStep > 0 && res[1].MeanStep > 0 {
		fmt.Fprintf(w, "\nHiFT step / full step: %.2f\n", stepOf(res, HiFT).Seconds()/stepOf(res, FPFT).Seconds())
	}
}

func stepOf(res []SpeedResult, m Method) time.Duration {
	for _, r := range res {
		if r.Method == m {
			return r.MeanStep
		}
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// WriteBenchLines writes the results as Go benchmark output, which benchstat reads:
//
//	BenchmarkStep/<model>/<method>-<procs>       N  <ns> ns/op  <tok/s> tok/s
//	BenchmarkFirstStep/<model>/<method>-<procs>  G  <ns> ns/op
//
// N is the number of timed steps; FirstStep is the mean over the G groups of the first (compiling) step.
func WriteBenchLines(w io.Writer, model string, res []SpeedResult) {
	fmt.Fprintf(w, "goos: %s\ngoarch: %s\npkg: github.com/hift-go/hift/bench\n", runtime.GOOS, runtime.GOARCH)
	if cpu := cpuName(); cpu != "" {
		fmt.Fprintf(w, "cpu: %s\n", cpu)
	}
	name := strings.NewReplacer(" ", "_", "/", "_").Replace(model)
	procs := runtime.GOMAXPROCS(0)
	for _, r := range res {
		fmt.Fprintf(w, "BenchmarkStep/%s/%s-%d\t%8d\t%14d ns/op\t%12.2f tok/s\n", name, r.Method, procs, r.Steps, r.MeanStep.Nanoseconds(), r.TokensPerSec)
	}
	for _, r := range res {
		fmt.Fprintf(w, "BenchmarkFirstStep/%s/%s-%d\t%8d\t%14d ns/op\n", name, r.Method, procs, len(r.Groups), r.FirstStep.Nanoseconds())
	}
}

// cpuName reads the processor's model name on Linux ("" elsewhere).
func cpuName() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
