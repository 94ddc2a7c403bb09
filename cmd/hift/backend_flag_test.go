package main

import (
	"strings"
	"testing"
)

// TestBadBackendIsUsageError: an unknown --backend name or SimpleGo option exits 2 (a usage error, as any bad flag
// value), naming the value; it was exit 1.
func TestBadBackendIsUsageError(t *testing.T) {
	for _, b := range []string{"frob", "go:frob"} {
		code, _, stderr := runCLI(t, "--backend", b, "version")
		if code != exitBadInput || !strings.Contains(stderr, b) {
			t.Errorf("--backend %s: exit %d: %s", b, code, stderr)
		}
	}
}
