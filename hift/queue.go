package hift

// HiFT unit queue: which units are trained at each optimizer step.
//
// See /work/shared/design/hift-algorithm.md §3. The original HiFT implementation
// (select_element() in hift/trainer.py) keeps a Python list of units, takes the
// first m of them as the active group, removes them from the head and appends
// them to the tail. Queue reproduces that rotation as a pure function of the
// optimizer step t, so resuming a run and testing need no hidden state.

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Strategy is the order in which units enter the initial queue.
type Strategy string

const (
	// StrategyDown2Up trains the embedding unit first, then the blocks in depth
	// order, then the final norm and head (the original's default). The empty
	// Strategy means StrategyDown2Up.
	StrategyDown2Up Strategy = "down2up"
	// StrategyUp2Down is the reverse of StrategyDown2Up: the head first.
	StrategyUp2Down Strategy = "up2down"
	// StrategyRandom uses one pseudo-random permutation of the units, derived
	// deterministically from QueueConfig.Seed (not bit-identical to the
	// original's Python random.shuffle). With QueueConfig.ReshuffleEachCycle a
	// new permutation is drawn for every cycle.
	StrategyRandom Strategy = "random"
)

// GroupMode selects how the active group of m units is formed at each step.
type GroupMode string

const (
	// GroupModeRotate is the original's behaviour (the default; the empty
	// GroupMode means GroupModeRotate): at step t the active units are
	// Q0[(t·m + i) mod n] for i = 0..m−1. When n is not a multiple of m the
	// groups form a sliding window whose period is n / gcd(n, m) steps, and a
	// cycle of k = ⌊n/m⌋ steps does not cover every unit exactly once.
	GroupModeRotate GroupMode = "rotate"
	// GroupModePartition splits the queue into fixed groups of m consecutive
	// entries, the last one smaller when n is not a multiple of m; a cycle has
	// k = ⌈n/m⌉ steps and covers every unit exactly once.
	GroupModePartition GroupMode = "partition"
)

// QueueConfig describes a HiFT unit queue.
type QueueConfig struct {
	// NumUnits is the number of units discovered in the model, in depth order
	// (0 = embedding unit, 1 = first block, …). Must be ≥ 1.
	NumUnits int
	// GroupSize is m, the number of units trained together in one step
	// (the original's group_element). Must satisfy 1 ≤ m ≤ n, where n is the
	// number of units left after Freeze.
	GroupSize int
	// Strategy orders the initial queue; empty means StrategyDown2Up.
	Strategy Strategy
	// Seed determines the permutation of StrategyRandom. It is ignored by the
	// other strategies.
	Seed int64
	// ReshuffleEachCycle (StrategyRandom only) draws a new permutation for every
	// cycle c, derived deterministically from Seed and c; cycle 0 uses the
	// permutation returned by Initial. It is an error with another strategy.
	ReshuffleEachCycle bool
	// Freeze lists indices into the discovered unit list (before the strategy
	// is applied) of units that are never trained. Out-of-range (including
	// negative) and duplicate indices are rejected, and so is freezing every
	// unit.
	Freeze []int
	// Mode selects how groups are formed; empty means GroupModeRotate.
	Mode GroupMode
}

// Queue is the HiFT unit queue: it tells which units (indices into the
// discovered unit list) are active at each optimizer step. Every query is a
// pure function of the step; a Queue is safe for concurrent use.
type Queue struct {
	cfg     QueueConfig
	base    []int // units left after Freeze, in depth order
	initial []int // Q0: base after the strategy (cycle 0 under reshuffle)
	n, m    int
	k       int // steps per cycle
	period  int // steps after which Active repeats; 0 when it never does (reshuffle)
	groups  [][]int

	// Reshuffle only: groups discovered so far, in order of first use.
	mu      sync.Mutex
	scanned int            // cycles scanned so far
	byKey   map[string]int // group key -> index into groups
}

