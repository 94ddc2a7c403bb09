// Package data turns datasets into fixed-shape batches for training and evaluation. It has no GoMLX
// dependency: batches are plain Go slices, converted to tensors by the trainer.
package data

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/hift-go/hift/io/safetensors"
)

// Column is one batch tensor: integer (Ints) or float (Floats) data of the given shape, row-major.
type Column struct {
	Shape  []int
	Ints   []int64
	Floats []float32
}

// rowSize is the number of elements of one row (axis 0).
func (c Column) rowSize() int {
	n := 1
	for _, d := range c.Shape[1:] {
		n *= d
	}
	return n
}

// Batch maps tensor names (input_ids, attention_mask, labels, ...) to columns.
type Batch map[string]Column

// Rows returns the batch size.
func (b Batch) Rows() int {
	for _, c := range b {
		return c.Shape[0]
	}
	return 0
}

// TensorDataset is a pre-tokenized dataset held in a safetensors file: every tensor has the examples along
// axis 0 (input_ids [N, T], attention_mask [N, T], labels [N, T] or [N], ...).
type TensorDataset struct {
	Path    string
	N       int
	Columns map[string]Column
}

// integerColumns are the batch tensors that hold ids, masks or positions (labels may be float: regression).
var integerColumns = map[string]bool{"input_ids": true, "attention_mask": true, "token_type_ids": true,
	"position_ids": true, "start_positions": true, "end_positions": true}

// LoadTensorDataset reads a pre-tokenized batch file (as the golden fixtures' inputs.safetensors).
func LoadTensorDataset(path string) (*TensorDataset, error) {
	ck, err := safetensors.Open(path)
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	ds := &TensorDataset{Path: path, Columns: map[string]Column{}, N: -1}
	for _, name := range ck.Names() {
		info, _ := ck.Info(name)
		if len(info.Shape) == 0 {
			return nil, fmt.Errorf("data %s: tensor %q is a scalar; every tensor needs the examples along axis 0", path, name)
		}
		if ds.N >= 0 && info.Shape[0] != ds.N {
			return nil, fmt.Errorf("data %s: tensor %q has %d rows, others have %d", path, name, info.Shape[0], ds.N)
		}
		ds.N = info.Shape[0]
		c := Column{Shape: slices.Clone(info.Shape)}
		if info.DType.IsFloat() && integerColumns[name] {
			// Read as floats, ids would be silently unusable (every position treated as missing).
			return nil, fmt.Errorf("data %s: tensor %q is %s; token ids, masks and positions must be an integer type (I64 or I32)", path, name, info.DType)
		}
		if info.DType.IsFloat() {
			c.Floats, err = ck.Float32(name)
		} else {
			c.Ints, err = ck.Int64(name)
		}
		if err != nil {
			return nil, err
		}
		ds.Columns[name] = c
	}
	if _, ok := ds.Columns["input_ids"]; !ok {
		return nil, fmt.Errorf("data %s: no input_ids tensor", path)
	}
	if ds.N <= 0 {
		return nil, fmt.Errorf("data %s: the dataset is empty", path)
	}
	return ds, nil
}

// Cursor is the position of a Loader: the epoch and the number of examples of it already consumed.
type Cursor struct {
	Epoch int `json:"epoch"`
	Pos   int `json:"pos"`
}

// Loader cuts a TensorDataset into batches, in order or shuffled once per epoch from a seed. Its position is a
// Cursor, so a resumed run sees exactly the batches an uninterrupted one would.
type Loader struct {
	ds        *TensorDataset
	batchSize int
	shuffle   bool
	dropLast  bool
	seed      uint64
	cur       Cursor
	perm      []int
	permEpoch int
}

// NewLoader makes a loader; batchSize must be in [1, N]. Like a PyTorch DataLoader the last batch of an epoch may
// be smaller unless dropLast.
func NewLoader(ds *TensorDataset, batchSize int, shuffle, dropLast bool, seed uint64) (*Loader, error) {
	if batchSize < 1 {
		return nil, fmt.Errorf("data %s: batch size must be >= 1, got %d", ds.Path, batchSize)
	}
	if batchSize > ds.N && dropLast {
		return nil, fmt.Errorf("data %s: batch size %d is larger than the %d examples", ds.Path, batchSize, ds.N)
	}
	return &Loader{ds: ds, batchSize: batchSize, shuffle: shuffle, dropLast: dropLast, seed: seed, permEpoch: -1}, nil
}

