package hift

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// Memory categories of the ledger.
const (
	CatParameters = "parameters"
	CatBuffers    = "buffers"
	CatGradients  = "gradients"
	CatOptimizer  = "optimizer_state"
	CatMasters    = "fp32_masters"
)

// MemoryReport is a snapshot of the bytes the trainer holds, by category and place. Gradients exist only
// inside a step: their entry is the active group's gradient bytes at the last step (transient device memory).
// Activations are not known on every backend and are not included.
type MemoryReport struct {
	Device map[string]int64 `json:"device"`
	Host   map[string]int64 `json:"host"`
	// StateOnDevice lists the parameters whose optimizer state is currently on the device.
	StateOnDevice []string `json:"state_on_device,omitempty"`
}

// DeviceTotal sums the device bytes.
func (r MemoryReport) DeviceTotal() int64 { return sum(r.Device) }

// HostTotal sums the host bytes.
func (r MemoryReport) HostTotal() int64 { return sum(r.Host) }

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// Print writes the report as a small table.
func (r MemoryReport) Print(w io.Writer) {
	cats := map[string]bool{}
	for k := range r.Device {
		cats[k] = true
	}
	for k := range r.Host {
		cats[k] = true
	}
	keys := make([]string, 0, len(cats))
	for k := range cats {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "%-16s %12s %12s\n", "memory", "device", "host")
	for _, k := range keys {
		fmt.Fprintf(w, "%-16s %12s %12s\n", k, HumanBytes(r.Device[k]), HumanBytes(r.Host[k]))
	}
	fmt.Fprintf(w, "%-16s %12s %12s\n", "total", HumanBytes(r.DeviceTotal()), HumanBytes(r.HostTotal()))
}

// Memory reports where the trainer's tensors are now. The residency of optimizer state is read from the
// tensors themselves (a device buffer exists or not), so the report cannot drift from reality.
func (t *Trainer) Memory() MemoryReport {
	r := MemoryReport{Device: map[string]int64{}, Host: map[string]int64{}}
	for _, p := range t.model.Params {
		w := t.weights[p.Name]
		if w.IsOnAnyDevice() || !w.IsLocal() {
			r.Device[CatParameters] += tensorBytes(w)
		} else {
			r.Host[CatParameters] += tensorBytes(w)
		}
	}
	for _, p := range t.model.Buffers {
		if w, ok := t.weights[p.Name]; ok {
			r.Device[CatBuffers] += tensorBytes(w)
		}
	}
	for _, m := range t.masters {
		if m.IsOnAnyDevice() {
			r.Device[CatMasters] += tensorBytes(m)
		} else {
			r.Host[CatMasters] += tensorBytes(m)
		}
	}
	for name, ps := range t.state.params {
		onDev := false
		for _, st := range ps.tensors {
			if st.IsOnAnyDevice() {
				r.Device[CatOptimizer] += tensorBytes(st)
				onDev = true
			} else {
				r.Host[CatOptimizer] += tensorBytes(st)
			}
		}
		if onDev {
			r.StateOnDevice = append(r.StateOnDevice, name)
		}
	}
	sort.Strings(r.StateOnDevice)
	r.Device[CatGradients] = t.lastGradBytes
	return r
}

// StepMemory reports the bytes by category and place as they stood while the last step ran: Memory() plus
// the optimizer state (and, under Mixed^Hi, the fp32 masters) of that step's active group, which are on the
// device for its step and offloaded right after it (Memory(), taken between steps, shows them on the host).
// Gradients are the last step's, as in Memory(). Before the first step it equals Memory(). Sampling it after
// every step and keeping the largest value per category gives the peak device bytes of parameters, masters,
// gradients and optimizer state.
func (t *Trainer) StepMemory() MemoryReport {
	r := t.Memory()
	if t.step == 0 {
		return r
	}
	onDev := map[string]bool{}
	for _, p := range r.StateOnDevice {
		onDev[p] = true
	}
	for _, p := range t.paramsOf(t.activeUnits(t.step - 1)) {
		if m := t.masters[p]; m != nil && !m.IsOnAnyDevice() {
			b := tensorBytes(m)
			r.Host[CatMasters] -= b
			r.Device[CatMasters] += b
		}
		ps, ok := t.state.params[p]
		if !ok || onDev[p] {
			continue
		}
		for _, st := range ps.tensors {
			if !st.IsOnAnyDevice() {
				b := tensorBytes(st)
				r.Host[CatOptimizer] -= b
				r.Device[CatOptimizer] += b
			}
		}
		r.StateOnDevice = append(r.StateOnDevice, p)
	}
	sort.Strings(r.StateOnDevice)
	return r
}

// PrintCompileReport writes, per distinct group, its first-call time (compile + run), call count and mean
// step time of the later calls.
func (t *Trainer) PrintCompileReport(w io.Writer) {
	keys := make([]string, 0, len(t.steps))
	for k := range t.steps {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	names := map[string]string{}
	width := len("group (units)")
	for _, k := range keys {
		name := "all units"
		if k != "full" {
			parts := make([]string, len(t.steps[k].units))
			for i, u := range t.steps[k].units {
				parts[i] = t.model.Units[u].Name
			}
			name = strings.Join(parts, "+")
		}
		names[k], width = name, max(width, len(name))
	}
	fmt.Fprintf(w, "%-*s %6s %14s %14s\n", width, "group (units)", "steps", "first step ms", "mean step ms")
	for _, k := range keys {
		gs := t.steps[k]
		mean := 0.0
		if gs.calls > 1 {
			mean = (gs.totalTime - gs.firstCall).Seconds() / float64(gs.calls-1)
		}
		fmt.Fprintf(w, "%-*s %6d %14.1f %14.1f\n", width, names[k], gs.calls, 1000*gs.firstCall.Seconds(), 1000*mean)
	}
}
