// llama-quantize without building llama.cpp: calls llama_model_quantize (default parameters, no imatrix) in
// the libllama that the pinned node-llama-cpp ships, through koffi. Usage: llama_quantize.mjs IN OUT FTYPE
// (FTYPE is llama_ftype's number). Prints {"rc": ..., "seconds": ...}.
import koffi from "koffi";
import path from "node:path";
import { fileURLToPath } from "node:url";
const [src, dst, ftype] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const bins = path.join(here, "node_modules/@node-llama-cpp/linux-x64/bins/linux-x64");
const lib = koffi.load(path.join(bins, "libllama.v0.5.0.so"));
// The params struct is returned by value; 512 opaque bytes cover any llama.h version of it. Its first two
// fields are int32 nthread and the llama_ftype enum in every version.
const Params = koffi.struct("hift_quant_params", { raw: koffi.array("uint8", 512) });
const defaults = lib.func("hift_quant_params llama_model_quantize_default_params()");
const quantize = lib.func("uint32 llama_model_quantize(const char *src, const char *dst, hift_quant_params *p)");
lib.func("void llama_backend_init()")();
const p = defaults();
const raw = Array.from(p.raw);
const ft = Number(ftype);
raw.splice(0, 8, 0, 0, 0, 0, ft & 255, (ft >> 8) & 255, 0, 0);
const t0 = performance.now();
const rc = quantize(src, dst, { raw });
console.log(JSON.stringify({ rc, seconds: (performance.now() - t0) / 1000 }));
