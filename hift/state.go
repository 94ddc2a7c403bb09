package hift

import (
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/hift/optim"
)

// Residency says where a tensor lives.
type Residency int

// Residencies.
const (
	OnHost Residency = iota
	OnDevice
)

// paramState is one parameter's optimizer state and own step count (advanced only on its turns).
type paramState struct {
	tensors []*tensors.Tensor // in rule.State order; nil until the parameter's first turn
	steps   int64
}

// stateStore keeps every parameter's optimizer state, keyed by HF name. Inactive groups' state lives in host
// memory; the active group's state is on the device for its step only.
type stateStore struct {
	rule   optim.Rule
	params map[string]*paramState
}

func newStateStore(rule optim.Rule) *stateStore {
	return &stateStore{rule: rule, params: map[string]*paramState{}}
}

// get returns the state of a parameter, creating it (zeros or the rule's init, on the host) at its first turn.
func (s *stateStore) get(name string, shape []int) *paramState {
	ps, ok := s.params[name]
	if !ok {
		ps = &paramState{}
		s.params[name] = ps
	}
	if ps.tensors == nil {
		for _, spec := range s.rule.State(shapes.Make(dtypes.Float32, shape...)) {
			t := tensors.FromShape(spec.Shape)
			if spec.Init != 0 {
				tensors.MustMutableFlatData[float32](t, func(flat []float32) {
					for i := range flat {
						flat[i] = float32(spec.Init)
					}
				})
			}
			ps.tensors = append(ps.tensors, t)
		}
	}
	return ps
}

// offload moves a parameter's state to host memory and frees its device buffers.
func (s *stateStore) offload(name string) error {
	ps, ok := s.params[name]
	if !ok {
		return nil
	}
	for _, t := range ps.tensors {
		if t.IsOnAnyDevice() {
			if err := t.ToLocal(); err != nil {
				return err
			}
		}
	}
	return nil
}

// upload materialises a parameter's state on the device ahead of its group's step.
func (ps *paramState) upload(be backends.Backend) error {
	for _, t := range ps.tensors {
		if !t.IsOnDevice(0) {
			if err := t.MaterializeOnDevice(be, false, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

func tensorBytes(t *tensors.Tensor) int64 { return int64(t.Shape().Memory()) }
