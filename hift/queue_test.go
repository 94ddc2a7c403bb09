package hift

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func queueTestNew(t *testing.T, cfg QueueConfig) *Queue {
	t.Helper()
	q, err := NewQueue(cfg)
	if err != nil {
		t.Fatalf("NewQueue(%+v): %v", cfg, err)
	}
	return q
}

// TestQueueFixtureUp2DownM2 is the hift_adamw_m2_up2down golden (fixtures
// README, "HiFT goldens"): n = 5, m = 2, up2down.
func TestQueueFixtureUp2DownM2(t *testing.T) {
	q := queueTestNew(t, QueueConfig{NumUnits: 5, GroupSize: 2, Strategy: StrategyUp2Down})
	if got, want := q.Initial(), []int{4, 3, 2, 1, 0}; !slices.Equal(got, want) {
		t.Fatalf("Initial = %v, want %v", got, want)
	}
	wantActive := [][]int{{4, 3}, {2, 1}, {0, 4}, {3, 2}, {1, 0}}
	for step := range 10 {
		if got, want := q.Active(step), wantActive[step%5]; !slices.Equal(got, want) {
			t.Errorf("Active(%d) = %v, want %v", step, got, want)
		}
		if got, want := q.GroupIndex(step), step%5; got != want {
			t.Errorf("GroupIndex(%d) = %d, want %d", step, got, want)
		}
	}
	groups := q.Groups()
	if len(groups) != 5 {
		t.Fatalf("len(Groups) = %d, want 5", len(groups))
	}
	for i, g := range groups {
		if !slices.Equal(g, wantActive[i]) {
			t.Errorf("Groups()[%d] = %v, want %v", i, g, wantActive[i])
		}
	}
	if q.StepsPerCycle() != 2 || q.NumUnits() != 5 || q.Period() != 5 || q.GroupSize() != 2 {
		t.Errorf("k, n, period, m = %d, %d, %d, %d; want 2, 5, 5, 2",
			q.StepsPerCycle(), q.NumUnits(), q.Period(), q.GroupSize())
	}
}

// TestQueueFixtureDown2UpM1 is the m = 1 golden (hift_adamw, hift_sgd, …,
// hift_adamw_linear_sched): each unit in depth order, 3 cycles.
func TestQueueFixtureDown2UpM1(t *testing.T) {
	q := queueTestNew(t, QueueConfig{NumUnits: 5, GroupSize: 1})
	for step := range 15 {
		if got, want := q.Active(step), []int{step % 5}; !slices.Equal(got, want) {
			t.Errorf("Active(%d) = %v, want %v", step, got, want)
		}
		if got := q.GroupIndex(step); got != step%5 {
			t.Errorf("GroupIndex(%d) = %d, want %d", step, got, step%5)
		}
	}
	if q.StepsPerCycle() != 5 || len(q.Groups()) != 5 {
		t.Errorf("k = %d, len(Groups) = %d; want 5, 5", q.StepsPerCycle(), len(q.Groups()))
	}
}

// TestQueueSlidingWindowDown2Up is the §3 example: n = 5, m = 2, down2up.
func TestQueueSlidingWindowDown2Up(t *testing.T) {
	q := queueTestNew(t, QueueConfig{NumUnits: 5, GroupSize: 2, Strategy: StrategyDown2Up})
	want := [][]int{{0, 1}, {2, 3}, {4, 0}, {1, 2}, {3, 4}}
	for step := range 20 {
		if got := q.Active(step); !slices.Equal(got, want[step%5]) {
			t.Errorf("Active(%d) = %v, want %v", step, got, want[step%5])
		}
	}
	if q.StepsPerCycle() != 2 {
		t.Errorf("StepsPerCycle = %d, want ⌊5/2⌋ = 2", q.StepsPerCycle())
	}
}

// queueTestSimulateOriginal replays the original's select_element: pop the
// first m units of the list and append them to the tail, once per step.
func queueTestSimulateOriginal(q0 []int, m, steps int) [][]int {
	list := slices.Clone(q0)
	out := make([][]int, steps)
	for s := range steps {
		head := slices.Clone(list[:m])
		out[s] = head
		list = append(list[m:], head...)
	}
	return out
}

