// Package onnx reads and writes ONNX ModelProto files (plain Go, no GoMLX). The protobuf types in onnx.pb.go are
// generated from the official onnx.proto (IR 8, Debian's libonnx-dev) by scripts/gen_onnx_proto.sh; the only
// runtime dependency is google.golang.org/protobuf.
//
// Besides the generated types the package provides: Read (with external data resolved against the model's
// folder), Write (atomic, optionally moving initializers to a `<model>.onnx_data` file with
// location/offset/length entries, as onnx's save_model(save_as_external_data=True) does, which is required
// above protobuf's 2 GB limit), tensor constructors for float32/float16/bfloat16/int64 initializers and
// TensorFloat32, which decodes any float initializer back to float32.
package onnx
