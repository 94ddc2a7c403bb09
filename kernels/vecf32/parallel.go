package vecf32

import (
	"runtime"
	"sync"
)

// Parallel calls fn on contiguous parts [lo, hi) covering [0, n): one part when n < 2·grain, else up to
// GOMAXPROCS parts of at least grain each, run concurrently (the caller runs the last).
func Parallel(n, grain int, fn func(lo, hi int)) {
	parts := min(runtime.GOMAXPROCS(0), n/max(grain, 1))
	if parts <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for p := 0; p < parts-1; p++ {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(p*n/parts, (p+1)*n/parts)
	}
	fn((parts-1)*n/parts, n)
	wg.Wait()
}
