package hift

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/hift-go/hift/data"
	hgraph "github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/io/safetensors"
	"github.com/hift-go/hift/io/torchbin"
)

// Files of a hift checkpoint besides the HF model files.
const (
	StateFile        = "hift_optimizer_state.safetensors"
	TrainerStateFile = "hift_trainer_state.json"
	MetricsFile      = "metrics.jsonl"
)

// companionFiles are copied from the input checkpoint so the output loads in transformers unchanged.
var companionFiles = []string{"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
	"special_tokens_map.json", "tokenizer.model", "vocab.txt", "vocab.json", "merges.txt", "added_tokens.json"}

// Source remembers how the input checkpoint stored each tensor, so it can be saved the same way.
type Source struct {
	config   []byte // config.json to write instead of the source's (the task was changed)
	report   *hgraph.LoadReport
	dir      string
	dtypes   map[string]safetensors.DType
	shards   map[string]string
	metadata map[string]string
	// files holds the base model's config, tokenizer and generation files, read at load time.
	files map[string][]byte
}

func loadSource(dir string, opts Options) (*hgraph.Model, map[string]*tensors.Tensor, *Source, error) {
	cfg, err := loadConfig(dir, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := hgraph.NewModel(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	ck, err := torchbin.Open(dir) // safetensors, or pytorch_model.bin read safely
	if err != nil {
		return nil, nil, nil, err
	}
	defer ck.Close()
	w, rep, err := hgraph.LoadWeightsWith(m, ck, hgraph.LoadOptions{InitHead: opts.InitHead, Seed: uint64(opts.Seed)})
	if err != nil {
		return nil, nil, nil, err
	}
	src := &Source{dir: dir, dtypes: map[string]safetensors.DType{}, shards: map[string]string{}, metadata: ck.Metadata(), report: rep}
	if opts.Task != "" || len(opts.LabelNames) > 0 || opts.PadToken != "" {
		if src.config, err = cfg.JSON(); err != nil {
			return nil, nil, nil, err
		}
	}
	for _, n := range ck.Names() {
		info, _ := ck.Info(n)
		// A bare base-model checkpoint is saved back under the task model's full HF names.
		src.dtypes[rep.AddedPrefix+n] = info.DType
		src.shards[rep.AddedPrefix+n] = ck.ShardOf(n)
	}
	if src.metadata == nil {
		src.metadata = map[string]string{}
	}
	if _, ok := src.metadata["format"]; !ok {
		src.metadata["format"] = "pt"
	}
	delete(src.metadata, "total_size")
	src.files = map[string][]byte{}
	for _, f := range companionFiles {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, f), err)
		}
		src.files[f] = b
	}
	if err := setPadTokenFiles(src.files, opts.PadToken); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", dir, err)
	}
	return m, w, src, nil
}

// trainerState is hift_trainer_state.json: everything besides tensors that a resumed run needs. The queue
// position and the scheduler position are pure functions of Step; the shuffle order derives from the seed
// and the data cursor.
type trainerState struct {
	Version    int              `json:"version"`
	Model      string           `json:"model"`
	Step       int              `json:"step"`
	TotalSteps int              `json:"total_steps"`
	Options    Options          `json:"options"`
	ParamSteps map[string]int64 `json:"param_steps"`
	Cursor     data.Cursor      `json:"data_cursor"`
	Masters    bool             `json:"fp32_masters"`
	// BaseModel is the checkpoint the run started from (a LoRA run resumes from it plus its adapters).
	BaseModel string `json:"base_model"`
	// Run records the data files, tokenizer and data settings (compared on resume).
	Run RunInfo `json:"run"`
	// Skipped counts the steps skipped for a non-finite loss or gradient norm.
	Skipped int `json:"skipped_steps,omitempty"`
}

// ListCheckpoints returns the checkpoint-<step> folders of an output folder, oldest first.
func ListCheckpoints(out string) ([]string, error) {
	entries, err := os.ReadDir(out)
	if err != nil {
		return nil, err
	}
	type ck struct {
		step int
		path string
	}
	var cks []ck
	for _, e := range entries {
		if s, ok := strings.CutPrefix(e.Name(), "checkpoint-"); ok && e.IsDir() {
			if n, err := strconv.Atoi(s); err == nil {
				cks = append(cks, ck{n, filepath.Join(out, e.Name())})
			}
		}
	}
	sort.Slice(cks, func(i, j int) bool { return cks[i].step < cks[j].step })
	out2 := make([]string, len(cks))
	for i, c := range cks {
		out2[i] = c.path
	}
	return out2, nil
}

