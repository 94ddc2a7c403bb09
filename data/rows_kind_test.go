package data

import (
	"strings"
	"testing"
)

// TestRowTypeErrors: a null or nested element of a word list is an error (it was tokenized as the text "<nil>"
// or "[a b]"), and type errors name JSON's kinds (null, a list), not Go's (<nil>, []interface {}).
func TestRowTypeErrors(t *testing.T) {
	r := Row{"tokens": []any{"a", nil}, "nested": []any{"a", []any{"b"}}, "label": nil, "text": []any{"x"}, "ok": []any{"a", int64(3)}}
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"null word", func() error { _, err := r.Strings("tokens"); return err }, "element 1 is null"},
		{"nested word", func() error { _, err := r.Strings("nested"); return err }, "element 1 is a list"},
		{"null label", func() error { _, err := r.Number("label"); return err }, `"label" is null, want a number`},
		{"list text", func() error { _, err := r.String("text"); return err }, `"text" is a list, want a string`},
	} {
		if err := tc.call(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	if got, err := r.Strings("ok"); err != nil || strings.Join(got, " ") != "a 3" {
		t.Errorf("Strings(ok) = %q, %v; want [a 3]", got, err)
	}
}
