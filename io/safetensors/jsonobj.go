package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// object is a JSON object kept in document order, with each value left raw.
type object struct {
	keys []string
	vals []json.RawMessage
}

// parseObject walks one JSON object token by token. Unlike decoding into a
// map it sees every key, so a key that appears twice is reported instead of
// silently keeping the last value. Whitespace may follow the object, nothing
// else. With allowNull, a JSON null gives an empty object.
func parseObject(data []byte, allowNull bool) (*object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(err)
	}
	obj := &object{}
	if tok == nil && allowNull {
		return obj, expectEOF(dec)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("expected a JSON object, found %s", describeToken(tok))
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(err)
		}
		key, ok := tok.(string)
		if !ok { // cannot happen with encoding/json, kept as a guard
			return nil, fmt.Errorf("expected an object key, found %s", describeToken(tok))
		}
		if seen[key] {
			return nil, &duplicateKeyError{key}
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, jsonError(err)
		}
		obj.keys = append(obj.keys, key)
		obj.vals = append(obj.vals, raw)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, jsonError(err)
	}
	return obj, expectEOF(dec)
}

// duplicateKeyError reports a key that appears twice in one JSON object.
type duplicateKeyError struct{ key string }

func (e *duplicateKeyError) Error() string { return fmt.Sprintf("duplicate key %q", e.key) }

// expectEOF reports anything but whitespace left after the top-level value.
func expectEOF(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid JSON: unexpected data after the top-level value")
	}
	return nil
}

// jsonError turns a decoder error into one that says the JSON is invalid.
func jsonError(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errors.New("invalid JSON: unexpected end of input")
	}
	return fmt.Errorf("invalid JSON: %v", err)
}

// describeToken names a JSON token for an error message.
func describeToken(tok json.Token) string {
	switch t := tok.(type) {
	case nil:
		return "null"
	case json.Delim:
		if t == '[' {
			return "an array"
		}
		return fmt.Sprintf("%q", string(t))
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", tok)
}

// parseStringMap parses a JSON object whose values must all be strings
// (null allowed as an empty map when allowNull), rejecting duplicate keys.
func parseStringMap(data []byte, allowNull bool) (map[string]string, error) {
	obj, err := parseObject(data, allowNull)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(obj.keys))
	for i, k := range obj.keys {
		var s string
		if err := json.Unmarshal(obj.vals[i], &s); err != nil || !isJSONString(obj.vals[i]) {
			return nil, fmt.Errorf("value of %q is not a string", k)
		}
		m[k] = s
	}
	return m, nil
}

// isJSONString reports whether a raw JSON value is a string literal (null
// also unmarshals into a Go string without error, so it is checked apart).
func isJSONString(raw json.RawMessage) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == '"'
}

// isJSONArray reports whether a raw JSON value is an array.
func isJSONArray(raw json.RawMessage) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == '['
}
