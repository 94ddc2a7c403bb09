#!/usr/bin/env python3
"""Writes two small PyTorch (.bin) fixtures under testdata/torchbin/ that hift's tests read (never run by them):

  opt_tied/        the opt_causal_lm fixture as a tied-weights state dict saved with torch.save, as
                   save_pretrained(safe_serialization=False) writes it: lm_head.weight is the same tensor as
                   model.decoder.embed_tokens.weight (one storage), + config.json (tie_word_embeddings true by
                   OPT's default). transformers' safetensors save leaves lm_head.weight out; so must hift convert.
  lora_st/         a PEFT LoRA adapter for the llama_causal_lm fixture (q_proj and v_proj, r 4, alpha 8,
                   deterministic normal values, B non-zero so the adapter changes the model):
                   adapter_config.json + adapter_model.safetensors
  lora_bin/        the same adapter as older PEFT saved it: adapter_config.json + adapter_model.bin (torch.save)

Run from the repository root with Debian's torch: /usr/bin/python3 scripts/make_tied_adapter_bins.py
"""
import json
import os
import shutil
import struct

import torch

OUT = os.path.join("testdata", "torchbin")
FIX = os.path.join("testdata", "fixtures")
DT = {"F32": torch.float32, "I64": torch.int64}


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
        sd[name] = torch.frombuffer(bytearray(body[b:e]), dtype=DT[info["dtype"]]).reshape(info["shape"]).clone()
    return sd


def write_safetensors(path, sd):
    header, off, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name in sorted(sd):
        t = sd[name].contiguous()
        b = t.numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    # Tied OPT.
    d = os.path.join(OUT, "opt_tied")
    os.makedirs(d, exist_ok=True)
    sd = read_safetensors(os.path.join(FIX, "opt_causal_lm", "model.safetensors"))
    assert "lm_head.weight" not in sd
    sd["lm_head.weight"] = sd["model.decoder.embed_tokens.weight"]  # the same tensor: one storage in the file
    torch.save(sd, os.path.join(d, "pytorch_model.bin"))
    shutil.copy(os.path.join(FIX, "opt_causal_lm", "config.json"), os.path.join(d, "config.json"))

    # LoRA adapter for the llama fixture.
    cfg = json.load(open(os.path.join(FIX, "llama_causal_lm", "config.json")))
    hidden, heads, kv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    out = {"q_proj": hidden, "v_proj": kv * hidden // heads}
    r, alpha = 4, 8
    g = torch.Generator().manual_seed(7)
    ad = {}
    for i in range(cfg["num_hidden_layers"]):
        for mod, o in out.items():
            p = "base_model.model.model.layers.%d.self_attn.%s." % (i, mod)
            ad[p + "lora_A.weight"] = torch.randn(r, hidden, generator=g) * 0.05
            ad[p + "lora_B.weight"] = torch.randn(o, r, generator=g) * 0.05
    ac = {"peft_type": "LORA", "r": r, "lora_alpha": alpha, "target_modules": sorted(out), "task_type": "CAUSAL_LM",
          "lora_dropout": 0.0, "bias": "none", "base_model_name_or_path": "llama_causal_lm"}
    for sub in ("lora_st", "lora_bin"):
        os.makedirs(os.path.join(OUT, sub), exist_ok=True)
        with open(os.path.join(OUT, sub, "adapter_config.json"), "w") as f:
            json.dump(ac, f, indent=2, sort_keys=True)
            f.write("\n")
    write_safetensors(os.path.join(OUT, "lora_st", "adapter_model.safetensors"), ad)
    torch.save(ad, os.path.join(OUT, "lora_bin", "adapter_model.bin"))
    print("wrote opt_tied, lora_st, lora_bin under", OUT, "with torch", torch.__version__)


if __name__ == "__main__":
    main()
