package gguf

import "fmt"

// CheckData verifies, without reading tensor data, that every tensor's bytes lie inside the file: a GGUF cut
// short (an interrupted download or copy) is reported with the first tensor that runs past the end.
func (g *File) CheckData() error {
	st, err := g.f.Stat()
	if err != nil {
		return fmt.Errorf("gguf: %s: %w", g.Path, err)
	}
	size := st.Size()
	for _, t := range g.Tensors {
		n, err := TensorBytes(t.Type, t.Shape)
		if err != nil {
			continue // a type this package cannot size (it cannot read it either): not checked
		}
		if end := g.dataStart + int64(t.Offset) + int64(n); t.Offset > uint64(size) || end > size || end < g.dataStart {
			return fmt.Errorf("gguf: %s: tensor %q needs bytes up to %d, but the file has %d: the file is truncated", g.Path, t.Name, end, size)
		}
	}
	return nil
}
