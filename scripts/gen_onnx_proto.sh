#!/usr/bin/env bash
# Regenerates io/onnx/onnx.pb.go from the official onnx.proto (ONNX IR 8, Debian's libonnx-dev).
# Needs: protoc (Debian protobuf-compiler 3.21.12) and protoc-gen-go of google.golang.org/protobuf (the version in
# go.mod: `go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.10`, or Debian's protoc-gen-go package).
#   apt-get install -y protobuf-compiler libonnx-dev
set -euo pipefail
cd "$(dirname "$0")/.."
PROTO=${ONNX_PROTO:-/usr/include/onnx/onnx.proto}
[ -f "$PROTO" ] || { echo "gen_onnx_proto: $PROTO not found (apt-get install libonnx-dev, or set ONNX_PROTO)" >&2; exit 1; }
command -v protoc >/dev/null || { echo "gen_onnx_proto: protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
command -v protoc-gen-go >/dev/null || { echo "gen_onnx_proto: protoc-gen-go not on PATH" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$PROTO" "$tmp/onnx.proto"
protoc -I "$tmp" --go_out="$tmp" --go_opt=paths=source_relative \
	--go_opt=Monnx.proto=github.com/hift-go/hift/io/onnx\;onnx "$tmp/onnx.proto"
mv "$tmp/onnx.pb.go" io/onnx/onnx.pb.go
gofmt -l io/onnx/onnx.pb.go || true
echo "wrote io/onnx/onnx.pb.go from $PROTO ($(protoc --version), $(protoc-gen-go --version))"
