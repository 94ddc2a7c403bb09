// llama.cpp (node-llama-cpp) logits of several GGUF models on several token sequences, in one process:
// llama_logits_batch.mjs [--kv=TYPE] SEQS.json MODEL... where SEQS.json is [[ids...], ...]; prints
// {"logits": [model][seq][pos][V]}. Same settings as llama_logits.mjs (CPU, F32 KV cache, flash attention
// off); each sequence starts from an empty cache. --kv=F16 gives the KV cache llama.cpp uses by default.
import { getLlama } from "node-llama-cpp";
import fs from "node:fs";
const args = process.argv.slice(2);
const kv = args[0]?.startsWith("--kv=") ? args.shift().slice(5) : "F32";
if (!["F32", "F16", "BF16", "Q8_0"].includes(kv)) throw new Error(`--kv=${kv}: want F32, F16, BF16 or Q8_0`);
const [seqsPath, ...models] = args;
const seqs = JSON.parse(fs.readFileSync(seqsPath, "utf8"));
const llama = await getLlama({ gpu: false, build: "never" });
const out = [];
for (const modelPath of models) {
  const model = await llama.loadModel({ modelPath });
  const ctx = await model.createContext({ contextSize: 256, flashAttention: false,
    experimentalKvCacheKeyType: kv, experimentalKvCacheValueType: kv });
  const seq = ctx.getSequence();
  const perModel = [];
  for (const tokens of seqs) {
    await seq.clearHistory();
    const res = await seq.controlledEvaluate(tokens.map(t => [t, { generateNext: { logits: true } }]));
    perModel.push(res.map(r => { const m = r.next.logits; const a = new Array(m.size); for (const [k, v] of m.entries()) a[k] = v; return a; }));
  }
  out.push(perModel);
  await ctx.dispose();
  await model.dispose();
}
console.log(JSON.stringify({ logits: out }));
