#!/usr/bin/env bash
# Regenerates the tokenizer fixtures (testdata/tokenizers/<family>/) and the golden ids
# (testdata/tokenizers/<family>.golden.json) from the pinned npm reference implementations: HF's Rust tokenizers
# (npm `tokenizers`) and C++ SentencePiece (@sctg/sentencepiece-js). Offline once node_modules is installed.
#   scripts/tokenizer_goldens.sh            # fixtures + goldens for the committed corpus.json
#   scripts/tokenizer_goldens.sh --corpus   # also rewrite corpus.json (scripts/tokenizer_corpus.py, needs python3)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d testdata/validators/node_modules ]; then
	(cd testdata/validators && npm ci --no-audit --no-fund)
fi
if [ "${1:-}" = "--corpus" ]; then
	python3 scripts/tokenizer_corpus.py
fi
node testdata/validators/tok_build.mjs testdata/tokenizers
node testdata/validators/tok_goldens.mjs testdata/tokenizers
go test -count=1 -run 'TestParityWithGoldens' ./data/tokenizer
