#!/usr/bin/env bash
# Quantizing a 1 GB F32 checkpoint to GGUF: hift's pure-Go exporter side by side with llama.cpp's own
# llama_model_quantize (the libllama of the pinned node-llama-cpp validator, scripts/llama_quantize.py),
# same input, same machine, back to back for each type. Prints wall/CPU time, MB/s of F32 input, the
# hift/llama.cpp speed ratio, the load average, peak memory (peak RSS; for hift also the anonymous part,
# since the checkpoint is memory-mapped), and checks that the two files' tensors are byte-identical.
#   bash scripts/bench_gguf_quant.sh [TYPES...]   (default: q8_0 q4_0 q4_k_m q6_k; work dir $BENCH_DIR or /tmp)
#   HIFT=/path/to/hift bench one binary instead of building ./cmd/hift (e.g. an older commit's build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-/tmp}/hift-gguf-bench
types=${*:-q8_0 q4_0 q4_k_m q6_k}
mkdir -p "$work" && cd "$work"
if [ -n "${HIFT:-}" ]; then cp "$HIFT" "$work/hift"; else go build -C "$root" -o "$work/hift" ./cmd/hift; fi
cat > cfg.json <<'CFG'
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 512, "hidden_size": 1024,
 "intermediate_size": 2816, "num_hidden_layers": 20, "num_attention_heads": 16, "num_key_value_heads": 16,
 "max_position_embeddings": 2048, "tie_word_embeddings": false, "bos_token_id": 511, "eos_token_id": 511}
CFG
[ -f m1g/model.safetensors ] || ./hift init --config cfg.json --tokenizer "$root/examples/tiny-llama/tokenizer.json" --out m1g
[ -f f32.gguf ] || ./hift export --model m1g --out f32.gguf
size=$(stat -c %s m1g/model.safetensors)
peak() { # run "$@", print peak RssAnon of the process in kB
	"$@" >/dev/null 2>hift.err & local pid=$! pa=0 a
	while kill -0 $pid 2>/dev/null; do
		a=$(awk '/RssAnon/{print $2}' /proc/$pid/status 2>/dev/null || true)
		[ -n "$a" ] && [ "$a" -gt "$pa" ] && pa=$a
		sleep 0.1
	done
	wait $pid || { echo "FAILED: $*" >&2; exit 1; }
	echo "$pa"
}
# same_tensors A B: every tensor of A has the same name, type, shape and data bytes in B (and vice versa).
same_tensors() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
def tensors(path):
    b = open(path, "rb").read()
    p = 0
    def rd(fmt):
        nonlocal p
        v = struct.unpack_from("<" + fmt, b, p); p += struct.calcsize("<" + fmt); return v[0]
    def s():
        nonlocal p
        n = rd("Q"); v = b[p:p + n]; p += n; return v.decode()
    sizes = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
    def val(t):
        if t == 8: return s()
        if t == 9:
            et, n = rd("I"), rd("Q"); return [val(et) for _ in range(n)]
        return rd(sizes[t])
    assert rd("I") == 0x46554747 and rd("I") == 3, path + ": not GGUF v3"
    nt, nk = rd("Q"), rd("Q")
    align = 32
    for _ in range(nk):
        k = s(); v = val(rd("I"))
        if k == "general.alignment": align = v
    infos = []
    for _ in range(nt):
        name = s(); dims = [rd("Q") for _ in range(rd("I"))]; typ = rd("I"); off = rd("Q")
        infos.append((off, name, typ, dims))
    base = (p + align - 1) // align * align
    infos.sort()
    out = {}
    for i, (off, name, typ, dims) in enumerate(infos):
        end = infos[i + 1][0] if i + 1 < len(infos) else len(b) - base
        out[name] = (typ, dims, b[base + off:base + end].rstrip(b"\0"))
    return out
a, c = tensors(sys.argv[1]), tensors(sys.argv[2])
bad = [n for n in a if a[n] != c.get(n)] + [n for n in c if n not in a]
print("%d tensors, %d differ%s" % (len(a), len(bad), (" (e.g. %s)" % bad[0]) if bad else ""))
sys.exit(1 if bad else 0)
PY
}
echo "input: $size bytes of F32 ($(nproc) cores, $(go version | cut -d' ' -f3), $(git -C "$root" rev-parse --short HEAD))"
status=0
for t in $types; do
	rm -f "hift-$t.gguf" "llama-$t.gguf"
	l0=$(cut -d' ' -f1 /proc/loadavg)
	anon=$( { /usr/bin/time -f "%e %U %S %M" -o hift.time bash -c "$(declare -f peak); peak ./hift export --model m1g --dtype $t --out hift-$t.gguf"; } ) || { cat hift.err; exit 1; }
	read -r he u s m < hift.time
	hc=$(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}')
	echo "hift      $t: ${he}s wall (${u}s user ${s}s sys), $(awk -v b="$size" -v e="$he" 'BEGIN{printf "%.1f", b/e/1e6}') MB/s, peak RSS ${m} kB (anonymous ${anon} kB), load before $l0"
	l0=$(cut -d' ' -f1 /proc/loadavg)
	/usr/bin/time -f "%e %U %S %M" -o llama.time python3 "$root/scripts/llama_quantize.py" f32.gguf "llama-$t.gguf" "$t" "$(nproc)" 2>llama.err || { cat llama.err; exit 1; }
	read -r le u s m < llama.time
	lc=$(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}')
	echo "llama.cpp $t: ${le}s wall (${u}s user ${s}s sys), $(awk -v b="$size" -v e="$le" 'BEGIN{printf "%.1f", b/e/1e6}') MB/s, peak RSS ${m} kB, load before $l0"
	echo "          hift speed / llama.cpp speed: $(awk -v a="$he" -v b="$le" 'BEGIN{printf "%.2f", b/a}') wall, $(awk -v a="$hc" -v b="$lc" 'BEGIN{printf "%.2f", b/a}') CPU time; file sizes: hift $(stat -c %s hift-$t.gguf), llama.cpp $(stat -c %s llama-$t.gguf) bytes; tensors: $(same_tensors "hift-$t.gguf" "llama-$t.gguf" || { status=1; echo DIFFERENT; })"
done
exit $status
