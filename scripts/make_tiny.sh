#!/usr/bin/env bash
# Rebuilds the demo model in examples/tiny-llama from scratch, with hift itself:
#   1. the Opticks datasets (public domain text shipped with the Go toolchain) → examples/data/*.jsonl
#   2. a 512-token byte-level BPE tokenizer learned from the books → examples/tiny-llama/tokenizer.json
#   3. a random 4-layer LLaMA (hift init) pre-trained with full fine-tuning on the books (hift train --full),
#      stored in bfloat16.
# Takes ~10 minutes on 2 cores. Usage: scripts/make_tiny.sh [steps]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-400}
out=examples/tiny-llama
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/hift" ./cmd/hift
go run ./scripts/opticks -out examples/data
go run ./scripts/jsonltext < examples/data/opticks-books.jsonl > "$work/books.txt"
go run ./scripts/tinytok -in "$work/books.txt" -merges 255 -out "$out/tokenizer.json"
"$work/hift" init --config "$out/config.json" --tokenizer "$out/tokenizer.json" --out "$work/init" --seed 1 --dtype BF16
cp "$out/tokenizer_config.json" "$work/init/"
"$work/hift" train --full --model "$work/init" --data examples/data/opticks-books.jsonl --seq-len 128 \
  --batch-size 8 --steps "$steps" --optimizer adamw --lr 3e-3 --weight-decay 0.1 --lr-scheduler cosine \
  --warmup-steps 20 --max-grad-norm 1 --seed 1 --output "$work/pretrained"
cp "$work/pretrained/model.safetensors" "$out/model.safetensors"
"$work/hift" eval --model "$out" --data examples/data/opticks-queries-eval.jsonl --seq-len 128
