#!/usr/bin/env bash
# Runs every parser fuzz target for a while: scripts/fuzz.sh [TIME] [FILTER]
#   TIME    go test -fuzztime per target (default 30s; CI uses 2s), e.g. 5m or 10000x
#   FILTER  only targets whose name matches this grep pattern
# The seed corpora are committed (f.Add seeds in each *_test.go, plus testdata/fuzz/<Target>/ where present) and
# also run in every plain `go test`. A crasher is written by go test to <pkg>/testdata/fuzz/<Target>/ — commit
# it with the fix so it stays a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
time="${1:-30s}"
filter="${2:-.}"
export GOMLX_BACKEND="${GOMLX_BACKEND:-go:ops_sequential}" GOMLX_NO_AUTO_INSTALL=1
# package  target  (what it parses)
targets=(
  "./io/safetensors FuzzHeader"        # safetensors header and tensor extents
  "./io/safetensors FuzzIndex"         # model.safetensors.index.json
  "./io/gguf FuzzOpen"                 # GGUF header, metadata and tensor infos
  "./graph FuzzConfig"                 # config.json (parse, sizes, model construction)
  "./data/tokenizer FuzzFromJSON"      # tokenizer.json
  "./data/tokenizer FuzzSentencePiece" # tokenizer.model (SentencePiece ModelProto) and encoding
  "./data/tokenizer FuzzSentencePieceText" # any text through the LLaMA-2 tokenizer.model (round trip)
  "./data/tokenizer FuzzChatTemplate"  # chat templates (Jinja)
  "./data/tokenizer FuzzGGUFBPEText"    # any text through llama.cpp-style byte-level BPE (11 pre types) from GGUF vocabularies
  "./data/tokenizer FuzzGGUFSPMWPMText" # any text through llama.cpp-style SentencePiece / WordPiece from GGUF vocabularies
  "./data FuzzRows"                    # JSONL / CSV / TSV rows through formatting
  "./io/onnx FuzzParse"                # ONNX ModelProto (hift import --format onnx)
  "./io/torchbin FuzzStateDict"        # pytorch_model.bin (zip + restricted pickle)
  "./kernels/sgemm FuzzRun"            # GEMM shapes and strides against a float64 reference
)
failed=0
for t in "${targets[@]}"; do
  set -- $t
  pkg=$1 name=$2
  echo "$name" | grep -q -- "$filter" || continue
  echo "== $name ($pkg) for $time"
  # A real finding is always written to <pkg>/testdata/fuzz/<Target>/. Go's fuzzer can also end a short run
  # with a bare "context deadline exceeded" when the time runs out while it is still processing a new
  # interesting input (no crasher written): that is the toolchain's timing, not a finding, so the target is run
  # once more and fails only on a written crasher or any other error.
  crashers="$pkg/testdata/fuzz/$name"
  for attempt in 1 2; do
    before=$(ls "$crashers" 2>/dev/null | wc -l || true)
    log=$(mktemp)
    if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$time" "$pkg" 2>&1 | tee "$log"; then
      rm -f "$log"
      break
    fi
    after=$(ls "$crashers" 2>/dev/null | wc -l || true)
    if [[ $attempt == 1 && $after == "$before" ]] && grep -q 'context deadline exceeded' "$log" &&
      ! grep -q -e 'Failing input written' -e 'panic:' "$log"; then
      echo "note: $name stopped on Go's fuzz deadline with no crasher written; running it once more"
      rm -f "$log"
      continue
    fi
    rm -f "$log"
    echo "FAIL: $name ($pkg)"
    failed=1
    break
  done
done
exit $failed
