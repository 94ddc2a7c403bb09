package onnx

import (
	"testing"

	"google.golang.org/protobuf/proto"
)

// FuzzParse: arbitrary bytes never panic the parser, and every float initializer of a model that parses either
// decodes to exactly its element count or returns an error (no allocation driven by dims alone).
func FuzzParse(f *testing.F) {
	seed, _ := proto.Marshal(testModel([]float32{1, 2, 3}))
	f.Add(seed)
	half, _ := HalfTensor("h", Float16, []int{2}, []float32{1, 2})
	seed2, _ := proto.Marshal(&ModelProto{Graph: &GraphProto{Initializer: []*TensorProto{half}}})
	f.Add(seed2)
	f.Add([]byte{0x3a, 0x05, 0x62, 0x03, 0x0a, 0x01, 0x78})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, "fuzz.onnx")
		if err != nil {
			return
		}
		for _, init := range m.GetGraph().GetInitializer() {
			if init.GetDataLocation() == TensorProto_EXTERNAL {
				continue
			}
			vals, err := TensorFloat32(init, "")
			if err != nil {
				continue
			}
			if n, _ := NumElements(init); len(vals) != n {
				t.Fatalf("%q: %d values for %d elements", init.GetName(), len(vals), n)
			}
		}
	})
}
