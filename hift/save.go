package hift

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	hgraph "github.com/hift-go/hift/graph"
	"github.com/hift-go/hift/internal/outdir"
	"github.com/hift-go/hift/io/safetensors"
)

// ModelCardFile is the short model card written next to the final model.
const ModelCardFile = "README.md"

// Save writes a resumable checkpoint into dir: the model as an HF checkpoint (same names, dtypes and shard
// layout as the input, config and tokenizer files from the base model) plus the optimizer and trainer state
// needed to resume exactly.
func (t *Trainer) Save(dir string) error {
	needMasters, err := t.saveModel(dir)
	if err != nil {
		return err
	}
	return t.saveState(dir, needMasters)
}

// SaveModel writes the final model into dir: weights, config, tokenizer and generation files and a model card;
// no optimizer state (that lives only in checkpoint-N/ folders).
func (t *Trainer) SaveModel(dir string) error {
	if _, err := t.saveModel(dir); err != nil {
		return err
	}
	return outdir.WriteFile(filepath.Join(dir, ModelCardFile), []byte(t.modelCard()))
}

// finiteData refuses to write a tensor holding NaN or ±Inf: no file hift writes ever contains them.
func finiteData(what, name string, vals []float32) error {
	for i, v := range vals {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("save: refusing to write %s %s: element %d is %v (training diverged; the last checkpoint is kept)", what, name, i, v)
		}
	}
	return nil
}

// fitsDType refuses a weight that the checkpoint's dtype would store as ±Inf: F16 tops out at 65504 (BF16 has
// float32's range), so training an F16 checkpoint past it would have saved +Inf.
func fitsDType(dt safetensors.DType, name string, vals []float32) error {
	if dt != safetensors.F16 {
		return nil
	}
	for i, v := range vals {
		if math.Abs(float64(v)) >= 65520 {
			return fmt.Errorf("save: refusing to write weight %s: element %d = %g is out of the checkpoint's F16 range (max 65504); the last checkpoint is kept", name, i, v)
		}
	}
	return nil
}

// saveModel writes the HF model files; it reports whether float32 masters must go into the state file (the
// model is stored in a half dtype).
func (t *Trainer) saveModel(dir string) (needMasters bool, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("save: %w", err)
	}
	var recs []safetensors.Tensor
	needMasters = t.masters != nil
	export, err := t.exportWeights()
	if err != nil {
		return false, err
	}
	for name, w := range export {
		dt := t.source.dtypes[name]
		if dt == "" {
			dt = safetensors.F32
		}
		vals := tensors.MustCopyFlatData[float32](w)
		if err := finiteData("weight", name, vals); err != nil {
			return false, err
		}
		if err := fitsDType(dt, name, vals); err != nil {
			return false, err
		}
		data, err := safetensors.EncodeFloat32(dt, vals)
		if err != nil {
			return false, fmt.Errorf("save %s: %w", name, err)
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
		return false, fmt.Errorf("save: %w", err)
	}
	// Config, tokenizer and generation files: read from the base model when it was loaded, so a checkpoint
	// that pruning deletes later is never their source.
	for _, f := range companionFiles {
		b, ok := t.source.files[f]
		if f == "config.json" && t.source.config != nil {
			b, ok = t.source.config, true
		}
		if !ok {
			continue
		}
		if err := outdir.WriteFile(filepath.Join(dir, f), b); err != nil {
			return false, fmt.Errorf("save: %w", err)
		}
	}
	if t.model.LoRA != nil {
		if err := t.saveAdapter(dir); err != nil {
			return false, err
		}
	}
	return needMasters, nil
}

// saveState writes the optimizer state (and fp32 masters or LoRA values) and hift_trainer_state.json.
func (t *Trainer) saveState(dir string, needMasters bool) error {
	var st []safetensors.Tensor
	add := func(name string, shape []int, vals []float32) error {
		if err := finiteData("optimizer state", name, vals); err != nil {
			return err
		}
		b, _ := safetensors.EncodeFloat32(safetensors.F32, vals)
		st = append(st, safetensors.Tensor{Name: name, DType: safetensors.F32, Shape: shape, Data: b})
		return nil
	}
	steps := map[string]int64{}
	for name, ps := range t.state.params {
		steps[name] = ps.steps
		specs := t.rule.State(shapeOf(t.weights[name]))
		for i, s := range ps.tensors {
			if err := add(name+"::"+specs[i].Name, s.Shape().Dimensions, tensors.MustCopyFlatData[float32](s)); err != nil {
				return err
			}
		}
	}
	if t.model.LoRA != nil {
		// The adapters (and the head) are what a resumed run restarts from: the model files hold them merged
		// and the base weights are reloaded from the base checkpoint.
		needMasters = false
		for _, p := range t.model.Params {
			if err := add(p.Name+"::value", p.Shape, tensors.MustCopyFlatData[float32](t.Master(p.Name))); err != nil {
				return err
			}
		}
	}
	if needMasters {
		for name := range t.weights {
			w := t.Master(name)
			if err := add(name+"::master", w.Shape().Dimensions, tensors.MustCopyFlatData[float32](w)); err != nil {
				return err
			}
		}
	}
	if err := safetensors.WriteFile(filepath.Join(dir, StateFile), st, map[string]string{"format": "hift"}); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	ts := trainerState{Version: 1, Step: t.step, TotalSteps: t.total, Options: t.opts, ParamSteps: steps,
		Cursor: t.loader.Cursor(), Model: t.model.Class, Masters: needMasters, BaseModel: t.baseModel(), Run: t.run,
		Skipped: t.skipped}
	js, err := json.MarshalIndent(ts, "", "  ")
	if err != nil {
		return err
	}
	return outdir.WriteFile(filepath.Join(dir, TrainerStateFile), js)
}

