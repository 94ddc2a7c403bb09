package main

import (
	"strings"

	"github.com/hift-go/hift/bench"
	"github.com/hift-go/hift/hift"
)

// One set of names across commands: hift train's --precision bf16 is the Mixed^Hi that plan and bench call
// mixed_hi, and train accepts mixed_hi too; bench's sgdm (SGD with momentum 0.9) is accepted by train.

// benchPrecision reads a --precision of plan or bench; bf16 is train's name for mixed_hi.
func benchPrecision(s string) bench.Precision {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == hift.PrecisionBF16 {
		return bench.MixedHi
	}
	return bench.Precision(s)
}

// trainPrecision reads hift train's --precision; mixed_hi is plan and bench's name for bf16.
func trainPrecision(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == string(bench.MixedHi) {
		return hift.PrecisionBF16
	}
	return s
}

// optimizerSGDM is bench's name for SGD with momentum 0.9, accepted by hift train as well.
const optimizerSGDM = "sgdm"
