package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hift-go/hift/data"
	"github.com/hift-go/hift/hift"
)

// labelNames splits --label-names ("neg,pos" → class 0 is neg, class 1 is pos).
func (d *DataFlags) labelNames() []string {
	if strings.TrimSpace(d.LabelNames) == "" {
		return nil
	}
	names := strings.Split(d.LabelNames, ",")
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	return names
}

// applyLabels fills the run's label names, class count and pad token before the model is built, so the saved
// config carries them: --label-names as given; with --task seq_cls and neither --label-names nor
// --num-labels, the classes come from the training data (sorted unique names, as HF's run_glue; integer labels
// give --num-labels = largest id + 1); --pad-token is looked up in the tokenizer.
func (o *TrainOptions) applyLabels(modelDir string, logf func(string, ...any)) error {
	if o.Resume != "" {
		return nil // restored from the checkpoint's options and config
	}
	r := &o.Run
	if o.DataFlags.PadToken != "" {
		tok, err := o.DataFlags.loadTokenizer(modelDir)
		if err != nil {
			return err
		}
		r.PadToken, r.PadTokenID = o.DataFlags.PadToken, tok.PAD()
	}
	if names := o.DataFlags.labelNames(); len(names) > 0 {
		if r.Task != "" && r.NumLabels == 0 {
			r.NumLabels = len(names)
		}
		if r.NumLabels != 0 && r.NumLabels != len(names) {
			return badInput("--label-names gives %d names for --num-labels %d", len(names), r.NumLabels)
		}
		r.LabelNames = names
		return nil
	}
	if r.Task != "seq_cls" || r.NumLabels == 1 || o.Data == "" || isPretokenized(o.Data) {
		return nil
	}
	names, maxID, err := o.DataFlags.scanLabels(o.Data)
	if err != nil {
		return err
	}
	switch {
	case len(names) == 0 && maxID < 0:
		return nil // no labels seen: formatting reports the missing column
	case len(names) == 0: // integer class ids
		if r.NumLabels == 0 {
			r.NumLabels = maxID + 1
			logf("labels from %s: class ids 0..%d → --num-labels %d\n", o.Data, maxID, r.NumLabels)
		}
	default:
		if r.NumLabels != 0 && r.NumLabels != len(names) {
			return badInput("%s has %d distinct labels (%s) but --num-labels is %d", o.Data, len(names), strings.Join(names, ","), r.NumLabels)
		}
		r.NumLabels, r.LabelNames = len(names), names
		logf("labels from %s: %s (class 0 first; --label-names sets another order)\n", o.Data, strings.Join(names, ","))
	}
	return nil
}

// scanLabels reads the label column of a dataset: the sorted distinct names when any label is not an integer,
// else no names and the largest id (-1 when no row has a label).
func (d *DataFlags) scanLabels(path string) (names []string, maxID int, err error) {
	rows, err := data.OpenSource(path, data.SourceOptions{Format: d.Format, Split: d.Split, TextPerLine: d.TextPerLine, TextField: d.TextField})
	if err != nil {
		return nil, -1, err
	}
	defer rows.Close()
	seen := map[string]bool{}
	allInts := true
	maxID = -1
	for n := 0; d.MaxRows <= 0 || n < d.MaxRows; n++ {
		row, err := rows.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if d.SkipBadRows {
				continue
			}
			return nil, -1, fmt.Errorf("reading the labels of %s: %w", path, err)
		}
		v, ok := row.Field(d.LabelField)
		if !ok || v == nil {
			continue
		}
		s := labelString(v)
		seen[s] = true
		if id, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && id >= 0 {
			maxID = max(maxID, id)
		} else {
			allInts = false
		}
	}
	if allInts {
		return nil, maxID, nil
	}
	for s := range seen {
		names = append(names, s)
	}
	sort.Strings(names)
	return names, maxID, nil
}

// labelString spells a label value as its name: integral numbers without a fraction.
func labelString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10)
		}
	case float32:
		if float64(x) == math.Trunc(float64(x)) {
			return strconv.FormatInt(int64(x), 10)
		}
	}
	return fmt.Sprint(v)
}

// hashTokenizer is the tokenizer's identity for --resume (hift.HashFiles). With --pad-token, the pad_token
// entries of tokenizer_config.json and special_tokens_map.json are left out and the pad token hashed instead,
// so a checkpoint (whose files carry the pad token) matches the base model the run started from.
func hashTokenizer(dir string, names []string, pad string) (string, error) {
	if pad == "" {
		return hift.HashFiles(dir, names)
	}
	h := sha256.New()
	fmt.Fprintf(h, "pad_token\x00%s\x00", pad)
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("tokenizer: %w", err)
		}
		if n == "tokenizer_config.json" || n == "special_tokens_map.json" {
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				return "", fmt.Errorf("tokenizer: %s: not a JSON object: %w", filepath.Join(dir, n), err)
			}
			delete(m, "pad_token")
			if b, err = json.Marshal(m); err != nil { // sorted keys: formatting does not matter
				return "", fmt.Errorf("tokenizer: %s: %w", filepath.Join(dir, n), err)
			}
		}
		fmt.Fprintf(h, "%s\x00", n)
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