// baseModel is the checkpoint the run started from, as an absolute path.
func (t *Trainer) baseModel() string {
	if t.run.BaseModel != "" {
		return t.run.BaseModel
	}
	if abs, err := filepath.Abs(t.source.dir); err == nil {
		return abs
	}
	return t.source.dir
}

// saveCheckpoint writes Output/checkpoint-<step> atomically (staging folder + rename) and prunes old ones
// atomically (rename to a trash name, then delete).
func (t *Trainer) saveCheckpoint() error {
	if t.opts.Output == "" {
		return nil
	}
	final := filepath.Join(t.opts.Output, fmt.Sprintf("checkpoint-%d", t.step))
	tmp := final + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := t.Save(tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	outdir.SyncDir(tmp)
	if err := outdir.RemoveAll(final); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := outdir.Rename(tmp, final); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if t.opts.SaveTotalLimit > 0 {
		cks, err := ListCheckpoints(t.opts.Output)
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		for len(cks) > t.opts.SaveTotalLimit {
			if err := outdir.RemoveAll(cks[0]); err != nil {
				return fmt.Errorf("pruning checkpoints: %w", err)
			}
			cks = cks[1:]
		}
	}
	return nil
}

// modelCard is a short README.md: base model, data, steps, settings and final loss.
func (t *Trainer) modelCard() string {
	var b strings.Builder
	base := t.baseModel()
	fmt.Fprintf(&b, "---\nlibrary_name: transformers\nbase_model: %s\ntags:\n- hift\n---\n\n", filepath.Base(base))
	fmt.Fprintf(&b, "# %s fine-tuned with hift\n\n", filepath.Base(base))
	fmt.Fprintf(&b, "- Base model: `%s` (%s)\n", base, t.model.Class)
	for _, d := range t.run.Data {
		fmt.Fprintf(&b, "- Data: `%s` (%d bytes, sha256 %s)\n", d.Path, d.Size, d.SHA256)
	}
	fmt.Fprintf(&b, "- Steps: %d", t.step)
	if t.skipped > 0 {
		fmt.Fprintf(&b, " (%d skipped: non-finite loss or gradient)", t.skipped)
	}
	b.WriteString("\n")
	if n := len(t.losses); n > 0 {
		fmt.Fprintf(&b, "- Final training loss: %.6g\n", t.losses[n-1])
	}
	o := t.opts
	method := fmt.Sprintf("HiFT, %d unit(s) per group, %s, %s groups", o.GroupSize, o.Strategy, o.Mode)
	if o.Full {
		method = "full fine-tuning"
	}
	if o.LoRA != nil {
		method += fmt.Sprintf(", LoRA r=%d alpha=%g", o.LoRA.R, o.LoRA.Alpha)
	}
	fmt.Fprintf(&b, "- Method: %s\n", method)
	fmt.Fprintf(&b, "- Optimizer: %s, lr %g, weight decay %g, %s schedule, max grad norm %g\n", o.Optimizer.Name, o.Optimizer.LR,
		o.Optimizer.WeightDecay, o.LRScheduler, o.MaxGradNorm)
	fmt.Fprintf(&b, "- Batch: %d × %d accumulation, seed %d, precision %s\n", o.BatchSize, o.GradAccum, o.Seed, o.Precision)
	if len(t.run.Settings) > 0 {
		keys := make([]string, 0, len(t.run.Settings))
		for k := range t.run.Settings {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("- Data settings:")
		for _, k := range keys {
			fmt.Fprintf(&b, " --%s=%s", k, t.run.Settings[k])
		}
		b.WriteString("\n")
	}
	b.WriteString("\nWritten by `hift train`; resumable checkpoints (with optimizer state) are the `checkpoint-N/` folders.\n")
	return b.String()
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
		"target_modules": cfg.Targets, "task_type": task, "base_model_name_or_path": t.baseModel(), "inference_mode": true,
		"fan_in_fan_out": t.model.Config.ModelType == "gpt2", "modules_to_save": modules}
	js, err := json.MarshalIndent(ac, "", "  ")
	if err != nil {
		return err
	}
	if err := safetensors.WriteFile(filepath.Join(dir, "adapter_model.safetensors"), recs, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("save adapter: %w", err)
	}
	return outdir.WriteFile(filepath.Join(dir, "adapter_config.json"), js)
}
