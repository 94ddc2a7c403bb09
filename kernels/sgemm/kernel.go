package sgemm

import (
	"os"
	"unsafe"
)

// Kernel is a micro-kernel: it computes one MR × NR tile of C from packed panels of A and B. Every kernel
// works with every packing, so tests can force each one (Kernels lists those this CPU can run).
type Kernel struct {
	// Name identifies the kernel: "avx512", "avx2", "generic".
	Name string
	// MR and NR are the tile's rows and columns.
	MR, NR int
	// micro computes C[MR × NR] (row stride ldc) = (acc ? C : 0) + Σ_p a[p·MR + i] · b[p·NR + j] for p < k.
	micro func(k int, a, b, c *float32, ldc int, acc bool)
}

// KernelEnv names the environment variable that forces a kernel by name (e.g. "generic") for diagnosis.
const KernelEnv = "HIFT_SGEMM_KERNEL"

// generic is the portable Go micro-kernel, used where no assembly kernel fits the CPU.
var generic = &Kernel{Name: "generic", MR: 4, NR: 16, micro: microGeneric}

// Kernels returns the micro-kernels this CPU can run, fastest first; the portable Go kernel is always last.
func Kernels() []*Kernel {
	return append(platformKernels(), generic)
}

// Best returns the fastest kernel this CPU can run, or the one named by $HIFT_SGEMM_KERNEL when that names an
// available kernel.
func Best() *Kernel {
	ks := Kernels()
	if name := os.Getenv(KernelEnv); name != "" {
		for _, k := range ks {
			if k.Name == name {
				return k
			}
		}
	}
	return ks[0]
}

// microGeneric is the portable 4 × 16 micro-kernel in plain Go.
func microGeneric(k int, ap, bp, cp *float32, ldc int, acc bool) {
	const mr, nr = 4, 16
	var t [mr][nr]float32
	if k > 0 {
		a := unsafe.Slice(ap, k*mr)
		b := unsafe.Slice(bp, k*nr)
		for p := 0; p < k; p++ {
			bv := (*[nr]float32)(b[p*nr : p*nr+nr])
			av := (*[mr]float32)(a[p*mr : p*mr+mr])
			for i := 0; i < mr; i++ {
				ai := av[i]
				row := &t[i]
				for j := 0; j < nr; j++ {
					row[j] += ai * bv[j]
				}
			}
		}
	}
	c := unsafe.Slice(cp, (mr-1)*ldc+nr)
	for i := 0; i < mr; i++ {
		row := c[i*ldc : i*ldc+nr]
		if acc {
			for j := range row {
				row[j] += t[i][j]
			}
		} else {
			copy(row, t[i][:])
		}
	}
}
