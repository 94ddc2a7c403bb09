// Package bench measures hift the way the HiFT paper reports it, and holds the code behind `hift bench` and
// `hift plan`:
//
//   - configs.go: built-in Hugging Face configs of the paper's models (llama-7b, gpt2, roberta-large, ...),
//     resolved by name, folder or config.json (LoadModel); no weights are read.
//   - memory.go: the paper's memory table computed from shapes alone (#Trainable, Para, Gra, Sta, PGS per
//     optimizer × precision × method; hift-algorithm.md §10.1); paper.go holds the paper's LLaMA-7B rows.
//   - measure.go: the same table measured by training random weights on the backend, from the trainer's
//     memory ledger (Trainer.StepMemory, sampled after every step).
//   - activation.go, plan.go: an analytical activation estimate per architecture family and the planner
//     (fits or not, largest batch, longest sequence, host RAM, the groups that set the peak); liveness.go and
//     validate.go check them against the step graph replayed as SimpleGo executes it and against measured
//     memory.
//   - speed.go: step time per group, tokens/s and compile time, also as Go benchmark lines for benchstat.
//   - format.go: markdown (the paper's layout), csv, json and a hand-written SVG chart.
//
// go test -bench targets for the trainer live in train_bench_test.go; bench/results holds regenerated tables.
package bench
