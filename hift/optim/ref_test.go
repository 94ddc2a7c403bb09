package optim

import (
	"fmt"
	"math"
	"slices"
)

// Independent float64 reference implementations of every rule, written straight from the formulas of
// hift-algorithm.md §9 (and the PyTorch / transformers sources they transcribe), element by element.
// st holds the state in State() order; the functions return new slices and never alias their inputs.

type refFn func(c Config, dims []int, p, g []float64, st [][]float64, s, lr float64, decay bool) ([]float64, [][]float64)

func refFor(name string) refFn {
	switch name {
	case NameAdamW:
		return refAdamW
	case NameAdamWHF:
		return refAdamWHF
	case NameAdam:
		return refAdam
	case NameSGD:
		return refSGD
	case NameAdagrad:
		return refAdagrad
	case NameAdafactor:
		return refAdafactor
	case NameRMSprop:
		return refRMSprop
	case NameLion:
		return refLion
	}
	panic(fmt.Sprintf("no reference for %q", name))
}

func cloneState(st [][]float64) [][]float64 {
	out := make([][]float64, len(st))
	for i := range st {
		out[i] = slices.Clone(st[i])
	}
	return out
}

func wdOf(c Config, decay bool) float64 {
	if decay {
		return c.WeightDecay
	}
	return 0
}

// refAdamCore: m, v[, vmax]; p -= lr/(1-b1^s) * m / (sqrt(v)/sqrt(1-b2^s) + eps).
func refAdamCore(c Config, p, g []float64, st [][]float64, s, lr float64) {
	m, v := st[0], st[1]
	bc1 := 1 - math.Pow(c.Beta1, s)
	bc2 := 1 - math.Pow(c.Beta2, s)
	for i := range p {
		m[i] = c.Beta1*m[i] + (1-c.Beta1)*g[i]
		v[i] = c.Beta2*v[i] + (1-c.Beta2)*g[i]*g[i]
		vd := v[i]
		if c.AMSGrad {
			st[2][i] = math.Max(st[2][i], v[i])
			vd = st[2][i]
		}
		p[i] -= lr / bc1 * m[i] / (math.Sqrt(vd)/math.Sqrt(bc2) + c.Eps)
	}
}

func refAdamW(c Config, _ []int, p0, g []float64, st0 [][]float64, s, lr float64, decay bool) ([]float64, [][]float64) {
	p, st := slices.Clone(p0), cloneState(st0)
	wd := wdOf(c, decay)
	for i := range p {
		p[i] *= 1 - lr*wd
	}
	refAdamCore(c, p, g, st, s, lr)
	return p, st
}

func refAdam(c Config, _ []int, p0, g0 []float64, st0 [][]float64, s, lr float64, decay bool) ([]float64, [][]float64) {
	p, st := slices.Clone(p0), cloneState(st0)
	wd := wdOf(c, decay)
	g := make([]float64, len(g0))
	for i := range g {
		g[i] = g0[i] + wd*p[i]
	}
	refAdamCore(c, p, g, st, s, lr)
	return p, st
}

func refAdamWHF(c Config, _ []int, p0, g []float64, st0 [][]float64, s, lr float64, decay bool) ([]float64, [][]float64) {
	p, st := slices.Clone(p0), cloneState(st0)
	wd := wdOf(c, decay)
	m, v := st[0], st[1]
	step := lr
	if c.CorrectBias {
		step = lr * math.Sqrt(1-math.Pow(c.Beta2, s)) / (1 - math.Pow(c.Beta1, s))
	}
	for i := range p {
		m[i] = c.Beta1*m[i] + (1-c.Beta1)*g[i]
		v[i] = c.Beta2*v[i] + (1-c.Beta2)*g[i]*g[i]
		p[i] -= step * m[i] / (math.Sqrt(v[i]) + c.Eps)
		p[i] -= lr * wd * p[i]
	}
	return p, st
}

func refSGD(c Config, _ []int, p0, g []float64, st0 [][]float64, s, lr float64, decay bool) ([]float64, [][]float64) {
	p, st := slices.Clone(p0), cloneState(st0)
	wd := wdOf(c, decay)
	for i := range p {
		d := g[i] + wd*p[i]
		if c.Momentum != 0 {
			b := st[0]
			if s == 1 {
				b[i] = d
			} else {
				b[i] = c.Momentum*b[i] + (1-c.Dampening)*d
			}
			if c.Nesterov {
				d += c.Momentum * b[i]
			} else {
				d = b[i]
			}
		}
		p[i] -= lr * d
	}
	return p, st
}

func refAdagrad(c Config, _ []int, p0, g0 []float64, st0 [][]float64, s, lr float64, decay bool) ([]float64, [][]float64) {
	p, st := slices.Clone(p0), cloneState(st0)
	wd := wdOf(c, decay)
	clr := lr / (1 + (s-1)*c.LRDecay)
	for i := range p {
		g := g0[i] + wd*p[i]
		st[0][i] += g * g
		p[i] -= clr * g / (math.Sqrt(st[0][i]) + c.Eps)
	}
	return p, st
}

