package data

import (
	"fmt"
	"unicode/utf8"
)

// CheckTokenIDs verifies that every input_ids value of a pre-tokenized dataset lies in [0, vocab). A bad example
// is an error naming the file, the example (row) and the value; with skipBad the bad examples are dropped and
// counted instead (the error of the first is returned as the second value's cause).
func CheckTokenIDs(ds *TensorDataset, vocab int, skipBad bool) (*TensorDataset, int, error) {
	ids, ok := ds.Columns["input_ids"]
	if !ok || ids.Ints == nil || vocab <= 0 {
		return ds, 0, nil
	}
	rs := ids.rowSize()
	var keep []int
	var first error
	for r := 0; r < ds.N; r++ {
		bad := -1
		for j, v := range ids.Ints[r*rs : (r+1)*rs] {
			if v < 0 || v >= int64(vocab) {
				bad = j
				break
			}
		}
		if bad < 0 {
			keep = append(keep, r)
			continue
		}
		err := fmt.Errorf("data %s: example %d: input_ids[%d] = %d is outside the model's vocabulary [0, %d)", ds.Path, r,
			bad, ids.Ints[r*rs+bad], vocab)
		if !skipBad {
			return nil, 0, err
		}
		if first == nil {
			first = err
		}
	}
	skipped := ds.N - len(keep)
	if skipped == 0 {
		return ds, 0, nil
	}
	if len(keep) == 0 {
		return nil, skipped, fmt.Errorf("data %s: all %d examples skipped; first: %w", ds.Path, skipped, first)
	}
	return selectRows(ds, keep), skipped, nil
}

// CheckLabelIDs checks token-level integer labels (labels shaped as input_ids: causal LM targets) against
// limit: each must be -100 (ignored) or in [0, limit). Out of range, the loss silently counted a target no
// logit has (transformers raises "Target 999 is out of bounds").
func CheckLabelIDs(ds *TensorDataset, limit int) error {
	labels, ok := ds.Columns["labels"]
	ids, okIDs := ds.Columns["input_ids"]
	if !ok || !okIDs || labels.Ints == nil || limit <= 0 || len(labels.Shape) != len(ids.Shape) {
		return nil
	}
	rs := labels.rowSize()
	for i, v := range labels.Ints {
		if v != -100 && (v < 0 || v >= int64(limit)) {
			return fmt.Errorf("data %s: example %d: labels[%d] = %d is outside the model's vocabulary [0, %d) (and not -100, the ignored label)",
				ds.Path, i/rs, i%rs, v, limit)
		}
	}
	return nil
}

// selectRows copies the given rows of every column into a new dataset.
func selectRows(ds *TensorDataset, rows []int) *TensorDataset {
	out := &TensorDataset{Path: ds.Path, N: len(rows), Columns: map[string]Column{}}
	for name, c := range ds.Columns {
		rs := c.rowSize()
		nc := Column{Shape: append([]int{len(rows)}, c.Shape[1:]...)}
		for _, r := range rows {
			if c.Ints != nil {
				nc.Ints = append(nc.Ints, c.Ints[r*rs:(r+1)*rs]...)
			} else {
				nc.Floats = append(nc.Floats, c.Floats[r*rs:(r+1)*rs]...)
			}
		}
		out.Columns[name] = nc
	}
	return out
}

// checkUTF8 returns an error naming the first string inside v (a row value) that is not valid UTF-8.
func checkUTF8(field string, v any) error {
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) {
			for i := 0; i < len(x); {
				r, n := utf8.DecodeRuneInString(x[i:])
				if r == utf8.RuneError && n <= 1 {
					return fmt.Errorf("field %q is not valid UTF-8 (byte %d is 0x%02x)", field, i, x[i])
				}
				i += n
			}
		}
	case map[string]any:
		for k, e := range x {
			if err := checkUTF8(field+"."+k, e); err != nil {
				return err
			}
		}
	case Row:
		for k, e := range x {
			if err := checkUTF8(k, e); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			if err := checkUTF8(fmt.Sprintf("%s[%d]", field, i), e); err != nil {
				return err
			}
		}
	}
	return nil
}

// addGuarded formats one row, turning a panic inside a third-party parser (tokenizer, chat template) into an
// error; the caller names the file and row.
func (b *builder) addGuarded(row Row, st *Stats) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error while tokenizing or formatting: %v", r)
		}
	}()
	return b.add(row, st)
}
