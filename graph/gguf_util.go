package graph

import (
	"encoding/binary"
	"math"

	"github.com/hift-go/hift/io/safetensors"
)

func appendU32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func mathFloat32bits(f float32) uint32    { return math.Float32bits(f) }
func f32ToF16(f float32) uint16           { return safetensors.F32ToF16(f) }
func f32ToBF16(f float32) uint16          { return safetensors.F32ToBF16(f) }

func safetensorsDecode(dt string, b []byte) ([]float32, error) {
	return safetensors.DecodeFloat32(safetensors.DType(dt), b)
}
