// llama.cpp (node-llama-cpp) greedy continuation of a GGUF model: prints {"ids": [...], "text": "..."}: the
// n tokens llama.cpp picks by argmax after the prompt token ids given as JSON (stopping at its EOG tokens),
// and their detokenized text.
import { getLlama } from "node-llama-cpp";
const [modelPath, tokensJson, nStr] = process.argv.slice(2);
const tokens = JSON.parse(tokensJson);
const n = Number(nStr);
const llama = await getLlama({ gpu: false, build: "never" });
const model = await llama.loadModel({ modelPath });
const ctx = await model.createContext({ contextSize: 256, threads: 1, flashAttention: false,
  experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" });
const seq = ctx.getSequence();
const ids = [];
let next = tokens;
for (let i = 0; i < n; i++) {
  const res = await seq.controlledEvaluate(next.map((t, j) => j === next.length - 1 ? [t, { generateNext: { logits: true } }] : t));
  const m = res[res.length - 1].next.logits;
  let best = -1, bv = -Infinity;
  for (const [k, v] of m.entries()) if (v > bv) { bv = v; best = k; }
  if (model.isEogToken(best)) break;
  ids.push(best);
  next = [best];
}
console.log(JSON.stringify({ ids, text: model.detokenize(ids) }));
