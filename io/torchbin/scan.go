package torchbin

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// argKind is how a pickle opcode's inline argument is encoded (pickletools' ArgumentDescriptor, reduced).
type argKind int

const (
	argNone  argKind = iota
	argFixed         // n bytes
	argLen1          // 1-byte length, then data
	argLen4          // 4-byte little-endian length, then data
	argLen8          // 8-byte little-endian length, then data
	argLine          // up to a newline
	argLine2         // two newline-terminated lines
)

type opSpec struct {
	kind argKind
	n    int
}

// opcodes lists every opcode of pickle protocols 0-5 with its argument encoding.
var opcodes = func() map[byte]opSpec {
	m := map[byte]opSpec{}
	for _, c := range []byte("(.012NRbae}]dlsut)\x88\x89\x85\x86\x87\x81\x8f\x90\x91\x92\x93\x94Qo\x97\x98") {
		m[c] = opSpec{argNone, 0}
	}
	for _, c := range []byte("Khq\x80\x82") {
		m[c] = opSpec{argFixed, 1}
	}
	for _, c := range []byte("M\x83") {
		m[c] = opSpec{argFixed, 2}
	}
	for _, c := range []byte("Jjr\x84") {
		m[c] = opSpec{argFixed, 4}
	}
	m['G'] = opSpec{argFixed, 8}
	m['\x95'] = opSpec{argFixed, 8} // FRAME: its length only announces the bytes that follow
	for _, c := range []byte("U\x8cC\x8a") {
		m[c] = opSpec{argLen1, 0}
	}
	for _, c := range []byte("TXB\x8b") {
		m[c] = opSpec{argLen4, 0}
	}
	for _, c := range []byte("\x8d\x8e\x96") {
		m[c] = opSpec{argLen8, 0}
	}
	for _, c := range []byte("ILFSVPgp") {
		m[c] = opSpec{argLine, 0}
	}
	for _, c := range []byte("ci") {
		m[c] = opSpec{argLine2, 0}
	}
	return m
}()

// scanPickle walks the opcode stream without building anything and checks that every opcode is known and
// every length field (strings, bytes, frames) fits in what is left of the input, so the unpickler never
// allocates more than the file holds; it must end with STOP.
func scanPickle(p []byte) error {
	for i := 0; i < len(p); {
		op := p[i]
		spec, ok := opcodes[op]
		if !ok {
			return fmt.Errorf("byte %d: unknown pickle opcode 0x%02x", i, op)
		}
		i++
		rest := len(p) - i
		need := 0
		switch spec.kind {
		case argFixed:
			need = spec.n
			if op == 0x95 && rest >= 8 { // FRAME
				if n := binary.LittleEndian.Uint64(p[i:]); n > uint64(rest-8) {
					return fmt.Errorf("byte %d: frame of %d bytes, only %d left", i-1, n, rest-8)
				}
			}
		case argLen1, argLen4, argLen8:
			w := map[argKind]int{argLen1: 1, argLen4: 4, argLen8: 8}[spec.kind]
			if rest < w {
				return fmt.Errorf("byte %d: truncated pickle", i-1)
			}
			var n uint64
			switch w {
			case 1:
				n = uint64(p[i])
			case 4:
				n = uint64(binary.LittleEndian.Uint32(p[i:]))
			case 8:
				n = binary.LittleEndian.Uint64(p[i:])
			}
			if n > uint64(rest-w) {
				return fmt.Errorf("byte %d: opcode 0x%02x announces %d bytes, only %d left", i-1, op, n, rest-w)
			}
			need = w + int(n)
		case argLine, argLine2:
			lines := 1
			if spec.kind == argLine2 {
				lines = 2
			}
			for l := 0; l < lines; l++ {
				j := bytes.IndexByte(p[i+need:], '\n')
				if j < 0 {
					return fmt.Errorf("byte %d: unterminated line", i-1)
				}
				need += j + 1
			}
		}
		if need > rest {
			return fmt.Errorf("byte %d: truncated pickle", i-1)
		}
		i += need
		if op == '.' {
			return nil
		}
	}
	return fmt.Errorf("pickle ends without STOP")
}
