#!/usr/bin/env python3
"""Writes the PyTorch checkpoints under testdata/torchbin/ that io/torchbin is tested on.

Run from the repository root with a torch that has the zip serialization (>= 1.6), e.g. Debian's:
    apt-get install -y python3-torch && /usr/bin/python3 scripts/make_torch_bins.py

Outputs (all tiny):
  small.bin            f32/f64/i64/bool tensors, a transposed (non-contiguous) view, a slice with a storage
                       offset, two names sharing one storage (tied weights), a 0-d scalar
  half.bin             fp16 and bf16 tensors (bit patterns kept: no conversion through f32)
  expected.json        name -> {dtype, shape, values} for small.bin and half.bin, written by torch itself
  llama/               the llama_causal_lm fixture re-saved as sharded pytorch_model-0000K-of-00002.bin +
                       pytorch_model.bin.index.json + config.json, as transformers' save_pretrained writes it
                       with safe_serialization=False
  malicious.bin        torch.save of an object whose __reduce__ calls os.system: must be refused
  legacy.bin           the pre-1.6 (non-zip) format: refused with a message saying to re-save it
  eval_builtin.bin     a pickle calling builtins.eval inside an otherwise valid state dict
"""
import json
import os
import struct
import sys

import torch

OUT = os.path.join("testdata", "torchbin")
FIXTURE = os.path.join("testdata", "fixtures", "llama_causal_lm")

DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool}
NAMES = {v: k for k, v in DTYPES.items()}


def expected(sd):
    out = {}
    for k, t in sd.items():
        vals = t.detach().to(torch.float64).flatten().tolist() if t.dtype != torch.bool else [float(x) for x in t.flatten().tolist()]
        vals = [v if v == v and abs(v) != float("inf") else repr(v) for v in vals]  # JSON has no inf/nan
        out[k] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "values": vals}
    return out


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    sd = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        t = torch.frombuffer(bytearray(body[b:e]), dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        sd[name] = t.clone()
    return sd


class Evil:
    def __reduce__(self):
        return (os.system, ("echo hift-should-never-run-this",))


class EvalCall:
    def __reduce__(self):
        return (eval, ("1+1",))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)

    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8 - 0.5
    small = {
        "layer.weight": base,                                   # contiguous
        "layer.weight_t": base.t(),                             # non-contiguous view of the same storage
        "layer.row1": base[1],                                  # storage offset 4
        "tied.a": torch.linspace(-1, 1, 6).reshape(2, 3),
        "f64": torch.tensor([1.5, -2.25, 1e-300], dtype=torch.float64),
        "ids": torch.tensor([[0, -1], [2**40, 7]], dtype=torch.int64),
        "mask": torch.tensor([True, False, True]),
        "scalar": torch.tensor(3.25),
    }
    small["tied.b"] = small["tied.a"]                           # shared storage, as tied embeddings are saved
    torch.save(small, os.path.join(OUT, "small.bin"))

    vals = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6.1e-5, 1e-7, float("inf"), 0.333])
    half = {"h.f16": vals.to(torch.float16), "h.bf16": vals.to(torch.bfloat16).reshape(3, 3),
            "h.i8": torch.tensor([-128, 0, 127], dtype=torch.int8), "h.u8": torch.tensor([0, 200, 255], dtype=torch.uint8),
            "h.i32": torch.tensor([-(2**31), 5], dtype=torch.int32)}
    torch.save(half, os.path.join(OUT, "half.bin"))

    exp = expected(small)
    exp.update(expected(half))
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"torch_version": torch.__version__, "tensors": exp}, f, indent=1, sort_keys=True)

    # The LLaMA fixture as transformers writes a sharded .bin checkpoint.
    sd = read_safetensors(os.path.join(FIXTURE, "model.safetensors"))
    names = sorted(sd)
    half_n = len(names) // 2
    shards = [names[:half_n], names[half_n:]]
    d = os.path.join(OUT, "llama")
    os.makedirs(d, exist_ok=True)
    weight_map, total = {}, 0
    for i, group in enumerate(shards):
        fname = "pytorch_model-%05d-of-%05d.bin" % (i + 1, len(shards))
        torch.save({k: sd[k] for k in group}, os.path.join(d, fname))
        for k in group:
            weight_map[k] = fname
            total += sd[k].numel() * sd[k].element_size()
    with open(os.path.join(d, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
    with open(os.path.join(FIXTURE, "config.json")) as src, open(os.path.join(d, "config.json"), "w") as dst:
        dst.write(src.read())

    torch.save({"w": torch.zeros(2), "payload": Evil()}, os.path.join(OUT, "malicious.bin"))
    torch.save({"w": torch.zeros(2), "x": EvalCall()}, os.path.join(OUT, "eval_builtin.bin"))
    torch.save({"w": torch.ones(2)}, os.path.join(OUT, "legacy.bin"), _use_new_zipfile_serialization=False)

    # torch itself refuses the malicious files with weights_only=True; hift must too.
    for bad in ("malicious.bin", "eval_builtin.bin"):
        try:
            torch.load(os.path.join(OUT, bad), weights_only=True)
            sys.exit("torch.load(weights_only=True) accepted " + bad)
        except Exception:
            pass
    print("wrote", OUT, "with torch", torch.__version__)


if __name__ == "__main__":
    main()