// BatchesPerEpoch is the number of batches of one epoch.
func (l *Loader) BatchesPerEpoch() int {
	if l.dropLast {
		return l.ds.N / l.batchSize
	}
	return (l.ds.N + l.batchSize - 1) / l.batchSize
}

// Cursor returns the current position.
func (l *Loader) Cursor() Cursor { return l.cur }

// SetCursor moves to a position (from a checkpoint).
func (l *Loader) SetCursor(c Cursor) error {
	if c.Epoch < 0 || c.Pos < 0 || c.Pos > l.ds.N {
		return fmt.Errorf("data %s: invalid cursor %+v", l.ds.Path, c)
	}
	l.cur = c
	return nil
}

func (l *Loader) order() []int {
	if l.permEpoch == l.cur.Epoch {
		return l.perm
	}
	l.perm = make([]int, l.ds.N)
	for i := range l.perm {
		l.perm[i] = i
	}
	if l.shuffle {
		rng := rand.New(rand.NewPCG(l.seed, uint64(l.cur.Epoch)+0x9e3779b97f4a7c15))
		rng.Shuffle(len(l.perm), func(i, j int) { l.perm[i], l.perm[j] = l.perm[j], l.perm[i] })
	}
	l.permEpoch = l.cur.Epoch
	return l.perm
}

// Next returns the next batch, moving to the next epoch when one ends.
func (l *Loader) Next() Batch {
	n := l.ds.N
	if l.cur.Pos >= n || (l.dropLast && l.cur.Pos+l.batchSize > n) {
		l.cur = Cursor{Epoch: l.cur.Epoch + 1}
	}
	rows := l.order()[l.cur.Pos:min(l.cur.Pos+l.batchSize, n)]
	l.cur.Pos += len(rows)
	b := Batch{}
	for name, c := range l.ds.Columns {
		rs := c.rowSize()
		out := Column{Shape: append([]int{len(rows)}, c.Shape[1:]...)}
		for _, r := range rows {
			if c.Ints != nil {
				out.Ints = append(out.Ints, c.Ints[r*rs:(r+1)*rs]...)
			} else {
				out.Floats = append(out.Floats, c.Floats[r*rs:(r+1)*rs]...)
			}
		}
		b[name] = out
	}
	return b
}

// SplitTail holds out the last fraction of the examples (at least one, at most N−1) as a second dataset, for
// evaluation when no separate file is given.
func SplitTail(ds *TensorDataset, frac float64) (train, held *TensorDataset, err error) {
	if frac <= 0 || frac >= 1 {
		return nil, nil, fmt.Errorf("data %s: split fraction must be in (0, 1), got %g", ds.Path, frac)
	}
	n := min(max(int(float64(ds.N)*frac+0.5), 1), ds.N-1)
	if n < 1 {
		return nil, nil, fmt.Errorf("data %s: %d examples cannot be split", ds.Path, ds.N)
	}
	cut := ds.N - n
	train = &TensorDataset{Path: ds.Path, N: cut, Columns: map[string]Column{}}
	held = &TensorDataset{Path: ds.Path + " (held out)", N: n, Columns: map[string]Column{}}
	for name, c := range ds.Columns {
		rs := c.rowSize()
		a := Column{Shape: append([]int{cut}, c.Shape[1:]...)}
		b := Column{Shape: append([]int{n}, c.Shape[1:]...)}
		if c.Ints != nil {
			a.Ints, b.Ints = c.Ints[:cut*rs], c.Ints[cut*rs:]
		} else {
			a.Floats, b.Floats = c.Floats[:cut*rs], c.Floats[cut*rs:]
		}
		train.Columns[name], held.Columns[name] = a, b
	}
	return train, held, nil
}