// TestQueueRotateMatchesListRotation compares the closed form against a
// brute-force simulation of the original's list rotation.
func TestQueueRotateMatchesListRotation(t *testing.T) {
	for _, strategy := range []Strategy{StrategyDown2Up, StrategyUp2Down, StrategyRandom} {
		for n := 1; n <= 13; n++ {
			for m := 1; m <= n; m++ {
				q := queueTestNew(t, QueueConfig{NumUnits: n, GroupSize: m, Strategy: strategy, Seed: int64(n*100 + m)})
				steps := 3*n*m + 7
				sim := queueTestSimulateOriginal(q.Initial(), m, steps)
				groups := q.Groups()
				if len(groups) != n/queueGCD(n, m) {
					t.Errorf("%s n=%d m=%d: %d groups, want n/gcd = %d", strategy, n, m, len(groups), n/queueGCD(n, m))
				}
				for s := range steps {
					got := q.Active(s)
					if !slices.Equal(got, sim[s]) {
						t.Fatalf("%s n=%d m=%d: Active(%d) = %v, list rotation gives %v", strategy, n, m, s, got, sim[s])
					}
					if g := groups[q.GroupIndex(s)]; !slices.Equal(g, got) {
						t.Fatalf("%s n=%d m=%d: Groups()[GroupIndex(%d)] = %v, Active = %v", strategy, n, m, s, g, got)
					}
				}
				// Groups are in order of first use and pairwise distinct.
				seen := map[string]bool{}
				next := 0
				for s := range steps {
					key := fmt.Sprint(sim[s])
					if !seen[key] {
						seen[key] = true
						if !slices.Equal(groups[next], sim[s]) {
							t.Fatalf("%s n=%d m=%d: group %d = %v, first use order gives %v", strategy, n, m, next, groups[next], sim[s])
						}
						next++
					}
				}
				if next != len(groups) {
					t.Errorf("%s n=%d m=%d: %d distinct groups used, Groups has %d", strategy, n, m, next, len(groups))
				}
			}
		}
	}
}

func TestQueueLargeStep(t *testing.T) {
	q := queueTestNew(t, QueueConfig{NumUnits: 35, GroupSize: 3})
	// t·m would be a huge number; the closed form must stay exact.
	step := 1<<62 + 5
	off := (step % 35) * 3 % 35
	want := []int{off, (off + 1) % 35, (off + 2) % 35}
	if got := q.Active(step); !slices.Equal(got, want) {
		t.Errorf("Active(%d) = %v, want %v", step, got, want)
	}
}

func TestQueueFreeze(t *testing.T) {
	q := queueTestNew(t, QueueConfig{NumUnits: 5, GroupSize: 1, Freeze: []int{0, 3}})
	if got, want := q.Initial(), []int{1, 2, 4}; !slices.Equal(got, want) {
		t.Errorf("Initial = %v, want %v", got, want)
	}
	if q.NumUnits() != 3 || q.StepsPerCycle() != 3 {
		t.Errorf("n, k = %d, %d; want 3, 3", q.NumUnits(), q.StepsPerCycle())
	}
	for step, want := range [][]int{{1}, {2}, {4}, {1}} {
		if got := q.Active(step); !slices.Equal(got, want) {
			t.Errorf("Active(%d) = %v, want %v", step, got, want)
		}
	}
	// Freeze indices refer to the depth order, before the strategy.
	q = queueTestNew(t, QueueConfig{NumUnits: 5, GroupSize: 2, Strategy: StrategyUp2Down, Freeze: []int{3, 0}})
	if got, want := q.Initial(), []int{4, 2, 1}; !slices.Equal(got, want) {
		t.Errorf("up2down Initial = %v, want %v", got, want)
	}
	// A random permutation only permutes the unfrozen units.
	q = queueTestNew(t, QueueConfig{NumUnits: 9, GroupSize: 1, Strategy: StrategyRandom, Seed: 3, Freeze: []int{0, 8}})
	got := q.Initial()
	slices.Sort(got)
	if want := []int{1, 2, 3, 4, 5, 6, 7}; !slices.Equal(got, want) {
		t.Errorf("random with freeze: sorted Initial = %v, want %v", got, want)
	}
}

func TestQueueConfigIsCopied(t *testing.T) {
	freeze := []int{1}
	q := queueTestNew(t, QueueConfig{NumUnits: 4, GroupSize: 1, Freeze: freeze})
	freeze[0] = 2
	init := q.Initial()
	init[0] = 99
	a := q.Active(0)
	a[0] = 99
	g := q.Groups()
	g[1][0] = 99
	if got, want := q.Initial(), []int{0, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("Initial = %v after mutating inputs/results, want %v", got, want)
	}
	if got := q.Active(1); !slices.Equal(got, []int{2}) {
		t.Errorf("Active(1) = %v after mutating Groups(), want [2]", got)
	}
}

