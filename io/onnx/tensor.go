package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/hift-go/hift/io/safetensors"
)

// Element types (TensorProto_DataType) hift writes and reads.
const (
	Float32  = int32(TensorProto_FLOAT)
	Float16  = int32(TensorProto_FLOAT16)
	BFloat16 = int32(TensorProto_BFLOAT16)
	Int64    = int32(TensorProto_INT64)
	Int32    = int32(TensorProto_INT32)
	Bool     = int32(TensorProto_BOOL)
)

// DTypeName is the ONNX name of an element type ("FLOAT", "FLOAT16", …).
func DTypeName(dt int32) string { return TensorProto_DataType(dt).String() }

func dims64(dims []int) []int64 {
	out := make([]int64, len(dims))
	for i, d := range dims {
		out[i] = int64(d)
	}
	return out
}

// Float32Tensor makes a float32 tensor named name with raw little-endian data.
func Float32Tensor(name string, dims []int, data []float32) *TensorProto {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &TensorProto{Name: &name, DataType: ptr(Float32), Dims: dims64(dims), RawData: raw}
}

// HalfTensor makes a float16 or bfloat16 tensor from float32 values, rounding to nearest even.
func HalfTensor(name string, dt int32, dims []int, data []float32) (*TensorProto, error) {
	conv := safetensors.F32ToF16
	switch dt {
	case Float16:
	case BFloat16:
		conv = safetensors.F32ToBF16
	default:
		return nil, fmt.Errorf("onnx: HalfTensor %q: element type %s is not float16 or bfloat16", name, DTypeName(dt))
	}
	raw := make([]byte, 2*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint16(raw[2*i:], conv(v))
	}
	return &TensorProto{Name: &name, DataType: ptr(dt), Dims: dims64(dims), RawData: raw}, nil
}

// Int64Tensor makes an int64 tensor.
func Int64Tensor(name string, dims []int, data []int64) *TensorProto {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return &TensorProto{Name: &name, DataType: ptr(Int64), Dims: dims64(dims), RawData: raw}
}

// NumElements is the product of a tensor's dims (1 for a scalar); it fails on negative dims or overflow.
func NumElements(t *TensorProto) (int, error) {
	n := int64(1)
	for _, d := range t.GetDims() {
		if d < 0 || (d > 0 && n > math.MaxInt32*int64(256)/d) {
			return 0, fmt.Errorf("onnx: tensor %q: bad dims %v", t.GetName(), t.GetDims())
		}
		n *= d
	}
	return int(n), nil
}

// Shape returns the tensor's dims as ints.
func Shape(t *TensorProto) []int {
	out := make([]int, len(t.GetDims()))
	for i, d := range t.GetDims() {
		out[i] = int(d)
	}
	return out
}

// TensorFloat32 decodes a float32, float16 or bfloat16 tensor to float32. Data may be in raw_data, in the
// typed fields (float_data; int32_data for the 16-bit types, as onnx.proto specifies) or, when stored
// externally, in the file named by its external_data location, resolved against dir (the model's folder).
func TensorFloat32(t *TensorProto, dir string) ([]float32, error) {
	n, err := NumElements(t)
	if err != nil {
		return nil, err
	}
	dt := t.GetDataType()
	raw, err := TensorRaw(t, dir)
	if err != nil {
		return nil, err
	}
	var out []float32 // allocated once the data is known to hold n values, so bad dims cannot blow up memory
	switch dt {
	case Float32:
		if raw != nil {
			if len(raw) != 4*n {
				return nil, fmt.Errorf("onnx: tensor %q: %d data bytes for %d float32 values", t.GetName(), len(raw), n)
			}
			out = make([]float32, n)
			for i := range out {
				out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
			return out, nil
		}
		if len(t.GetFloatData()) != n {
			return nil, fmt.Errorf("onnx: tensor %q: %d float_data values for %d elements", t.GetName(), len(t.GetFloatData()), n)
		}
		return append([]float32(nil), t.GetFloatData()...), nil
	case Float16, BFloat16:
		conv := safetensors.F16ToF32
		if dt == BFloat16 {
			conv = safetensors.BF16ToF32
		}
		if raw != nil {
			if len(raw) != 2*n {
				return nil, fmt.Errorf("onnx: tensor %q: %d data bytes for %d 16-bit values", t.GetName(), len(raw), n)
			}
			out = make([]float32, n)
			for i := range out {
				out[i] = conv(binary.LittleEndian.Uint16(raw[2*i:]))
			}
			return out, nil
		}
		if len(t.GetInt32Data()) != n {
			return nil, fmt.Errorf("onnx: tensor %q: %d int32_data values for %d elements", t.GetName(), len(t.GetInt32Data()), n)
		}
		out = make([]float32, n)
		for i, v := range t.GetInt32Data() {
			out[i] = conv(uint16(v))
		}
		return out, nil
	}
	return nil, fmt.Errorf("onnx: tensor %q: element type %s is not a float type", t.GetName(), DTypeName(dt))
}

// TensorRaw returns the tensor's raw little-endian bytes: raw_data, or the external data it points to; nil when
// the data is in the typed fields.
func TensorRaw(t *TensorProto, dir string) ([]byte, error) {
	if t.GetDataLocation() == TensorProto_EXTERNAL {
		return readExternal(t, dir)
	}
	if t.RawData != nil {
		return t.RawData, nil
	}
	return nil, nil
}

func ptr[T any](v T) *T { return &v }
