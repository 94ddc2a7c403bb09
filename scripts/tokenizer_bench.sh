#!/usr/bin/env bash
# Throughput of the Go tokenizer vs HF's tokenizers (node binding; C++ SentencePiece for tokenizer.model) on the
# same texts: corpus.json ×4, copy k prefixed with "k " (see data/tokenizer/bench_test.go, tok_bench.mjs).
# Prints one line per family: Go sequential / Go EncodeBatch / HF sequential encode / HF encodeBatch, tokens/s
# (0: not available; C++ SentencePiece has no batch call). The machine's other load affects both sides alike.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(go test -run XXX -bench 'BenchmarkEncode(Batch)?/' -benchtime 3s ./data/tokenizer)
printf '%-8s %14s %14s %14s %14s\n' family go-seq go-batch hf-seq hf-batch
for f in gpt2 roberta bert llama3 qwen3 mistral llama2; do
	file=testdata/tokenizers/$f/tokenizer.json.gz
	[ "$f" = llama2 ] && file=testdata/tokenizers/$f/tokenizer.model.gz
	hf=$(node testdata/validators/tok_bench.mjs "$file" testdata/tokenizers/corpus.json 4 3)
	goseq=$(echo "$out" | awk -v f="BenchmarkEncode/$f-" 'index($1, f) == 1 {print $(NF-1)}')
	gobatch=$(echo "$out" | awk -v f="BenchmarkEncodeBatch/$f-" 'index($1, f) == 1 {print $(NF-1)}')
	hfseq=$(echo "$hf" | sed -E 's/.*"sequential_tokens_per_s":([0-9.]+|null).*/\1/')
	hfbatch=$(echo "$hf" | sed -E 's/.*"batch_tokens_per_s":([0-9.]+|null).*/\1/')
	[ "$hfbatch" = null ] && hfbatch=0
	printf '%-8s %14.0f %14.0f %14.0f %14.0f\n' "$f" "$goseq" "$gobatch" "$hfseq" "$hfbatch"
done