func queueTestIsPermutation(p []int, n int) bool {
	s := slices.Clone(p)
	slices.Sort(s)
	for i := range n {
		if i >= len(s) || s[i] != i {
			return false
		}
	}
	return len(s) == n
}

func TestQueueRandom(t *testing.T) {
	for _, n := range []int{1, 2, 6, 7, 35, 100} {
		a := queueTestNew(t, QueueConfig{NumUnits: n, GroupSize: 1, Strategy: StrategyRandom, Seed: 42})
		b := queueTestNew(t, QueueConfig{NumUnits: n, GroupSize: 1, Strategy: StrategyRandom, Seed: 42})
		if !queueTestIsPermutation(a.Initial(), n) {
			t.Errorf("n=%d: Initial %v is not a permutation", n, a.Initial())
		}
		if !slices.Equal(a.Initial(), b.Initial()) {
			t.Errorf("n=%d: same seed, different permutations %v and %v", n, a.Initial(), b.Initial())
		}
		if n < 6 {
			continue
		}
		for _, seed := range []int64{0, 1, 7, -1, 43} {
			c := queueTestNew(t, QueueConfig{NumUnits: n, GroupSize: 1, Strategy: StrategyRandom, Seed: seed})
			if slices.Equal(a.Initial(), c.Initial()) {
				t.Errorf("n=%d: seeds 42 and %d give the same permutation %v", n, seed, c.Initial())
			}
		}
	}
	// Pin the generator: the permutation for a seed must not change between
	// releases (it is printed, and resuming relies on it).
	q := queueTestNew(t, QueueConfig{NumUnits: 10, GroupSize: 1, Strategy: StrategyRandom, Seed: 2024})
	if got, want := q.Initial(), queueTestPinnedPerm; !slices.Equal(got, want) {
		t.Errorf("seed 2024, n=10: permutation %v, pinned %v", got, want)
	}
}

// queueTestPinnedPerm is the permutation of 10 units for seed 2024.
var queueTestPinnedPerm = []int{9, 4, 5, 1, 3, 2, 7, 6, 0, 8}

func TestQueueRandomIsUniformish(t *testing.T) {
	// Position counts over many seeds: each unit should land at position 0
	// about equally often (loose bound, catches gross bias only).
	const n, trials = 5, 5000
	counts := make([]int, n)
	for seed := range int64(trials) {
		q := queueTestNew(t, QueueConfig{NumUnits: n, GroupSize: 1, Strategy: StrategyRandom, Seed: seed})
		counts[q.Initial()[0]]++
	}
	for u, c := range counts {
		if c < trials/n*8/10 || c > trials/n*12/10 {
			t.Errorf("unit %d first in %d of %d permutations, want about %d", u, c, trials, trials/n)
		}
	}
}

func TestQueuePartition(t *testing.T) {
	q := queueTestNew(t, QueueConfig{NumUnits: 5, GroupSize: 2, Mode: GroupModePartition})
	want := [][]int{{0, 1}, {2, 3}, {4}}
	if q.StepsPerCycle() != 3 || q.Period() != 3 {
		t.Errorf("k, period = %d, %d; want ⌈5/2⌉ = 3, 3", q.StepsPerCycle(), q.Period())
	}
	for step := range 9 {
		if got := q.Active(step); !slices.Equal(got, want[step%3]) {
			t.Errorf("Active(%d) = %v, want %v", step, got, want[step%3])
		}
		if got := q.GroupIndex(step); got != step%3 {
			t.Errorf("GroupIndex(%d) = %d, want %d", step, got, step%3)
		}
	}
	if g := q.Groups(); len(g) != 3 || !slices.Equal(g[2], []int{4}) {
		t.Errorf("Groups = %v, want %v", g, want)
	}
	// up2down partition, and every cycle covers each unit exactly once.
	for n := 1; n <= 11; n++ {
		for m := 1; m <= n; m++ {
			q := queueTestNew(t, QueueConfig{NumUnits: n, GroupSize: m, Strategy: StrategyUp2Down, Mode: GroupModePartition})
			k := q.StepsPerCycle()
			if k != (n+m-1)/m {
				t.Fatalf("n=%d m=%d: k = %d", n, m, k)
			}
			for c := range 3 {
				var all []int
				for j := range k {
					g := q.Active(c*k + j)
					if len(g) == 0 || len(g) > m {
						t.Fatalf("n=%d m=%d: Active(%d) = %v", n, m, c*k+j, g)
					}
					all = append(all, g...)
				}
				if !queueTestIsPermutation(all, n) {
					t.Fatalf("n=%d m=%d: cycle %d covers %v", n, m, c, all)
				}
				if all[0] != n-1 {
					t.Fatalf("n=%d m=%d: up2down cycle starts with %d", n, m, all[0])
				}
			}
		}
	}
	// When m divides n, partition and rotate agree.
	r := queueTestNew(t, QueueConfig{NumUnits: 6, GroupSize: 3})
	p := queueTestNew(t, QueueConfig{NumUnits: 6, GroupSize: 3, Mode: GroupModePartition})
	for step := range 10 {
		if !slices.Equal(r.Active(step), p.Active(step)) {
			t.Errorf("m | n: Active(%d) rotate %v, partition %v", step, r.Active(step), p.Active(step))
		}
	}
}

