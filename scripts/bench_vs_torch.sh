#!/usr/bin/env bash
# bench_vs_torch.sh — hift's CPU step time against the PyTorch anchor, interleaved on the same machine.
#
#   scripts/bench_vs_torch.sh [-r ROUNDS] [-s STEPS] [-b] [-o OUTDIR]
#
# Each round runs, one after the other: `hift bench speed` on LLaMA 4 × 256 (bench/configs/llama-small.json) at
# batch 4 × 128 (full fine-tuning and HiFT m=1, AdamW, fp32), PyTorch as Debian runs it, and PyTorch configured
# well for this CPU family (OPENBLAS_CORETYPE from the CPU flags + OMP_WAIT_POLICY=PASSIVE); with -b also hift
# with HIFT_FAST_CPU=0 (SimpleGo's own kernels, "before"). The PyTorch anchor is ../shared/bench/
# torch_llama_step.py (plain torch, the same LLaMA math as transformers' eager code; needs Debian's
# python3-torch: apt-get install -y python3-torch). Interleaving spreads the noise of a shared machine over all
# configurations; the summary gives min / median / max per configuration and the ratios of the medians.
#
# Writes OUTDIR/llama-small-vs-torch.jsonl (one JSON line per measurement) and prints the Markdown summary,
# which it also writes to OUTDIR/llama-small-vs-torch.md. OUTDIR defaults to bench/results.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 steps=14 before=0 out=bench/results
while getopts "r:s:bo:" opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	s) steps=$OPTARG ;;
	b) before=1 ;;
	o) out=$OPTARG ;;
	*) sed -n '2,16p' "$0"; exit 2 ;;
	esac
done
torch_py=${TORCH_PY:-../shared/bench/torch_llama_step.py}
py=${PYTHON:-/usr/bin/python3}
[[ -f $torch_py ]] || { echo "bench_vs_torch: $torch_py not found (set TORCH_PY)" >&2; exit 1; }
"$py" -c 'import torch' 2>/dev/null || { echo "bench_vs_torch: $py has no torch: apt-get install -y python3-torch" >&2; exit 1; }

# OpenBLAS names the kernel family; Debian's 0.3.21 does not recognise recent CPUs and falls back to SSE3.
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
case $flags in
*avx512_bf16*) coretype=Cooperlake ;;
*avx512f*) coretype=SkylakeX ;;
*avx2*) coretype=Haswell ;;
*) coretype= ;;
esac

# Debian's torch calls whatever libblas.so.3 the alternatives system points at: the reference BLAS (libblas3)
# is 20-30x slower than OpenBLAS (apt-get install -y libopenblas0-pthread), which OPENBLAS_CORETYPE assumes.
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)
[[ $blas == *openblas* ]] || echo "bench_vs_torch: WARNING: torch's BLAS is $blas, not OpenBLAS: apt-get install -y libopenblas0-pthread" >&2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
hift=${HIFT:-$tmp/hift}
if [[ -z ${HIFT:-} ]]; then
	CGO_ENABLED=0 go build -tags noxla -o "$hift" ./cmd/hift
fi
mkdir -p "$out"
raw=$out/llama-small-vs-torch.jsonl
: >"$raw"
export GOMLX_NO_AUTO_INSTALL=1

run_hift() { # label, env...
	local label=$1
	shift
	env "$@" "$hift" bench speed --model llama-small --batch-size 4 --seq-len 128 --steps "$steps" --format json >"$tmp/h.json"
	"$py" - "$tmp/h.json" "$label" "$r" >>"$raw" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for res in d["results"]:
    mode = "full" if res["method"] == "fpft" else "hift"
    print(json.dumps({"config": sys.argv[2], "round": int(sys.argv[3]), "mode": mode, "s_per_step": res["mean_step_ns"] / 1e9}))
PY
}
run_torch() { # label, env...
	local label=$1
	shift
	env "$@" "$py" "$torch_py" --threads "$(nproc)" --batch 4 --seq 128 | "$py" -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    print(json.dumps({"config": sys.argv[1], "round": int(sys.argv[2]), "mode": d["mode"], "s_per_step": d["s_per_step"]}))
' "$label" "$r" >>"$raw"
}

for r in $(seq 1 "$rounds"); do
	echo "round $r/$rounds" >&2
	run_hift hift
	run_torch "torch as-is"
	run_torch "torch configured" OPENBLAS_CORETYPE=$coretype OMP_WAIT_POLICY=PASSIVE
	if ((before)); then run_hift "hift before (HIFT_FAST_CPU=0)" HIFT_FAST_CPU=0; fi
done

"$py" - "$raw" "$rounds" "$steps" "$coretype" "$(nproc)" "$blas" <<'PY' | tee "$out/llama-small-vs-torch.md"
import json, statistics, sys, platform, subprocess
rows = [json.loads(l) for l in open(sys.argv[1])]
rounds, steps, coretype, nproc, blas = sys.argv[2:7]
cfgs = list(dict.fromkeys(r["config"] for r in rows))
stat = {}
for c in cfgs:
    for m in ("full", "hift"):
        v = sorted(r["s_per_step"] for r in rows if r["config"] == c and r["mode"] == m)
        if v:
            stat[c, m] = (v[0], statistics.median(v), v[-1])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"# hift vs PyTorch: LLaMA 4 × 256 (llama-small), batch 4 × 128, AdamW, fp32\n")
print(f"{cpu}, {nproc} cores; {rounds} interleaved rounds; hift: `hift bench speed --steps {steps}` (SimpleGo + hift's "
      f"kernels); torch: ../shared/bench/torch_llama_step.py --threads {nproc}; configured = "
      f"OPENBLAS_CORETYPE={coretype} OMP_WAIT_POLICY=PASSIVE; torch's BLAS: {blas}. Seconds per optimizer step, min / median / max over the "
      f"rounds (HiFT: mean over whole cycles of units, m=1).\n")
print("| configuration | full s/step | HiFT s/step |")
print("| --- | --- | --- |")
fmt = lambda t: "—" if t is None else f"{t[0]:.3f} / **{t[1]:.3f}** / {t[2]:.3f}"
for c in cfgs:
    print(f"| {c} | {fmt(stat.get((c, 'full')))} | {fmt(stat.get((c, 'hift')))} |")
print("\nRatios of medians (hift / torch; < 1 means hift is faster):\n")
print("| against | full | HiFT |")
print("| --- | --- | --- |")
for c in cfgs:
    if c.startswith("torch"):
        cells = []
        for m in ("full", "hift"):
            h, t = stat.get(("hift", m)), stat.get((c, m))
            cells.append(f"{h[1] / t[1]:.2f}" if h and t else "—")
        print(f"| {c} | {cells[0]} | {cells[1]} |")
b = [c for c in cfgs if c.startswith("hift before")]
if b:
    for m in ("full", "hift"):
        h, o = stat.get(("hift", m)), stat.get((b[0], m))
        if h and o:
            print(f"\nSpeed-up over SimpleGo's own kernels ({m}): {o[1] / h[1]:.1f}×")
PY
