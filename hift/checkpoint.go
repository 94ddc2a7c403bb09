package hift

import (
	"encoding/json"
	"fmt"
	"io"
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
	if opts.Task != "" {
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
	return m, w, src, nil
}

// Save writes the model as an HF checkpoint (same names, dtypes and shard layout as the input, config and
// tokenizer files copied) plus the optimizer and trainer state needed to resume exactly.
func (t *Trainer) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	var recs []safetensors.Tensor
	needMasters := t.masters != nil
	export, err := t.exportWeights()
	if err != nil {
		return err
	}
	for name, w := range export {
		dt := t.source.dtypes[name]
		if dt == "" {
			dt = safetensors.F32
		}
		vals := tensors.MustCopyFlatData[float32](w)
		data, err := safetensors.EncodeFloat32(dt, vals)
		if err != nil {
			return fmt.Errorf("save %s: %w", name, err)
		}
		if dt != safetensors.F32 {
			needMasters = true
		}
		recs = append(recs, safetensors.Tensor{Name: name, DType: dt, Shape: w.Shape().Dimensions, Data: data})
	}
	shardOf := func(name string) string {
		if s := t.source.shards[name]; s != "" {
			return s
		}
		return safetensors.SingleFileName
	}
	if _, err := safetensors.WriteLayout(dir, recs, t.source.metadata, shardOf); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	for _, f := range companionFiles {
		if f == "config.json" && t.source.config != nil {
			if err := writeFileAtomic(filepath.Join(dir, f), t.source.config); err != nil {
				return fmt.Errorf("save: %w", err)
			}
			continue
		}
		if err := copyIfExists(filepath.Join(t.source.dir, f), filepath.Join(dir, f)); err != nil {
			return fmt.Errorf("save: %w", err)
		}
	}
	// Optimizer state (and fp32 masters when the model is stored in half precision).
	var st []safetensors.Tensor
	steps := map[string]int64{}
	for name, ps := range t.state.params {
		steps[name] = ps.steps
		specs := t.rule.State(shapeOf(t.weights[name]))
		for i, s := range ps.tensors {
			vals := tensors.MustCopyFlatData[float32](s)
			b, _ := safetensors.EncodeFloat32(safetensors.F32, vals)
			st = append(st, safetensors.Tensor{Name: name + "::" + specs[i].Name, DType: safetensors.F32, Shape: s.Shape().Dimensions, Data: b})
		}
	}
	if t.model.LoRA != nil {
		// The adapters (and the head) are what a resumed run restarts from: the model files hold them merged
		// and the base weights are reloaded from the base checkpoint.
		needMasters = false
		for _, p := range t.model.Params {
			b, _ := safetensors.EncodeFloat32(safetensors.F32, tensors.MustCopyFlatData[float32](t.Master(p.Name)))
			st = append(st, safetensors.Tensor{Name: p.Name + "::value", DType: safetensors.F32, Shape: p.Shape, Data: b})
		}
		if err := t.saveAdapter(dir); err != nil {
			return err
		}
	}
	if needMasters {
		for name := range t.weights {
			w := t.Master(name)
			b, _ := safetensors.EncodeFloat32(safetensors.F32, tensors.MustCopyFlatData[float32](w))
			st = append(st, safetensors.Tensor{Name: name + "::master", DType: safetensors.F32, Shape: w.Shape().Dimensions, Data: b})
		}
	}
	if err := safetensors.WriteFile(filepath.Join(dir, StateFile), st, map[string]string{"format": "hift"}); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	ts := trainerState{Version: 1, Step: t.step, TotalSteps: t.total, Options: t.opts, ParamSteps: steps,
		Cursor: t.loader.Cursor(), Model: t.model.Class, Masters: needMasters, BaseModel: t.source.dir}
	js, err := json.MarshalIndent(ts, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, TrainerStateFile), js)
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
}