func TestQueueReshuffleEachCycle(t *testing.T) {
	for _, mode := range []GroupMode{GroupModeRotate, GroupModePartition} {
		cfg := QueueConfig{NumUnits: 7, GroupSize: 2, Strategy: StrategyRandom, Seed: 9, ReshuffleEachCycle: true, Mode: mode}
		q := queueTestNew(t, cfg)
		plain := queueTestNew(t, QueueConfig{NumUnits: 7, GroupSize: 2, Strategy: StrategyRandom, Seed: 9, Mode: mode})
		if !slices.Equal(q.Initial(), plain.Initial()) {
			t.Errorf("%s: cycle 0 order %v differs from the plain random queue %v", mode, q.Initial(), plain.Initial())
		}
		if q.Period() != 0 {
			t.Errorf("%s: Period = %d, want 0 under reshuffling", mode, q.Period())
		}
		k := q.StepsPerCycle()
		// Cycle 0 equals the plain queue's first cycle.
		for j := range k {
			if !slices.Equal(q.Active(j), plain.Active(j)) {
				t.Errorf("%s: Active(%d) = %v, plain queue %v", mode, j, q.Active(j), plain.Active(j))
			}
		}
		if len(q.Groups()) != k {
			t.Errorf("%s: Groups before any GroupIndex call has %d groups, want cycle 0's %d", mode, len(q.Groups()), k)
		}
		// Within a cycle the active units are distinct; the cycle's orders differ.
		orders := map[string]bool{}
		for c := range 20 {
			var all []int
			for j := range k {
				all = append(all, q.Active(c*k+j)...)
			}
			if mode == GroupModePartition && !queueTestIsPermutation(all, 7) {
				t.Errorf("%s: cycle %d covers %v", mode, c, all)
			}
			if mode == GroupModeRotate {
				if len(all) != k*2 {
					t.Errorf("%s: cycle %d trains %v", mode, c, all)
				}
				s := slices.Clone(all)
				slices.Sort(s)
				if len(slices.Compact(s)) != len(all) {
					t.Errorf("%s: cycle %d repeats a unit: %v", mode, c, all)
				}
			}
			orders[fmt.Sprint(all)] = true
		}
		if len(orders) < 15 {
			t.Errorf("%s: only %d distinct cycle orders in 20 cycles", mode, len(orders))
		}
		// Deterministic: a fresh queue gives the same steps.
		again := queueTestNew(t, cfg)
		for step := 0; step < 20*k; step += 3 {
			if !slices.Equal(q.Active(step), again.Active(step)) {
				t.Fatalf("%s: Active(%d) not deterministic", mode, step)
			}
		}
		// GroupIndex does not depend on call order: query backwards on one
		// queue, forwards on another.
		fwd := queueTestNew(t, cfg)
		bwd := queueTestNew(t, cfg)
		const steps = 60
		back := make([]int, steps)
		for step := steps - 1; step >= 0; step-- {
			back[step] = bwd.GroupIndex(step)
		}
		for step := range steps {
			gi := fwd.GroupIndex(step)
			if gi != back[step] {
				t.Fatalf("%s: GroupIndex(%d) = %d forwards, %d backwards", mode, step, gi, back[step])
			}
			if g := fwd.Groups()[gi]; !slices.Equal(g, fwd.Active(step)) {
				t.Fatalf("%s: Groups()[GroupIndex(%d)] = %v, Active = %v", mode, step, g, fwd.Active(step))
			}
		}
		// Groups are distinct and numbered in order of first use.
		next := 0
		seen := map[string]bool{}
		for step := range steps {
			key := fmt.Sprint(fwd.Active(step))
			if !seen[key] {
				seen[key] = true
				if fwd.GroupIndex(step) != next {
					t.Fatalf("%s: first use of %s at step %d has index %d, want %d", mode, key, step, fwd.GroupIndex(step), next)
				}
				next++
			}
		}
	}
	// Different seeds reshuffle differently.
	a := queueTestNew(t, QueueConfig{NumUnits: 8, GroupSize: 1, Strategy: StrategyRandom, Seed: 1, ReshuffleEachCycle: true})
	b := queueTestNew(t, QueueConfig{NumUnits: 8, GroupSize: 1, Strategy: StrategyRandom, Seed: 2, ReshuffleEachCycle: true})
	same := 0
	for c := range 10 {
		if slices.Equal(a.Active(c*8), b.Active(c*8)) && slices.Equal(a.Active(c*8+1), b.Active(c*8+1)) {
			same++
		}
	}
	if same == 10 {
		t.Errorf("seeds 1 and 2 reshuffle identically")
	}
}

