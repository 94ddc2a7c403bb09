package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/hift"
)

// machineMemory returns the machine's total memory in bytes from /proc/meminfo, or 0 when unknown.
func machineMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			fields := strings.Fields(rest)
			if len(fields) >= 1 {
				if kb, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
					return kb * 1024
				}
			}
		}
	}
	return 0
}

// checkFits refuses, before anything is allocated, a config whose dimensions imply more float32 weights than
// the machine has memory (an absurd num_hidden_layers, hidden_size or vocab_size). memory 0 skips the check.
func checkFits(cfg *graph.Config, memory int64) error {
	if err := cfg.CheckSizes(); err != nil {
		return err
	}
	params := cfg.EstimateParams()
	need := 4 * params
	if memory > 0 && need > float64(memory) {
		s := cfg.Sizes()
		return fmt.Errorf("config: %s: %d layers, hidden size %d and vocabulary %d imply about %.3g parameters (%s as float32), "+
			"more than this machine's %s of memory; check num_hidden_layers, hidden_size and vocab_size", cfg.Path, s.Layers, s.Hidden,
			s.Vocab, params, humanFloatBytes(need), hift.HumanBytes(memory))
	}
	return nil
}

// checkModelFits loads dir's config.json (when there is one) and applies checkFits.
func checkModelFits(dir string) error {
	if _, err := os.Stat(dir); err != nil {
		return nil // the loader reports a missing folder with its own message
	}
	cfg, err := graph.LoadConfig(dir)
	if err != nil {
		return err
	}
	return checkFits(cfg, machineMemory())
}

func humanFloatBytes(b float64) string {
	if b < 1<<62 {
		return hift.HumanBytes(int64(b))
	}
	return fmt.Sprintf("%.3g bytes", b)
}
