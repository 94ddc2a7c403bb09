package hift

import "io"

// Progress receives a run's progress from Trainer.Run: Step after every optimizer step, Eval after every
// evaluation, Pause before the trainer writes another message to its log (a warning), Done at the end. hift
// train's terminal bar (package progress) implements it; without one, Run prints one line per step.
type Progress interface {
	Step(m StepMetrics)
	Eval(step int, em EvalMetrics)
	Pause()
	Done()
}

// EvalProgress is implemented by a Progress that also shows an evaluation's batches as they run.
type EvalProgress interface {
	EvalBatch(done, total int)
}

// SetProgress makes p receive the progress of Run (and of the evaluations it runs); nil restores the default
// of one line per step on Run's log writer.
func (t *Trainer) SetProgress(p Progress) { t.prog = p }

// progressTo returns the Progress of a run that logs to log.
func (t *Trainer) progressTo(log io.Writer) Progress {
	if t.prog != nil {
		return t.prog
	}
	return newProgress(log, t.total)
}
