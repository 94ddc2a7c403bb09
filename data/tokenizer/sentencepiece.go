package tokenizer

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	sentencepiece "github.com/eliben/go-sentencepiece"
	"google.golang.org/protobuf/encoding/protowire"
)

// spModel is a SentencePiece BPE tokenizer.model (LLaMA/LLaMA-2, Mistral v0.1 style). Encoding goes through
// go-sentencepiece, which refuses models whose normalizer_spec sets add_dummy_prefix or remove_extra_whitespaces;
// both are rewritten to false in the proto and done here instead (a "▁" is the escaped leading space).
type spModel struct {
	proc   *sentencepiece.Processor
	pieces []spPiece
	ids    map[string]int

	addDummyPrefix, removeExtraSpaces bool
	unkID, bosID, eosID, padID        int
	unkSurface                        string
}

type spPiece struct {
	text string
	typ  int // 1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte
}

const (
	spNormal  = 1
	spUnknown = 2
	spControl = 3
	spByte    = 6
)

// newSentencePiece parses a ModelProto and builds the processor.
func newSentencePiece(data []byte) (*spModel, error) {
	m := &spModel{ids: map[string]int{}, addDummyPrefix: true, removeExtraSpaces: true,
		unkID: 0, bosID: 1, eosID: 2, padID: -1, unkSurface: " \u2047 "}
	var patched []byte
	modelType, escape, sawSpec := int64(1), true, false
	normName := ""
	var charsmap []byte
	maxLen := 0
	err := walkProto(data, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 1: // pieces
			p := spPiece{typ: spNormal}
			if err := walkProto(v, func(n protowire.Number, _ protowire.Type, pv []byte, px uint64) error {
				switch n {
				case 1:
					p.text = string(pv)
				case 3:
					p.typ = int(px)
				}
				return nil
			}); err != nil {
				return fmt.Errorf("piece %d: %w", len(m.pieces), err)
			}
			maxLen = max(maxLen, len(p.text))
			if _, dup := m.ids[p.text]; !dup {
				m.ids[p.text] = len(m.pieces)
			}
			m.pieces = append(m.pieces, p)
		case 2: // trainer_spec
			if err := walkProto(v, func(n protowire.Number, _ protowire.Type, tv []byte, tx uint64) error {
				switch n {
				case 3:
					modelType = int64(tx)
				case 40:
					m.unkID = int(int32(tx))
				case 41:
					m.bosID = int(int32(tx))
				case 42:
					m.eosID = int(int32(tx))
				case 43:
					m.padID = int(int32(tx))
				case 44:
					m.unkSurface = string(tv)
				}
				return nil
			}); err != nil {
				return fmt.Errorf("trainer_spec: %w", err)
			}
		case 3: // normalizer_spec: copied without add_dummy_prefix (3) and remove_extra_whitespaces (4)
			var spec []byte
			if err := walkProto(v, func(n protowire.Number, t protowire.Type, nv []byte, nx uint64) error {
				switch n {
				case 1:
					normName = string(nv)
				case 2:
					charsmap = nv
				case 3:
					m.addDummyPrefix = nx != 0
					return nil
				case 4:
					m.removeExtraSpaces = nx != 0
					return nil
				case 5:
					escape = nx != 0
				}
				spec = appendField(spec, n, t, nv, nx)
				return nil
			}); err != nil {
				return fmt.Errorf("normalizer_spec: %w", err)
			}
			sawSpec = true
			patched = protowire.AppendTag(patched, 3, protowire.BytesType)
			patched = protowire.AppendBytes(patched, noDummyPrefixSpec(spec))
			return nil
		}
		patched = appendField(patched, num, typ, v, x)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("not a SentencePiece model: %w", err)
	}
	if len(m.pieces) == 0 {
		return nil, fmt.Errorf("not a SentencePiece model: no pieces")
	}
	if modelType != 2 {
		name := map[int64]string{1: "UNIGRAM", 3: "WORD", 4: "CHAR"}[modelType]
		return nil, fmt.Errorf("SentencePiece model type %s (%d) is not supported (only BPE)", name, modelType)
	}
	if len(charsmap) > 0 || (normName != "" && normName != "identity") {
		return nil, fmt.Errorf("SentencePiece normalizer %q is not supported (only identity)", normName)
	}
	if !escape {
		return nil, fmt.Errorf("SentencePiece escape_whitespaces=false is not supported")
	}
	if !sawSpec {
		patched = protowire.AppendTag(patched, 3, protowire.BytesType)
		patched = protowire.AppendBytes(patched, noDummyPrefixSpec(nil))
	}
	patched = appendGuardPiece(patched, maxLen)
	proc, err := newProcessorSafely(patched)
	if err != nil {
		return nil, err
	}
	m.proc = proc
	for _, id := range []*int{&m.unkID, &m.bosID, &m.eosID, &m.padID} {
		if *id >= len(m.pieces) {
			*id = -1
		}
	}
	return m, nil
}

