#!/usr/bin/env bash
# bench_before_after.sh — hift's step time with and without its CPU kernels, interleaved.
#
#   scripts/bench_before_after.sh [-r ROUNDS] [-s STEPS] [-m METHOD] [-o FILE] MODEL BATCH SEQ
#
# Runs `hift bench speed --model MODEL --batch-size BATCH --seq-len SEQ --method METHOD --steps STEPS` ROUNDS
# times, alternating HIFT_FAST_CPU=0 (SimpleGo's own kernels, "before") and the default (hift's SIMD kernels,
# "after"), and prints min / median / max seconds per step of each and the speed-up of the medians (Markdown,
# also written to FILE when given). Defaults: 2 rounds, 2 steps, method fpft.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=2 steps=2 method=fpft file=
while getopts "r:s:m:o:" opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	s) steps=$OPTARG ;;
	m) method=$OPTARG ;;
	o) file=$OPTARG ;;
	*) sed -n '2,9p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
(($# == 3)) || { sed -n '2,9p' "$0"; exit 2; }
model=$1 batch=$2 seq=$3
py=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
hift=${HIFT:-$tmp/hift}
[[ -n ${HIFT:-} ]] || CGO_ENABLED=0 go build -tags noxla -o "$hift" ./cmd/hift
export GOMLX_NO_AUTO_INSTALL=1
: >"$tmp/raw"
for r in $(seq 1 "$rounds"); do
	for which in before after; do
		echo "round $r/$rounds: $which" >&2
		fast=1
		[[ $which == before ]] && fast=0
		HIFT_FAST_CPU=$fast "$hift" bench speed --model "$model" --batch-size "$batch" --seq-len "$seq" \
			--method "$method" --steps "$steps" --format json >"$tmp/out.json"
		"$py" -c 'import json,sys
d=json.load(open(sys.argv[1]))
for r in d["results"]:
    print(json.dumps({"which": sys.argv[2], "method": r["method"], "s": r["mean_step_ns"]/1e9, "first": r["first_step_ns"]/1e9}))' \
			"$tmp/out.json" "$which" >>"$tmp/raw"
	done
done
"$py" - "$tmp/raw" "$model" "$batch" "$seq" "$method" "$steps" "$rounds" <<'PY' | tee ${file:+"$file"}
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
model, batch, seq, method, steps, rounds = sys.argv[2:8]
print(f"### {model}, batch {batch} × {seq}, {method}, AdamW fp32: before / after hift's CPU kernels\n")
print(f"`hift bench speed --model {model} --batch-size {batch} --seq-len {seq} --method {method} --steps {steps}`, "
      f"{rounds} interleaved rounds, before = HIFT_FAST_CPU=0 (SimpleGo's own kernels). Seconds per step, "
      f"min / median / max over the rounds.\n")
print("| method | before s/step | after s/step | speed-up (medians) |")
print("| --- | --- | --- | --- |")
for m in dict.fromkeys(r["method"] for r in rows):
    b = sorted(r["s"] for r in rows if r["method"] == m and r["which"] == "before")
    a = sorted(r["s"] for r in rows if r["method"] == m and r["which"] == "after")
    f = lambda v: f"{v[0]:.3f} / **{statistics.median(v):.3f}** / {v[-1]:.3f}"
    print(f"| {m} | {f(b)} | {f(a)} | {statistics.median(b) / statistics.median(a):.1f}× |")
PY
