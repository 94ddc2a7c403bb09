package main

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// parseShardSize reads --max-shard-size exactly as transformers' convert_file_size_to_int reads save_pretrained's
// max_shard_size string, so a size means the same bytes in hift and in Python:
//
//   - a suffix is matched case-insensitively, binary suffixes first: "GiB" = 2^30, "MiB" = 2^20, "KiB" = 2^10;
//     then decimal "GB" = 10^9, "MB" = 10^6, "KB" = 10^3;
//   - a decimal suffix whose last letter is a lower-case "b" ("5Gb", "5gb", "500Mb") means bits: the byte count
//     is (number × unit) / 8, rounded down (transformers' int_size // 8) — so "5gb" is 625000000 bytes;
//   - the number before the suffix is read as Python's int() reads it: surrounding spaces, a sign and "_"
//     between digits are allowed ("5 GB", "1_000MB"); no fractions ("1.5GB" is refused, as transformers does);
//   - a bare integer is a byte count (transformers takes an int argument as bytes).
//
// Sizes transformers would accept but that cannot shard anything (zero, negative) and sizes beyond int64 are
// refused with an error saying so.
func parseShardSize(s string) (int64, error) {
	type unit struct {
		suffix string
		mult   int64
		bits   bool // a trailing lower-case 'b' means bits
	}
	units := []unit{{"GIB", 1 << 30, false}, {"MIB", 1 << 20, false}, {"KIB", 1 << 10, false},
		{"GB", 1e9, true}, {"MB", 1e6, true}, {"KB", 1e3, true}}
	num, mult, bits := s, int64(1), false
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(s), u.suffix) {
			num, mult = s[:len(s)-len(u.suffix)], u.mult
			bits = u.bits && strings.HasSuffix(s, "b")
			break
		}
	}
	n, err := pythonInt(num)
	if err != nil {
		return 0, fmt.Errorf("cannot read size %q: %v (an integer followed by GB, MB, KB (10^9, 10^6, 10^3 bytes), GiB, MiB, KiB (2^30, 2^20, 2^10), a lower-case b for bits (5Gb), or a plain byte count)", s, err)
	}
	if n <= 0 {
		return 0, fmt.Errorf("size %q is not positive: a shard must hold at least one byte", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q is too large (beyond %d bytes)", s, int64(math.MaxInt64))
	}
	v := n * mult
	if bits {
		v /= 8
		if v == 0 {
			return 0, fmt.Errorf("size %q is %d bits, less than one byte", s, n*mult)
		}
	}
	return v, nil
}

// pythonInt reads a decimal integer as Python's int(str) does: optional surrounding whitespace, an optional
// sign, digits with single underscores between them.
func pythonInt(s string) (int64, error) {
	t := strings.TrimSpace(s)
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg, t = t[0] == '-', t[1:]
	}
	if t == "" {
		return 0, errors.New("no number")
	}
	var v int64
	prevDigit := false
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= '0' && c <= '9':
			d := int64(c - '0')
			if v > (math.MaxInt64-d)/10 {
				return 0, errors.New("number out of range")
			}
			v = v*10 + d
			prevDigit = true
		case c == '_' && prevDigit && i+1 < len(t):
			prevDigit = false
		default:
			return 0, fmt.Errorf("%q is not an integer", strings.TrimSpace(s))
		}
	}
	if !prevDigit {
		return 0, fmt.Errorf("%q is not an integer", strings.TrimSpace(s))
	}
	if neg {
		v = -v
	}
	return v, nil
}
