package bench

import (
	"errors"
	"testing"
)

type backendName string

func (b backendName) String() string { return string(b) }

// TestCheckRunnableDoesNotFit: a run the machine's RAM cannot hold is ErrDoesNotFit for errors.Is; a small one
// passes.
func TestCheckRunnableDoesNotFit(t *testing.T) {
	if HostRAM() == 0 {
		t.Fatal("no /proc/meminfo: CheckRunnable cannot be tested here")
	}
	for _, c := range []struct {
		model string
		fits  bool
	}{{"llama-7b", false}, {"llama-small", true}} {
		m, err := LoadModel(c.model)
		if err != nil {
			t.Fatal(err)
		}
		a, err := Analyze(m, 1)
		if err != nil {
			t.Fatal(err)
		}
		d, err := ModelDims(m)
		if err != nil {
			t.Fatal(err)
		}
		err = CheckRunnable(backendName("go"), a, d, 1, 512)
		if c.fits != (err == nil) || (!c.fits && !errors.Is(err, ErrDoesNotFit)) {
			t.Errorf("%s: %v", c.model, err)
		}
	}
}
