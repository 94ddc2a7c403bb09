// Package safetensors reads and writes the Hugging Face safetensors format.
//
// A safetensors file is an 8-byte little-endian header length N, N bytes of
// JSON describing every tensor
//
//	{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ..., "__metadata__": {"k": "v"}}
//
// (offsets are relative to the first byte after the header), then the raw
// little-endian tensor data.
//
// Open memory-maps a single file or a sharded checkpoint
// (model.safetensors.index.json plus its shards) and reads tensors lazily by
// name; every header is validated before any tensor is served. WriteFile,
// WriteSharded and WriteLayout write deterministic files (sorted header, data
// in name order, header padded to 8 bytes) through a temporary file that is
// renamed into place, so a failed write never leaves a half-written file.
//
// The package depends only on the standard library and knows nothing about
// GoMLX or model architectures: names are kept exactly as found on disk.
package safetensors
