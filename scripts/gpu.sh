#!/usr/bin/env bash
# Finds an installed PJRT CUDA plugin (jax's jax_plugins/xla_cuda*/xla_cuda_plugin.so, or a
# pjrt_c_api_cuda_plugin.so on PJRT_PLUGIN_LIBRARY_PATH / LD_LIBRARY_PATH), sets the environment for hift's
# XLA backend (no auto-install, CUDA data dir from the pip-installed nvidia packages when present) and runs a
# smoke test: `hift version`, then forward+backward parity on the LLaMA fixture against transformers' golden
# values. Nothing is downloaded.
#
#   scripts/gpu.sh [path/to/hift]        # build hift with cgo first: CGO_ENABLED=1 go build -o hift ./cmd/hift
#   eval "$(scripts/gpu.sh --env)"      # only print the exports, to use with any hift command
set -euo pipefail
cd "$(dirname "$0")/.."
mode=run
if [ "${1:-}" = "--env" ]; then mode=env; shift; fi
hift=${1:-./hift}

find_plugin() {
  local p
  if command -v python3 >/dev/null 2>&1; then
    p=$(python3 - <<'PY' 2>/dev/null || true
import glob, os, site, sys
roots = site.getsitepackages() + [site.getusersitepackages()] + sys.path
for r in roots:
    for f in sorted(glob.glob(os.path.join(r, "jax_plugins", "xla_cuda*", "xla_cuda_plugin.so")), reverse=True):
        print(os.path.realpath(f)); raise SystemExit
PY
)
    [ -n "$p" ] && { echo "$p"; return; }
  fi
  local IFS=:
  for d in ${PJRT_PLUGIN_LIBRARY_PATH:-} ${LD_LIBRARY_PATH:-} /usr/local/lib/go-xla "$HOME/.local/lib/go-xla"; do
    [ -n "$d" ] || continue
    for f in "$d"/pjrt_c_api_cuda_plugin.so "$d"/pjrt-plugin-cuda.so; do
      [ -f "$f" ] && { echo "$f"; return; }
    done
  done
}

plugin=$(find_plugin || true)
if [ -z "$plugin" ]; then
  echo "gpu.sh: no PJRT CUDA plugin found (looked for jax_plugins/xla_cuda*/xla_cuda_plugin.so in python3's site-packages, and pjrt_c_api_cuda_plugin.so on PJRT_PLUGIN_LIBRARY_PATH/LD_LIBRARY_PATH)" >&2
  exit 1
fi
# pip-installed CUDA (nvidia-* wheels) keeps libdevice and ptxas beside the plugin's site-packages.
site=$(dirname "$(dirname "$(dirname "$plugin")")")
cuda_dir=""
for d in "$site/nvidia/cuda_nvcc" "$site/nvidia/cu13" "$site/nvidia/cuda_runtime" /usr/local/cuda; do
  if [ -d "$d/nvvm/libdevice" ] || [ -d "$d/bin" ]; then cuda_dir=$d; break; fi
done
exports="export HIFT_BACKEND='xla:$plugin' GOMLX_NO_AUTO_INSTALL=1 GOPJRT_CUDA_CHECKS=0"
if [ -n "$cuda_dir" ]; then
  exports="$exports XLA_FLAGS='--xla_gpu_cuda_data_dir=$cuda_dir ${XLA_FLAGS:-}'"
  [ -d "$cuda_dir/bin" ] && exports="$exports PATH='$cuda_dir/bin:$PATH'"
fi
if [ "$mode" = env ]; then echo "$exports"; exit 0; fi
eval "$exports"
echo "plugin: $plugin"
[ -n "$cuda_dir" ] && echo "cuda data dir: $cuda_dir"
"$hift" version
fx=testdata/fixtures/llama_causal_lm
out=$(mktemp -d)
"$hift" forward --model "$fx" --inputs "$fx/inputs.safetensors" --out "$out/o.safetensors" --grads
"$hift" forward --backend go --model "$fx" --inputs "$fx/inputs.safetensors" --out "$out/cpu.safetensors" --grads
echo "GPU forward+backward written to $out/o.safetensors; compare with the fixture's golden.safetensors (and $out/cpu.safetensors)"