// NewQueue validates cfg and builds the queue.
func NewQueue(cfg QueueConfig) (*Queue, error) {
	cfg.Freeze = slices.Clone(cfg.Freeze)
	if cfg.Strategy == "" {
		cfg.Strategy = StrategyDown2Up
	}
	if cfg.Mode == "" {
		cfg.Mode = GroupModeRotate
	}
	switch cfg.Strategy {
	case StrategyDown2Up, StrategyUp2Down, StrategyRandom:
	default:
		return nil, fmt.Errorf("queue: unknown strategy %q (want %q, %q or %q)",
			cfg.Strategy, StrategyDown2Up, StrategyUp2Down, StrategyRandom)
	}
	switch cfg.Mode {
	case GroupModeRotate, GroupModePartition:
	default:
		return nil, fmt.Errorf("queue: unknown group mode %q (want %q or %q)",
			cfg.Mode, GroupModeRotate, GroupModePartition)
	}
	if cfg.ReshuffleEachCycle && cfg.Strategy != StrategyRandom {
		return nil, fmt.Errorf("queue: reshuffle each cycle needs strategy %q, got %q",
			StrategyRandom, cfg.Strategy)
	}
	if cfg.NumUnits < 1 {
		return nil, fmt.Errorf("queue: number of units must be at least 1, got %d", cfg.NumUnits)
	}
	if cfg.GroupSize < 1 {
		return nil, fmt.Errorf("queue: group size m must be at least 1, got %d", cfg.GroupSize)
	}
	frozen := make([]bool, cfg.NumUnits)
	for _, f := range cfg.Freeze {
		if f < 0 || f >= cfg.NumUnits {
			return nil, fmt.Errorf("queue: freeze index %d out of range [0, %d)", f, cfg.NumUnits)
		}
		if frozen[f] {
			return nil, fmt.Errorf("queue: freeze index %d listed more than once", f)
		}
		frozen[f] = true
	}
	base := make([]int, 0, cfg.NumUnits)
	for u := range cfg.NumUnits {
		if !frozen[u] {
			base = append(base, u)
		}
	}
	n, m := len(base), cfg.GroupSize
	if n == 0 {
		return nil, fmt.Errorf("queue: all %d units are frozen, nothing to train", cfg.NumUnits)
	}
	if m > n {
		return nil, fmt.Errorf("queue: group size m = %d exceeds the %d trainable units (%d discovered, %d frozen)",
			m, n, cfg.NumUnits, len(cfg.Freeze))
	}

	q := &Queue{cfg: cfg, base: base, n: n, m: m}
	switch cfg.Strategy {
	case StrategyDown2Up:
		q.initial = slices.Clone(base)
	case StrategyUp2Down:
		q.initial = slices.Clone(base)
		slices.Reverse(q.initial)
	case StrategyRandom:
		q.initial = queuePermutation(base, cfg.Seed, 0)
	}
	if cfg.Mode == GroupModePartition {
		q.k = (n + m - 1) / m
	} else {
		q.k = n / m
	}

	if cfg.ReshuffleEachCycle {
		q.byKey = make(map[string]int)
		q.scanCycles(1)
		return q, nil
	}
	if cfg.Mode == GroupModePartition {
		q.period = q.k
	} else {
		q.period = n / queueGCD(n, m)
	}
	// Within one period every step starts at a different queue offset, so its
	// groups are pairwise distinct and Groups()[j] = Active(j).
	q.groups = make([][]int, q.period)
	for j := range q.period {
		q.groups[j] = q.activeIn(q.initial, j)
	}
	return q, nil
}

// Initial returns the initial queue Q0: indices into the discovered unit list,
// after Freeze and the strategy. Under ReshuffleEachCycle it is the order used
// by cycle 0.
func (q *Queue) Initial() []int { return slices.Clone(q.initial) }

// Active returns the units (indices into the discovered unit list) trained at
// optimizer step t (0-based), in queue order.
//
//   - GroupModeRotate: Q0[(t·m + i) mod n], i = 0..m−1, exactly the original's
//     select_element rotation (first m units moved to the tail every step).
//   - GroupModePartition: group t mod k of the fixed groups of m consecutive
//     queue entries (the last one smaller), k = ⌈n/m⌉.
//   - ReshuffleEachCycle: cycle c = ⌊t/k⌋ uses its own permutation P_c and the
//     step j = t mod k within it; rotate gives P_c[(j·m + i) mod n] (never
//     wrapping, since j·m + m ≤ k·m ≤ n, so when n mod m ≠ 0 the last n mod m
//     entries of P_c are skipped in that cycle), partition gives group j of P_c
//     (every unit exactly once per cycle).
//
// Active panics if t is negative.
func (q *Queue) Active(t int) []int {
	if t < 0 {
		panic(fmt.Sprintf("queue: Active: negative step %d", t))
	}
	if q.cfg.ReshuffleEachCycle {
		return q.activeIn(q.cycleOrder(t/q.k), t%q.k)
	}
	return slices.Clone(q.groups[t%q.period])
}

// StepsPerCycle returns k, the number of optimizer steps in one cycle (the
// LR scheduler ticks once per cycle): ⌊n/m⌋ for GroupModeRotate (as the
// original), ⌈n/m⌉ for GroupModePartition.
func (q *Queue) StepsPerCycle() int { return q.k }

// NumUnits returns n, the number of units in the queue (after Freeze).
func (q *Queue) NumUnits() int { return q.n }

