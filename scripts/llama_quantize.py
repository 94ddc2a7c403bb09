#!/usr/bin/env python3
"""llama-quantize without building llama.cpp: calls llama_model_quantize in the libllama of the pinned
node-llama-cpp validator (testdata/validators) through ctypes, with default parameters (no imatrix).

    python3 scripts/llama_quantize.py IN.gguf OUT.gguf q4_k_m [nthread]

Used to compare hift's pure-Go quantizer with llama.cpp's (bytes, and speed: bench/results).
"""
import ctypes, os, sys, time, resource

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINS = os.path.join(ROOT, "testdata/validators/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64")
FTYPES = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q8_0": 7, "q5_0": 8, "q5_1": 9, "q4_k_s": 14,
          "q4_k_m": 15, "q5_k_s": 16, "q5_k_m": 17, "q6_k": 18, "bf16": 32}


def main():
    if len(sys.argv) < 4 or sys.argv[3].lower() not in FTYPES:
        sys.exit("usage: llama_quantize.py IN.gguf OUT.gguf {%s} [nthread]" % ",".join(FTYPES))
    src, dst, ftype = sys.argv[1], sys.argv[2], FTYPES[sys.argv[3].lower()]
    nthread = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    ctypes.CDLL(os.path.join(BINS, "libggml-base.so"), mode=ctypes.RTLD_GLOBAL)
    ctypes.CDLL(os.path.join(BINS, "libggml.v0.5.0.so"), mode=ctypes.RTLD_GLOBAL)
    lib = ctypes.CDLL(os.path.join(BINS, "libllama.v0.5.0.so"))
    # The params struct is returned by value (hidden pointer); a 512-byte buffer covers any version of it.
    # nthread (int32) and ftype (enum) are its first two fields in every llama.h.
    class Params(ctypes.Structure):
        _fields_ = [("raw", ctypes.c_uint8 * 512)]
    lib.llama_model_quantize_default_params.restype = Params
    params = lib.llama_model_quantize_default_params()
    ctypes.c_int32.from_buffer(params, 0).value = nthread
    ctypes.c_int32.from_buffer(params, 4).value = ftype
    lib.llama_backend_init()
    lib.llama_model_quantize.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p]
    t0 = time.time()
    rc = lib.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params))
    dt = time.time() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("llama_model_quantize rc=%d %.3fs %.1f MB/s (input %d bytes) peak RSS %.0f MB" % (
        rc, dt, os.path.getsize(src) / dt / 1e6, os.path.getsize(src), rss), file=sys.stderr)
    sys.exit(rc)


if __name__ == "__main__":
    main()