// ResumeOptions are what a resumed run may change: where it writes, how often it checkpoints, and a larger
// step count that extends the run.
type ResumeOptions struct {
	Output         string
	SaveEvery      int
	SaveTotalLimit int
	// Steps, when larger than the checkpoint's total, extends the run (the LR schedule's horizon is recomputed
	// for the new total; the constant schedule continues unchanged). 0 keeps the checkpoint's total.
	Steps int
	// EvalEvery, when >= 0, replaces the checkpoint's evaluation interval.
	EvalEvery int
	// MaxSkippedSteps, when non-zero, replaces the checkpoint's limit of consecutive skipped steps.
	MaxSkippedSteps int
}

// CheckpointInfo is what a checkpoint records about its run, read without loading any tensor.
type CheckpointInfo struct {
	Step, TotalSteps int
	Model            string
	Options          Options
	Run              RunInfo
	BaseModel        string
	Skipped          int
}

// ReadCheckpoint reads hift_trainer_state.json of a checkpoint folder.
func ReadCheckpoint(ckptDir string) (CheckpointInfo, error) {
	ts, err := readTrainerState(ckptDir)
	if err != nil {
		return CheckpointInfo{}, err
	}
	return CheckpointInfo{Step: ts.Step, TotalSteps: ts.TotalSteps, Model: ts.Model, Options: ts.Options, Run: ts.Run,
		BaseModel: ts.BaseModel, Skipped: ts.Skipped}, nil
}

func readTrainerState(ckptDir string) (trainerState, error) {
	var ts trainerState
	path := filepath.Join(ckptDir, TrainerStateFile)
	js, err := os.ReadFile(path)
	if err != nil {
		return ts, fmt.Errorf("resume: %s is not a hift checkpoint: %w", ckptDir, err)
	}
	if err := json.Unmarshal(js, &ts); err != nil {
		return ts, fmt.Errorf("resume: %s: %w", path, err)
	}
	if ts.Step < 0 || ts.TotalSteps < ts.Step {
		return ts, fmt.Errorf("resume: %s: step %d of %d is not a valid position", path, ts.Step, ts.TotalSteps)
	}
	return ts, nil
}

// Resume continues a run from a checkpoint folder written by Save: the weights, every parameter's optimizer
// state and step count, the step, the options and the data cursor are restored, so the rest of the run is
// identical to an uninterrupted one. output overrides where the run writes (empty: the saved options' Output
// is not stored, so give it).
func Resume(be backends.Backend, ckptDir string, ds *data.TensorDataset, output string, saveEvery, saveTotalLimit int) (*Trainer, error) {
	return ResumeWith(be, ckptDir, ds, ResumeOptions{Output: output, SaveEvery: saveEvery, SaveTotalLimit: saveTotalLimit, EvalEvery: -1})
}