// GroupSize returns m, the number of units active per step.
func (q *Queue) GroupSize() int { return q.m }

// Period returns the number of steps after which Active repeats: n/gcd(n, m)
// for GroupModeRotate, ⌈n/m⌉ for GroupModePartition, and 0 under
// ReshuffleEachCycle, where the sequence is not periodic.
func (q *Queue) Period() int { return q.period }

// Groups returns the distinct groups (ordered lists of units, as returned by
// Active) in order of first use. Without reshuffling this is one period, so
// Groups()[GroupIndex(t)] equals Active(t) and len(Groups()) is the number of
// distinct step programs: n/gcd(n, m) for rotate, ⌈n/m⌉ for partition.
//
// Under ReshuffleEachCycle the set of groups is not known in advance: Groups
// returns the groups of the cycles scanned so far (at least cycle 0; GroupIndex
// scans further on demand), so its result may grow between calls, but the
// index of a group never changes.
func (q *Queue) Groups() [][]int {
	if q.cfg.ReshuffleEachCycle {
		q.mu.Lock()
		defer q.mu.Unlock()
	}
	out := make([][]int, len(q.groups))
	for i, g := range q.groups {
		out[i] = slices.Clone(g)
	}
	return out
}

// GroupIndex returns the index into Groups() of Active(t). Without reshuffling
// it is t mod Period(). Under ReshuffleEachCycle groups are identified by their
// content (the ordered unit list) and numbered in order of first use from step
// 0, so the result does not depend on the order of calls; the first call for a
// large t scans all cycles up to t once (O(t·m) time, memory proportional to
// the number of distinct groups). GroupIndex panics if t is negative.
func (q *Queue) GroupIndex(t int) int {
	if t < 0 {
		panic(fmt.Sprintf("queue: GroupIndex: negative step %d", t))
	}
	if !q.cfg.ReshuffleEachCycle {
		return t % q.period
	}
	g := q.Active(t)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.scanCycles(t/q.k + 1)
	return q.byKey[queueGroupKey(g)]
}

// scanCycles registers the groups of every cycle below upTo (reshuffle only).
// The caller holds q.mu, or q is not shared yet.
func (q *Queue) scanCycles(upTo int) {
	for ; q.scanned < upTo; q.scanned++ {
		order := q.cycleOrder(q.scanned)
		for j := range q.k {
			g := q.activeIn(order, j)
			key := queueGroupKey(g)
			if _, ok := q.byKey[key]; !ok {
				q.byKey[key] = len(q.groups)
				q.groups = append(q.groups, g)
			}
		}
	}
}

// cycleOrder returns the queue order used in cycle c under reshuffling.
func (q *Queue) cycleOrder(c int) []int {
	if c == 0 {
		return q.initial
	}
	return queuePermutation(q.base, q.cfg.Seed, c)
}

// activeIn returns the group at step j of a queue order (see Active).
func (q *Queue) activeIn(order []int, j int) []int {
	n, m := q.n, q.m
	if q.cfg.Mode == GroupModePartition {
		start := (j % q.k) * m
		return slices.Clone(order[start:min(start+m, n)])
	}
	g := make([]int, m)
	off := (j % n) * m % n
	for i := range m {
		g[i] = order[(off+i)%n]
	}
	return g
}

// queuePermutation shuffles base (Fisher–Yates) with a PCG generator seeded
// from seed and the cycle index. The bounded draws are implemented here on top
// of PCG's raw 64-bit output, which math/rand/v2 specifies exactly, so the
// permutation for a given seed does not depend on the Go release.
func queuePermutation(base []int, seed int64, cycle int) []int {
	src := rand.NewPCG(uint64(seed), queueSplitMix64(uint64(cycle)))
	out := slices.Clone(base)
	for i := len(out) - 1; i > 0; i-- {
		j := queueBounded(src, uint64(i)+1)
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// queueBounded returns a uniform integer in [0, bound) (Lemire's method with
// rejection, so it is unbiased).
func queueBounded(src *rand.PCG, bound uint64) uint64 {
	hi, lo := bits.Mul64(src.Uint64(), bound)
	if lo < bound {
		threshold := -bound % bound
		for lo < threshold {
			hi, lo = bits.Mul64(src.Uint64(), bound)
		}
	}
	return hi
}

// queueSplitMix64 scrambles the cycle index into PCG's second seed word, so
// that neighbouring cycles get unrelated streams.
func queueSplitMix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// queueGroupKey is the identity of an ordered group.
func queueGroupKey(g []int) string {
	var sb strings.Builder
	for i, u := range g {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.Itoa(u))
	}
	return sb.String()
}

// queueGCD returns the greatest common divisor of two positive integers.
func queueGCD(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
