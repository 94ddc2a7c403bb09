// llama.cpp (node-llama-cpp) logits of a GGUF base model with a LoRA adapter GGUF applied (scale 1):
// llama_logits_lora.mjs SEQS.json MODEL ADAPTER; prints {"logits": [seq][pos][V]}. Same settings as
// llama_logits.mjs (CPU, F32 KV cache, flash attention off).
import { getLlama } from "node-llama-cpp";
import fs from "node:fs";
const [seqsPath, modelPath, adapterPath] = process.argv.slice(2);
const seqs = JSON.parse(fs.readFileSync(seqsPath, "utf8"));
const llama = await getLlama({ gpu: false, build: "never" });
const model = await llama.loadModel({ modelPath });
const ctx = await model.createContext({ contextSize: 256, flashAttention: false,
  experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
  lora: { adapters: [{ filePath: adapterPath, scale: 1 }] } });
const seq = ctx.getSequence();
const out = [];
for (const tokens of seqs) {
  await seq.clearHistory();
  const res = await seq.controlledEvaluate(tokens.map(t => [t, { generateNext: { logits: true } }]));
  out.push(res.map(r => { const m = r.next.logits; const a = new Array(m.size); for (const [k, v] of m.entries()) a[k] = v; return a; }));
}
console.log(JSON.stringify({ logits: out }));
