//go:build !unix

package outdir

import (
	"fmt"
	"os"
)

// Lock is a no-op on systems without flock: one writer per folder is not enforced there.
type Lock struct{}

// Acquire creates dir; it does not lock on this system.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output %s: %w", dir, err)
	}
	return &Lock{}, nil
}

// Release does nothing.
func (l *Lock) Release() {}

// Busy reports nothing on this system.
func Busy(dir string) error { return nil }
