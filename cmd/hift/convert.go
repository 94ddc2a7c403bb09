package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/hift-go/hift/io/safetensors"
	"github.com/hift-go/hift/io/torchbin"
	"github.com/spf13/cobra"
)

// ConvertOptions are the flags of `hift convert`.
type ConvertOptions struct {
	f            *factory
	Model        string
	Out          string
	DType        string
	MaxShardSize string
}

// convertDTypes are the --dtype values of convert: the float type every floating-point tensor is stored in.
var convertDTypes = map[string]safetensors.DType{"keep": "", "f32": safetensors.F32, "fp32": safetensors.F32, "float32": safetensors.F32,
	"f16": safetensors.F16, "fp16": safetensors.F16, "float16": safetensors.F16, "bf16": safetensors.BF16, "bfloat16": safetensors.BF16}

// torchDTypeNames are config.json's torch_dtype spellings.
var torchDTypeNames = map[safetensors.DType]string{safetensors.F32: "float32", safetensors.F16: "float16", safetensors.BF16: "bfloat16"}

func newConvertCmd(f *factory, runF func(*ConvertOptions) error) *cobra.Command {
	opts := &ConvertOptions{f: f}
	cmd := &cobra.Command{
		Use:   "convert --model DIR --out DIR [--dtype keep|f32|f16|bf16] [--max-shard-size 5GB]",
		Short: "Convert a PyTorch checkpoint (pytorch_model.bin) to safetensors",
		Long: `convert writes the checkpoint in --model as safetensors into --out: model.safetensors, or
model-0000K-of-0000N.safetensors shards of at most --max-shard-size with model.safetensors.index.json, as
transformers' save_pretrained writes them. The input may be pytorch_model.bin, sharded pytorch_model-*.bin
with pytorch_model.bin.index.json, or safetensors (to change the dtype or the sharding). config.json, the
tokenizer and the other small files are copied. --max-shard-size reads sizes as transformers does: GB, MB, KB
are powers of 10 (5GB = 5,000,000,000 bytes), GiB, MiB, KiB powers of 2, a lower-case b means bits.

Tied copies are left out as save_pretrained leaves them out: when config.json ties a weight to another
(tie_word_embeddings: lm_head.weight is the embedding), only the owner is written; hift and transformers
load such a checkpoint by tying the head back.

.bin files are pickles; they are read with a restricted unpickler that accepts only tensors and storages
(torch.load's weights_only semantics) and refuses anything else, naming what the file asked for. Nothing in
the file is ever run. --dtype converts every floating-point tensor (round to nearest even); integer tensors
are kept. Writes are atomic, and --out must not be the input folder.`,
		Example: `  hift convert --model ~/models/opt-125m --out ~/models/opt-125m-st
  hift convert --model facebook/opt-350m --out opt-350m-bf16 --dtype bf16 --max-shard-size 200MB`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Model == "" || opts.Out == "" {
				return badInput("convert needs --model and --out")
			}
			if _, ok := convertDTypes[strings.ToLower(opts.DType)]; !ok {
				return badInput("--dtype must be keep, f32, f16 or bf16 (got %q)", opts.DType)
			}
			if _, err := parseShardSize(opts.MaxShardSize); err != nil {
				return badInput("--max-shard-size: %v", err)
			}
			if runF != nil {
				return runF(opts)
			}
			return runConvert(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Model, "model", "", "checkpoint folder with pytorch_model.bin (or safetensors), or an HF id in the local cache")
	cmd.Flags().StringVar(&opts.Out, "out", "", "folder to write (created; must not hold weights already)")
	cmd.Flags().StringVar(&opts.DType, "dtype", "keep", "floating-point dtype of the output: keep, f32, f16 or bf16")
	cmd.Flags().StringVar(&opts.MaxShardSize, "max-shard-size", "5GB", "largest shard, as transformers reads max_shard_size: 5GB = 5*10^9 bytes, 5GiB = 5*2^30, 500MB, 500MiB, 100KB, a lower-case b for bits (5Gb), or a byte count; one file when everything fits")
	return cmd
}

func runConvert(o *ConvertOptions) error {
	if err := checkConvertOut(o.Model, o.Out); err != nil {
		return err
	}
	ts, err := readAllTensors(o.Model)
	if err != nil {
		return err
	}
	ts, dropped, err := dropTiedCopies(o.Model, ts, o.f.stderr)
	if err != nil {
		return err
	}
	to := convertDTypes[strings.ToLower(o.DType)]
	if to != "" {
		for i, t := range ts {
			if !t.DType.IsFloat() || t.DType == to {
				continue
			}
			vals, err := safetensors.DecodeFloat32(t.DType, t.Data)
			if err != nil {
				return fmt.Errorf("convert %s: tensor %q: %w", o.Model, t.Name, err)
			}
			if ts[i].Data, err = safetensors.EncodeFloat32(to, vals); err != nil {
				return fmt.Errorf("convert %s: tensor %q: %w", o.Model, t.Name, err)
			}
			if err := checkNoOverflow(to, vals, ts[i].Data); err != nil {
				return fmt.Errorf("convert %s: tensor %q: %w", o.Model, t.Name, err)
			}
			ts[i].DType = to
		}
	}
	limit, _ := parseShardSize(o.MaxShardSize)
	files, err := safetensors.WriteSharded(o.Out, ts, map[string]string{"format": "pt"}, limit)
	if err != nil {
		return err
	}
	copied, err := copySideFiles(o.Model, o.Out, to)
	if err != nil {
		return err
	}
	var bytes int64
	for _, t := range ts {
		bytes += int64(len(t.Data))
	}
	fmt.Fprintf(o.f.stderr, "converted %s: %d tensors, %.1f MiB in %d file(s) %v; copied %s\n", o.Model, len(ts), float64(bytes)/(1<<20),
		len(files), baseNamesOf(files), strings.Join(copied, ", "))
	if len(dropped) > 0 {
		fmt.Fprintf(o.f.stderr, "left out tied copies, as save_pretrained does (the config ties them to their owner): %s\n", strings.Join(dropped, ", "))
	}
	return nil
}

// checkConvertOut refuses to write into the input folder or over existing weights.
func checkConvertOut(in, out string) error {
	ai, _ := filepath.Abs(in)
	ao, _ := filepath.Abs(out)
	if ei, err := filepath.EvalSymlinks(ai); err == nil {
		ai = ei
	}
	if eo, err := filepath.EvalSymlinks(ao); err == nil {
		ao = eo
	}
	if ai == ao {
		return badInput("convert: --out %s is the input folder; write to a new folder", out)
	}
	for _, pat := range []string{"*.safetensors", "*.safetensors.index.json", "*.bin"} {
		if m, _ := filepath.Glob(filepath.Join(out, pat)); len(m) > 0 {
			return badInput("convert: --out %s already holds weights (%s); choose an empty folder", out, filepath.Base(m[0]))
		}
	}
	return nil
}

// readAllTensors reads every tensor of a checkpoint folder (or file): PyTorch .bin through the restricted
// unpickler, safetensors as stored.
func readAllTensors(path string) ([]safetensors.Tensor, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("convert: %w", err)
	}
	switch {
	case st.IsDir() && torchbin.HasTorchWeights(path):
		ck, err := torchbin.LoadDir(path)
		if err != nil {
			return nil, err
		}
		return ck.Tensors, nil
	case !st.IsDir() && strings.HasSuffix(path, ".bin"):
		return torchbin.Load(path)
	}
	ck, err := torchbin.Open(path)
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	var out []safetensors.Tensor
	for _, n := range ck.Names() {
		t, err := ck.Tensor(n)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// copySideFiles copies config, tokenizer and other non-weight files of a checkpoint folder, atomically each;
// config.json's torch_dtype follows --dtype.
func copySideFiles(in, out string, to safetensors.DType) ([]string, error) {
	st, err := os.Stat(in)
	if err != nil || !st.IsDir() {
		return nil, nil
	}
	entries, err := os.ReadDir(in)
	if err != nil {
		return nil, fmt.Errorf("convert: %w", err)
	}
	var copied []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".bin") || strings.HasSuffix(name, ".safetensors") ||
			strings.HasSuffix(name, ".index.json") || strings.HasSuffix(name, ".pt") || strings.HasSuffix(name, ".h5") ||
			strings.HasSuffix(name, ".msgpack") || strings.HasSuffix(name, ".ckpt") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(in, name))
		if err != nil {
			return nil, fmt.Errorf("convert: %w", err)
		}
		if name == "config.json" && to != "" {
			var raw map[string]json.RawMessage
			if json.Unmarshal(data, &raw) == nil {
				raw["torch_dtype"], _ = json.Marshal(torchDTypeNames[to])
				if b, err := json.MarshalIndent(raw, "", "  "); err == nil {
					data = append(b, '\n')
				}
			}
		}
		if err := writeFileAtomic(filepath.Join(out, name), data); err != nil {
			return nil, fmt.Errorf("convert: %w", err)
		}
		copied = append(copied, name)
	}
	return copied, nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it into place.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func baseNamesOf(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}

// checkNoOverflow refuses a conversion that turned a finite value into ±Inf: f16 tops out at 65504, so a weight
// of 1e6 became Inf and the checkpoint was silently broken.
func checkNoOverflow(to safetensors.DType, vals []float32, enc []byte) error {
	back, err := safetensors.DecodeFloat32(to, enc)
	if err != nil {
		return err
	}
	for i, v := range back {
		if math.IsInf(float64(v), 0) && !math.IsInf(float64(vals[i]), 0) {
			return fmt.Errorf("element %d = %g is out of %s's range (it would be stored as %v); keep this checkpoint in f32 or bf16", i, vals[i], to, v)
		}
	}
	return nil
}