func TestQueueReshuffleConcurrent(t *testing.T) {
	q := queueTestNew(t, QueueConfig{NumUnits: 6, GroupSize: 2, Strategy: StrategyRandom, Seed: 5, ReshuffleEachCycle: true})
	ref := queueTestNew(t, QueueConfig{NumUnits: 6, GroupSize: 2, Strategy: StrategyRandom, Seed: 5, ReshuffleEachCycle: true})
	want := make([]int, 200)
	for s := range want {
		want[s] = ref.GroupIndex(s)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := 199 - w; s >= 0; s -= 4 {
				if got := q.GroupIndex(s); got != want[s] {
					t.Errorf("GroupIndex(%d) = %d, want %d", s, got, want[s])
				}
				_ = q.Groups()
			}
		}()
	}
	wg.Wait()
}

func TestQueueErrors(t *testing.T) {
	cases := []struct {
		name string
		cfg  QueueConfig
		want string
	}{
		{"no units", QueueConfig{NumUnits: 0, GroupSize: 1}, "number of units"},
		{"m = 0", QueueConfig{NumUnits: 5, GroupSize: 0}, "group size"},
		{"m < 0", QueueConfig{NumUnits: 5, GroupSize: -1}, "group size"},
		{"m > n", QueueConfig{NumUnits: 5, GroupSize: 6}, "exceeds"},
		{"m > n after freeze", QueueConfig{NumUnits: 5, GroupSize: 4, Freeze: []int{0, 1}}, "exceeds"},
		{"unknown strategy", QueueConfig{NumUnits: 5, GroupSize: 1, Strategy: "sideways"}, "unknown strategy"},
		{"unknown mode", QueueConfig{NumUnits: 5, GroupSize: 1, Mode: "stripes"}, "unknown group mode"},
		{"freeze out of range", QueueConfig{NumUnits: 5, GroupSize: 1, Freeze: []int{5}}, "out of range"},
		{"freeze negative", QueueConfig{NumUnits: 5, GroupSize: 1, Freeze: []int{-1}}, "out of range"},
		{"freeze duplicate", QueueConfig{NumUnits: 5, GroupSize: 1, Freeze: []int{2, 1, 2}}, "more than once"},
		{"all frozen", QueueConfig{NumUnits: 3, GroupSize: 1, Freeze: []int{0, 1, 2}}, "all 3 units are frozen"},
		{"reshuffle without random", QueueConfig{NumUnits: 5, GroupSize: 1, Strategy: StrategyUp2Down, ReshuffleEachCycle: true}, "reshuffle"},
	}
	for _, c := range cases {
		q, err := NewQueue(c.cfg)
		if err == nil {
			t.Errorf("%s: NewQueue succeeded (%v), want an error", c.name, q.Initial())
			continue
		}
		if !strings.HasPrefix(err.Error(), "queue: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want prefix \"queue: \" and %q", c.name, err, c.want)
		}
	}
	// m = n is allowed: one group, every step.
	q := queueTestNew(t, QueueConfig{NumUnits: 4, GroupSize: 4, Strategy: StrategyUp2Down})
	for step := range 3 {
		if got := q.Active(step); !slices.Equal(got, []int{3, 2, 1, 0}) {
			t.Errorf("m = n: Active(%d) = %v", step, got)
		}
	}
	if q.StepsPerCycle() != 1 || len(q.Groups()) != 1 {
		t.Errorf("m = n: k = %d, %d groups; want 1, 1", q.StepsPerCycle(), len(q.Groups()))
	}
}

func TestQueueNegativeStepPanics(t *testing.T) {
	q := queueTestNew(t, QueueConfig{NumUnits: 3, GroupSize: 1})
	for name, f := range map[string]func(){
		"Active":     func() { q.Active(-1) },
		"GroupIndex": func() { q.GroupIndex(-1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s(-1) did not panic", name)
				}
			}()
			f()
		}()
	}
}
