//go:build unix

package outdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Lock is an exclusive flock on dir/.hift.lock; the kernel releases it when the process dies.
type Lock struct{ f *os.File }

// Acquire creates dir if needed and takes its lock without waiting; when another process holds it the error
// names that process's PID.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output %s: %w", dir, err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("output %s: lock: %w", dir, err)
	}
	if err := flock(f, dir, path); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		f.Sync()
	}
	return &Lock{f: f}, nil
}

// flock takes the lock without waiting; when another process holds it the error names its PID.
func flock(f *os.File, dir, path string) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		return nil
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		return fmt.Errorf("output %s: lock: %w", dir, err)
	}
	holder := "another process"
	if b, rerr := os.ReadFile(path); rerr == nil {
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
			holder = fmt.Sprintf("another hift run (pid %d)", pid)
		}
	}
	return fmt.Errorf("output %s is in use by %s; wait for it to finish or choose another --output", dir, holder)
}

// Busy reports, without creating anything, whether another process holds dir's lock (the error names it).
func Busy(dir string) error {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil // no lock file: nobody holds it
	}
	defer f.Close()
	return flock(f, dir, path) // closing f releases the probe's lock
}

// Release unlocks (closing the file releases the flock). The lock file stays: removing it would let two
// processes lock different files of the same name.
func (l *Lock) Release() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}