// saveCheckpoint writes Output/checkpoint-<step> atomically (temp folder + rename) and prunes old ones.
func (t *Trainer) saveCheckpoint() error {
	if t.opts.Output == "" {
		return nil
	}
	final := filepath.Join(t.opts.Output, fmt.Sprintf("checkpoint-%d", t.step))
	tmp := final + ".tmp"
	os.RemoveAll(tmp)
	if err := t.Save(tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	os.RemoveAll(final)
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if t.opts.SaveTotalLimit > 0 {
		cks, _ := ListCheckpoints(t.opts.Output)
		for len(cks) > t.opts.SaveTotalLimit {
			os.RemoveAll(cks[0])
			cks = cks[1:]
		}
	}
	return nil
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

// Resume continues a run from a checkpoint folder written by Save: the weights, every parameter's optimizer
// state and step count, the step, the options and the data cursor are restored, so the rest of the run is
// identical to an uninterrupted one. output overrides where the run writes (empty: the saved options' Output
// is not stored, so give it).
func Resume(be backends.Backend, ckptDir string, ds *data.TensorDataset, output string, saveEvery, saveTotalLimit int) (*Trainer, error) {
	js, err := os.ReadFile(filepath.Join(ckptDir, TrainerStateFile))
	if err != nil {
		return nil, fmt.Errorf("resume: %s is not a hift checkpoint: %w", ckptDir, err)
	}
	var ts trainerState
	if err := json.Unmarshal(js, &ts); err != nil {
		return nil, fmt.Errorf("resume: %s: %w", filepath.Join(ckptDir, TrainerStateFile), err)
	}
	opts := ts.Options
	opts.Output, opts.SaveEvery, opts.SaveTotalLimit = output, saveEvery, saveTotalLimit
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
	t.step, t.total = ts.Step, ts.TotalSteps
	if err := t.loader.SetCursor(ts.Cursor); err != nil {
		return nil, err
	}
	return t, nil
}

func copyIfExists(from, to string) error {
	b, err := os.ReadFile(from)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if abs1, _ := filepath.Abs(from); abs1 != "" {
		if abs2, _ := filepath.Abs(to); abs1 == abs2 {
			return nil
		}
	}
	return writeFileAtomic(to, b)
}

// writeFileAtomic writes a file through a temp file and a rename.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

type metricsLog struct {
	f *os.File
}

func openMetrics(out string) (*metricsLog, error) {
	if out == "" {
		return &metricsLog{}, nil
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(out, MetricsFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	return &metricsLog{f: f}, nil
}

func (l *metricsLog) write(m StepMetrics) error {
	if l.f == nil {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = l.f.Write(append(b, '\n'))
	return err
}

func (l *metricsLog) writeEval(step int, em EvalMetrics) error {
	if l.f == nil {
		return nil
	}
	b, err := json.Marshal(struct {
		Step int `json:"step"`
		EvalMetrics
	}{step, em})
	if err != nil {
		return err
	}
	_, err = l.f.Write(append(b, '\n'))
	return err
}

func (l *metricsLog) Close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}

// progress prints one line per step: rewritten in place on a terminal, appended otherwise.
type progress struct {
	w     io.Writer
	total int
	tty   bool
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(m StepMetrics) {
	if p.w == nil {
		return
	}
	group := fmt.Sprintf("group %d [%s]", m.Group, strings.Join(m.Units, "+"))
	if m.Group < 0 {
		group = "all units"
	}
	line := fmt.Sprintf("step %d/%d  %s  loss %.4f  lr %.3g  |g| %.3g  %.0f tok/s  %s",
		m.Step+1, p.total, group, m.Loss, m.LR, m.GradNorm, m.TokensPerS, HumanBytes(m.DeviceMem))
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

func (p *progress) done() {
	if p.w != nil && p.tty {
		fmt.Fprintln(p.w)
	}
}

// HumanBytes formats a byte count with binary units (KiB, MiB, ...).
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
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

// saveAdapter writes the adapters in PEFT's layout: adapter_model.safetensors with base_model.model.<name>
// keys (a trained head under <module>.modules_to_save.default) and adapter_config.json.
func (t *Trainer) saveAdapter(dir string) error {
	cfg := t.model.LoRA
	var recs []safetensors.Tensor
	saved := map[string]bool{}
	for _, p := range t.model.Params {
		b, _ := safetensors.EncodeFloat32(safetensors.F32, tensors.MustCopyFlatData[float32](t.Master(p.Name)))
		name := "base_model.model." + p.Name
		if !strings.Contains(p.Name, ".lora_") {
			module := p.Name[:strings.LastIndexByte(p.Name, '.')]
			top, _, _ := strings.Cut(module, ".")
			saved[top] = true
			name = "base_model.model." + module + ".modules_to_save.default" + p.Name[len(module):]
		}
		recs = append(recs, safetensors.Tensor{Name: name, DType: safetensors.F32, Shape: p.Shape, Data: b})
	}
	var modules []string
	for m := range saved {
		modules = append(modules, m)
	}
	sort.Strings(modules)
	task := map[hgraph.Task]string{hgraph.TaskCausalLM: "CAUSAL_LM", hgraph.TaskSeqCls: "SEQ_CLS",
		hgraph.TaskTokenCls: "TOKEN_CLS", hgraph.TaskQA: "QUESTION_ANS"}[t.model.Task]
	ac := map[string]any{"peft_type": "LORA", "r": cfg.R, "lora_alpha": cfg.Alpha, "lora_dropout": 0.0, "bias": "none",
		"target_modules": cfg.Targets, "task_type": task, "base_model_name_or_path": t.source.dir, "inference_mode": true,
		"fan_in_fan_out": t.model.Config.ModelType == "gpt2", "modules_to_save": modules}
	js, err := json.MarshalIndent(ac, "", "  ")
	if err != nil {
		return err
	}
	if err := safetensors.WriteFile(filepath.Join(dir, "adapter_model.safetensors"), recs, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("save adapter: %w", err)
	}
	return writeFileAtomic(filepath.Join(dir, "adapter_config.json"), js)
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
	return cfg, nil
}

// LoadReport tells what loading the checkpoint ignored, dropped or initialised.
func (t *Trainer) LoadReport() *hgraph.LoadReport { return t.source.report }