// appendGuardPiece works around a crash of go-sentencepiece v0.6.0 (Processor.Encode, findMerged): the buffer
// that joins two adjacent symbols to look the pair up is sized to the longest piece of the model, so a pair
// longer than that panics with "slice bounds out of range" instead of simply not being in the vocabulary.
// LLaMA-2's longest piece is 16 "▁" (48 bytes): any text with 16+ consecutive spaces followed by more text
// crashed. The pair of two symbols is at most twice the longest real piece, so one extra UNUSED piece longer
// than that sizes the buffer for every pair. It can never be produced (a merge joins two pieces of the model,
// each at most maxLen bytes long) and gets the id after the last real piece, which this package never emits
// or accepts (spModel.pieces holds the real pieces only).
func appendGuardPiece(proto []byte, maxLen int) []byte {
	var piece []byte
	piece = protowire.AppendTag(piece, 1, protowire.BytesType)
	piece = protowire.AppendString(piece, strings.Repeat("\u2047", (2*maxLen)/3+2)) // > 2·maxLen bytes
	piece = protowire.AppendTag(piece, 3, protowire.VarintType)
	piece = protowire.AppendVarint(piece, 5) // UNUSED
	proto = protowire.AppendTag(proto, 1, protowire.BytesType)
	return protowire.AppendBytes(proto, piece)
}

// newProcessorSafely turns a panic of go-sentencepiece on malformed input into an error.
func newProcessorSafely(data []byte) (proc *sentencepiece.Processor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("SentencePiece model rejected: %v", r)
		}
	}()
	proc, err = sentencepiece.NewProcessor(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("SentencePiece model rejected: %w", err)
	}
	return proc, nil
}

// noDummyPrefixSpec appends add_dummy_prefix=false and remove_extra_whitespaces=false to a normalizer_spec.
func noDummyPrefixSpec(spec []byte) []byte {
	for _, num := range []protowire.Number{3, 4} {
		spec = protowire.AppendTag(spec, num, protowire.VarintType)
		spec = protowire.AppendVarint(spec, 0)
	}
	return spec
}

// walkProto calls fn for every field of a protobuf message (v for bytes fields, x for varint/fixed ones).
func walkProto(b []byte, fn func(protowire.Number, protowire.Type, []byte, uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var f uint32
			f, n = protowire.ConsumeFixed32(b)
			x = uint64(f)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

func appendField(b []byte, num protowire.Number, typ protowire.Type, v []byte, x uint64) []byte {
	switch typ {
	case protowire.VarintType:
		return protowire.AppendVarint(protowire.AppendTag(b, num, typ), x)
	case protowire.Fixed32Type:
		return protowire.AppendFixed32(protowire.AppendTag(b, num, typ), uint32(x))
	case protowire.Fixed64Type:
		return protowire.AppendFixed64(protowire.AppendTag(b, num, typ), x)
	case protowire.BytesType:
		return protowire.AppendBytes(protowire.AppendTag(b, num, typ), v)
	}
	return b // groups are dropped: ModelProto has none
}

// encode returns the ids of text as C++ SentencePiece's EncodeAsIds does. A panic inside go-sentencepiece
// becomes an error.
func (m *spModel) encode(text string, dst []int) (ids []int, err error) {
	defer func() {
		if r := recover(); r != nil {
			ids, err = nil, fmt.Errorf("SentencePiece failed on %d bytes of text: %v", len(text), r)
		}
	}()
	if m.removeExtraSpaces {
		text = strings.Join(strings.FieldsFunc(text, func(r rune) bool { return r == ' ' }), " ")
	}
	if text == "" {
		return dst, nil
	}
	if m.addDummyPrefix {
		text = " " + text
	}
	for _, t := range m.proc.Encode(text) {
		if t.ID < 0 || t.ID >= len(m.pieces) {
			return nil, fmt.Errorf("SentencePiece produced id %d outside the vocabulary of %d", t.ID, len(m.pieces))
		}
		dst = append(dst, t.ID)
	}
	return dst, nil
}

// decode follows C++ DecodeIds: control pieces vanish, unknown becomes unk_surface, byte pieces are reassembled
// (one U+FFFD per invalid byte), "▁" becomes a space and the dummy-prefix space of the first text piece is dropped.
// With keepControl the control pieces are written as their text (for skip_special_tokens=false).
func (m *spModel) decode(ids []int, keepControl bool) (string, error) {
	var sb strings.Builder
	var pending []byte
	// bosWS: nothing visible decoded yet, so a leading "▁" is the dummy prefix and is consumed (once).
	bosWS := true
	flush := func() {
		for len(pending) > 0 {
			r, n := utf8.DecodeRune(pending)
			sb.WriteRune(r)
			pending = pending[n:]
			bosWS = false
		}
	}
	for _, id := range ids {
		if id < 0 || id >= len(m.pieces) {
			return "", fmt.Errorf("token id %d out of range [0, %d)", id, len(m.pieces))
		}
		p := m.pieces[id]
		if p.typ == spByte {
			var b uint8
			if _, err := fmt.Sscanf(p.text, "<0x%02X>", &b); err == nil {
				pending = append(pending, b)
				continue
			}
		}
		flush()
		switch {
		case p.typ == spControl:
			if keepControl {
				sb.WriteString(p.text)
				bosWS = false
			}
		case p.typ == spUnknown:
			sb.WriteString(m.unkSurface)
			bosWS = false
		default:
			t, consumed := p.text, false
			if bosWS && (m.addDummyPrefix || m.removeExtraSpaces) {
				t, consumed = strings.CutPrefix(t, "▁")
			}
			t = strings.ReplaceAll(t, "▁", " ")
			sb.WriteString(t)
			if t != "" || consumed {
				bosWS = false
			}
		}
	}
	flush()
	return sb.String(), nil
}

func (m *spModel) tokenToID(s string) (int, bool) {
	id, ok := m.ids[s]
	return id, ok
}

func (m *spModel) idToToken(id int) (string, bool) {
	if id < 0 || id >= len(m.pieces) {
		return "", false
	}
	return m.pieces[id].text, true
}

func (m *spModel) isControl(id int) bool {
	return id >= 0 && id < len(m.pieces) && m.pieces[id].typ == spControl
}
