#!/usr/bin/env python3
"""Reference bytes for hift's GGUF block quantizers, straight from ggml.

Calls ggml's own quantize_row_<type>_ref (the path llama-quantize takes without an importance matrix) in
the libggml-base.so that the pinned node-llama-cpp validator ships, through ctypes, on a seeded set of rows
with edge cases, and writes testdata/fixtures/ggml_quant/{input.f32,<type>.bin,<type>.deq.f32}. io/gguf's tests compare
hift's encoders with these bytes. Re-run after bumping node-llama-cpp:

    python3 scripts/ggml_quant_ref.py
"""
import ctypes, os, random, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "testdata/validators/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so")
OUT = os.path.join(ROOT, "testdata/fixtures/ggml_quant")
TYPES = {"q8_0": 34 / 32, "q4_0": 18 / 32, "q4_1": 20 / 32, "q5_0": 22 / 32, "q5_1": 24 / 32,
         "q4_K": 144 / 256, "q5_K": 176 / 256, "q6_K": 210 / 256}
ROW = 512


def rows():
    rnd = random.Random(11)
    out = []
    for scale in (0.02, 1.0, 3e-5, 50.0):  # typical weights, unit, fp16-subnormal scales, large
        out.append([rnd.gauss(0, scale) for _ in range(ROW)])
    out.append([0.0] * ROW)                                   # all zero
    out.append([0.25] * ROW)                                  # constant positive
    out.append([-0.125] * ROW)                                # constant negative
    r = [rnd.gauss(0, 0.01) for _ in range(ROW)]; r[7] = 3.0; r[300] = -4.0
    out.append(r)                                             # outliers
    out.append([rnd.uniform(0, 1) for _ in range(ROW)])       # all positive (min > 0)
    out.append([rnd.choice((-1.0, 0.0, 1.0)) * rnd.random() ** 3 for _ in range(ROW)])  # sparse-ish
    out.append([(i % 32 - 16) / 16.0 for i in range(ROW)])    # exact grid values (rounding ties)
    out.append([rnd.gauss(0, 1) * (10.0 ** rnd.randint(-6, 2)) for _ in range(ROW)])  # mixed magnitudes
    return out


def main():
    lib = ctypes.CDLL(LIB)
    data = [v for r in rows() for v in r]
    n = len(data)
    src = (ctypes.c_float * n)(*data)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "input.f32"), "wb") as f:
        f.write(struct.pack("<%df" % n, *src))  # the float32 values ggml saw
    for name, bpe in TYPES.items():
        size = int(n * bpe)
        dst = (ctypes.c_uint8 * size)()
        fn = getattr(lib, "quantize_row_%s_ref" % name)
        fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        fn(src, dst, n)
        with open(os.path.join(OUT, name.lower() + ".bin"), "wb") as f:
            f.write(bytes(dst))
        back = (ctypes.c_float * n)()
        deq = getattr(lib, "dequantize_row_%s" % name)
        deq.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        deq(dst, back, n)
        with open(os.path.join(OUT, name.lower() + ".deq.f32"), "wb") as f:
            f.write(bytes(back))  # ggml's dequantization of those bytes
    print("wrote %d rows x %d to %s" % (n // ROW, ROW, OUT), file=sys.stderr)


if __name__ == "__main__":
    main()