// ResumeWith is Resume with the settings a resumed run may change.
func ResumeWith(be backends.Backend, ckptDir string, ds *data.TensorDataset, ro ResumeOptions) (*Trainer, error) {
	ts, err := readTrainerState(ckptDir)
	if err != nil {
		return nil, err
	}
	opts := ts.Options
	opts.Output, opts.SaveEvery, opts.SaveTotalLimit = ro.Output, ro.SaveEvery, ro.SaveTotalLimit
	if ro.EvalEvery >= 0 {
		opts.EvalEvery = ro.EvalEvery
	}
	if ro.MaxSkippedSteps != 0 {
		opts.MaxSkippedSteps = ro.MaxSkippedSteps
	}
	total := ts.TotalSteps
	if ro.Steps > 0 {
		if ro.Steps < ts.TotalSteps {
			return nil, fmt.Errorf("resume: --steps %d is fewer than the run's %d steps; a resumed run can only be extended", ro.Steps, ts.TotalSteps)
		}
		total = ro.Steps
	}
	opts.Steps = total // the schedule's horizon is the (possibly extended) total
	modelDir := ckptDir
	if opts.LoRA != nil {
		modelDir = ts.BaseModel // the checkpoint's model files hold the adapters merged
	}
	t, err := NewTrainer(be, modelDir, ds, opts)
	if err != nil {
		return nil, err
	}
	if opts.LoRA != nil {
		vals, err := safetensors.Open(filepath.Join(ckptDir, StateFile))
		if err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
		for _, p := range t.model.Params {
			v, err := vals.Float32(p.Name + "::value")
			if err != nil {
				vals.Close()
				return nil, fmt.Errorf("resume: %w", err)
			}
			master := tensors.FromFlatDataAndDimensions(v, p.Shape...)
			if t.masters != nil {
				t.masters[p.Name], t.weights[p.Name] = master, hgraph.BFloat16Tensor(master)
			} else {
				t.weights[p.Name] = master
			}
		}
		vals.Close()
	}
	if t.model.Class != ts.Model {
		return nil, fmt.Errorf("resume: checkpoint was %s, config says %s", ts.Model, t.model.Class)
	}
	st, err := safetensors.Open(filepath.Join(ckptDir, StateFile))
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	defer st.Close()
	for name, steps := range ts.ParamSteps {
		w, ok := t.weights[name]
		if !ok {
			return nil, fmt.Errorf("resume: state for unknown parameter %q", name)
		}
		ps := t.state.get(name, w.Shape().Dimensions)
		ps.steps = steps
		for i, spec := range t.rule.State(shapeOf(w)) {
			vals, err := st.Float32(name + "::" + spec.Name)
			if err != nil {
				return nil, fmt.Errorf("resume: %w", err)
			}
			if len(vals) != ps.tensors[i].Shape().Size() {
				return nil, fmt.Errorf("resume: %s::%s has %d values, want %d", name, spec.Name, len(vals), ps.tensors[i].Shape().Size())
			}
			ps.tensors[i] = tensors.FromFlatDataAndDimensions(vals, spec.Shape.Dimensions...)
		}
	}
	if ts.Masters {
		for name := range t.weights {
			vals, err := st.Float32(name + "::master")
			if err != nil {
				return nil, fmt.Errorf("resume: %w", err)
			}
			master := tensors.FromFlatDataAndDimensions(vals, t.weights[name].Shape().Dimensions...)
			if t.masters != nil {
				if _, isParam := t.masters[name]; isParam {
					t.masters[name] = master
					t.weights[name] = hgraph.BFloat16Tensor(master)
					continue
				}
			}
			t.weights[name] = master
		}
	}
	t.step, t.total, t.skipped = ts.Step, total, ts.Skipped
	t.run = ts.Run
	if t.run.BaseModel == "" {
		t.run.BaseModel = ts.BaseModel
	}
	if err := t.loader.SetCursor(ts.Cursor); err != nil {
		return nil, err
	}
	return t, nil
}

func shapeOf(t *tensors.Tensor) shapes.Shape { return t.Shape() }

// exportWeights returns the float32 weights to save under their HF names: the masters (or weights), with LoRA
// adapters merged into their base weights.
func (t *Trainer) exportWeights() (map[string]*tensors.Tensor, error) {
	all := map[string]*tensors.Tensor{}
	for name := range t.weights {
		all[name] = t.Master(name)
	}
	if t.model.LoRA == nil {
		return all, nil
	}
	return hgraph.MergeLoRA(t.model, all)
}

// loadConfig reads config.json and applies Options.Task/NumLabels (a new task head on a base checkpoint).
func loadConfig(dir string, opts Options) (*hgraph.Config, error) {
	cfg, err := hgraph.LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	if opts.Task != "" {
		if err := hgraph.RetargetConfig(cfg, hgraph.Task(opts.Task), opts.NumLabels); err != nil {
			return nil, err
		}
	}
	if err := applyLabelsAndPad(cfg, opts); err != nil {
		return nil, err
	}
	return cfg, nil
}

// LoadReport tells what loading the checkpoint ignored, dropped or initialised.
func (t *Trainer) LoadReport() *hgraph.LoadReport { return t.source.report }
