package data

import (
	"strings"
	"testing"
)

// TestCheckLabelIDs: token labels must be -100 or a vocabulary id (999 with a 256-token vocabulary was counted
// in the loss as a target no logit has); sequence-level labels ([N]) are not token ids and are left alone.
func TestCheckLabelIDs(t *testing.T) {
	ids := Column{Shape: []int{2, 2}, Ints: []int64{1, 2, 3, 4}}
	for _, tc := range []struct {
		labels Column
		want   string // "" = accepted
	}{
		{Column{Shape: []int{2, 2}, Ints: []int64{1, -100, 3, 255}}, ""},
		{Column{Shape: []int{2, 2}, Ints: []int64{1, 2, 999, 4}}, "example 1: labels[0] = 999"},
		{Column{Shape: []int{2, 2}, Ints: []int64{1, -5, 3, 4}}, "labels[1] = -5"},
		{Column{Shape: []int{2}, Ints: []int64{999, 1}}, ""},
	} {
		ds := &TensorDataset{Path: "d.safetensors", N: 2, Columns: map[string]Column{"input_ids": ids, "labels": tc.labels}}
		err := CheckLabelIDs(ds, 256)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("labels %v: error %v, want %q", tc.labels.Ints, err, tc.want)
		}
	}
}
