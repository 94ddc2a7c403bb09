// Package hift is the HiFT method and its trainer: a model's units (graph.Unit: embeddings, each block, the
// final norm, the head) are ordered into a queue (Queue, PlanQueue), each optimizer step trains one group of
// them while every other group's optimizer state waits in host memory (Trainer, Options), and the learning-rate
// schedule ticks once per cycle of groups (Schedule). Checkpoints are written in Hugging Face layout plus the
// optimizer and trainer state that Resume continues exactly.
//
// Where to start: DefaultOptions, then NewTrainer with a checkpoint folder and a data.TensorDataset, then
// Trainer.Run with a StepHook and Trainer.SaveModel (see Example); Evaluate scores a dataset. Options are plain
// structs whose zero values are documented; Trainer.SetProgress shows progress (package progress).
package hift
