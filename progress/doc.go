// Package progress shows how a long job is going, the way people read it: in a terminal, a live bar (step and
// total, elapsed time, ETA, tokens per second, smoothed loss, learning rate, active group) under permanent
// summary lines written every few steps and at each evaluation; elsewhere (a log file, CI), one plain line
// per logged step.
//
// Start with NewTrain, whose *Train is a hift.Progress (Trainer.SetProgress); Bar is the generic bar that
// evaluation and hift bench use. Terminal decides between the two modes. Durations and sizes are written in
// human units (Duration, hift.HumanBytes). The bar is drawn by github.com/schollz/progressbar/v3.
package progress
