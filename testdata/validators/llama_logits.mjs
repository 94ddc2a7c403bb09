// llama.cpp (node-llama-cpp) logits for a GGUF model: prints {"logits": [[...V floats] per position],
// "tokens": [...]} for the token ids given as JSON (and llama.cpp's own tokenisation of an optional text).
import { getLlama } from "node-llama-cpp";
const [modelPath, tokensJson, text] = process.argv.slice(2);
const tokens = JSON.parse(tokensJson);
const llama = await getLlama({ gpu: false, build: "never" });
const model = await llama.loadModel({ modelPath });
const ctx = await model.createContext({ contextSize: 128, flashAttention: false,
  experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" });
const res = await ctx.getSequence().controlledEvaluate(tokens.map(t => [t, { generateNext: { logits: true } }]));
const V = model.tokens.count ?? 0;
const logits = res.map(r => { const m = r.next.logits; const a = new Array(m.size); for (const [k, v] of m.entries()) a[k] = v; return a; });
const tok = text ? Array.from(model.tokenize(text)) : [];
console.log(JSON.stringify({ logits, tokens: tok }));
