package sgemm

import (
	"sync"
	"sync/atomic"
)

// parallelFor calls fn(i) for every i in [0, n) on up to nt goroutines: the caller's and helpers for which a
// token is free (so concurrent calls never run more than Threads goroutines of work in all).
func (g *Gemm) parallelFor(n, nt int, fn func(i int)) {
	if nt <= 1 || n <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			fn(i)
		}
	}
	var wg sync.WaitGroup
	for h := 0; h < min(nt, n)-1; h++ {
		select {
		case g.helpers <- struct{}{}:
			wg.Add(1)
			go func() {
				defer func() { <-g.helpers; wg.Done() }()
				work()
			}()
		default: // every core is busy with another call's work: do it here
		}
	}
	work()
	wg.Wait()
}

// getBuf returns a pooled buffer of at least n float32s (contents undefined).
func (g *Gemm) getBuf(n int) *[]float32 {
	if v, ok := g.bufs.Get().(*[]float32); ok && cap(*v) >= n {
		*v = (*v)[:n]
		return v
	}
	// Rounded up to a power of two (at most 2× the need), not to a full cache block: a small model's products
	// then keep small pooled buffers (a fixed 512 KiB per buffer was most of a tiny model's step memory), and the
	// varying A-chunk sizes of one problem still reuse each other's buffers.
	s := make([]float32, n, nextPow2(n))
	return &s
}

// nextPow2 is the smallest power of two >= n (n >= 1).
func nextPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

func (g *Gemm) putBuf(b *[]float32) { g.bufs.Put(b) }