func refRMSprop(c Config, _ []int, p0, g0 []float64, st0 [][]float64, s, lr float64, decay bool) ([]float64, [][]float64) {
	p, st := slices.Clone(p0), cloneState(st0)
	wd := wdOf(c, decay)
	A := st[0]
	var B, Gb []float64
	k := 1
	if c.Momentum > 0 {
		B = st[k]
		k++
	}
	if c.Centered {
		Gb = st[k]
	}
	for i := range p {
		g := g0[i] + wd*p[i]
		A[i] = c.Alpha*A[i] + (1-c.Alpha)*g*g
		var d float64
		if c.Centered {
			Gb[i] = c.Alpha*Gb[i] + (1-c.Alpha)*g
			d = math.Sqrt(A[i]-Gb[i]*Gb[i]) + c.Eps
		} else {
			d = math.Sqrt(A[i]) + c.Eps
		}
		if c.Momentum > 0 {
			B[i] = c.Momentum*B[i] + g/d
			p[i] -= lr * B[i]
		} else {
			p[i] -= lr * g / d
		}
	}
	return p, st
}

func refLion(c Config, _ []int, p0, g []float64, st0 [][]float64, s, lr float64, decay bool) ([]float64, [][]float64) {
	p, st := slices.Clone(p0), cloneState(st0)
	wd := wdOf(c, decay)
	m := st[0]
	for i := range p {
		cc := c.Beta1*m[i] + (1-c.Beta1)*g[i]
		sign := 0.0
		if cc > 0 {
			sign = 1
		} else if cc < 0 {
			sign = -1
		}
		p[i] = p[i]*(1-lr*wd) - lr*sign
		m[i] = c.Beta2*m[i] + (1-c.Beta2)*g[i]
	}
	return p, st
}

func refRMS(x []float64) float64 {
	ss := 0.0
	for _, v := range x {
		ss += v * v
	}
	return math.Sqrt(ss / float64(len(x)))
}

func refAdafactor(c Config, dims []int, p0, g []float64, st0 [][]float64, s, lr float64, decay bool) ([]float64, [][]float64) {
	p, st := slices.Clone(p0), cloneState(st0)
	wd := wdOf(c, decay)
	n := len(p)
	// Step size α.
	alpha := lr
	if c.RelativeStep {
		minStep := 1e-2
		if c.WarmupInit {
			minStep = 1e-6 * s
		}
		alpha = math.Min(minStep, 1/math.Sqrt(s))
	}
	if c.ScaleParameter {
		alpha *= math.Max(c.Eps2, refRMS(p0))
	}
	rho := 1 - math.Pow(s, c.DecayRate)
	sq := st
	if c.Beta1Set {
		sq = st[1:]
	}
	G := make([]float64, n)
	for i := range G {
		G[i] = g[i]*g[i] + c.Eps
	}
	u := make([]float64, n)
	if len(dims) >= 2 {
		rows, cols := dims[len(dims)-2], dims[len(dims)-1]
		batch := n / (rows * cols)
		R, C := sq[0], sq[1] // [batch*rows], [batch*cols]
		for b := 0; b < batch; b++ {
			for i := 0; i < rows; i++ {
				mean := 0.0
				for j := 0; j < cols; j++ {
					mean += G[(b*rows+i)*cols+j]
				}
				R[b*rows+i] = rho*R[b*rows+i] + (1-rho)*mean/float64(cols)
			}
			for j := 0; j < cols; j++ {
				mean := 0.0
				for i := 0; i < rows; i++ {
					mean += G[(b*rows+i)*cols+j]
				}
				C[b*cols+j] = rho*C[b*cols+j] + (1-rho)*mean/float64(rows)
			}
			rMean := 0.0
			for i := 0; i < rows; i++ {
				rMean += R[b*rows+i]
			}
			rMean /= float64(rows)
			for i := 0; i < rows; i++ {
				for j := 0; j < cols; j++ {
					k := (b*rows+i)*cols + j
					u[k] = g[k] / math.Sqrt(R[b*rows+i]/rMean*C[b*cols+j])
				}
			}
		}
	} else {
		V := sq[0]
		for i := range V {
			V[i] = rho*V[i] + (1-rho)*G[i]
			u[i] = g[i] / math.Sqrt(V[i])
		}
	}
	clip := math.Max(1, refRMS(u)/c.ClipThreshold)
	for i := range u {
		u[i] = alpha * u[i] / clip
	}
	if c.Beta1Set {
		M := st[0]
		for i := range u {
			M[i] = c.Beta1*M[i] + (1-c.Beta1)*u[i]
			u[i] = M[i]
		}
	}
	for i := range p {
		p[i] = p[i] - wd*alpha*p[i] - u[i]
	}
	return p, st
}
