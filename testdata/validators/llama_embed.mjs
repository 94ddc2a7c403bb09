// llama.cpp (node-llama-cpp) embeddings of an encoder GGUF (llama.cpp's bert architecture): prints
// {"embeddings": [[...D floats] per file]} for the token ids given as JSON, evaluated exactly as given (no
// [CLS]/[SEP] added). The vector is the model's pooling_type pooling of the last hidden state (none: the last
// token's). Flash attention is off, as in llama_logits*.mjs: with it, llama.cpp casts an encoder's K and V
// (no KV cache) to float16.
import { getLlama } from "node-llama-cpp";
const [tokensJson, ...files] = process.argv.slice(2);
const tokens = JSON.parse(tokensJson);
const llama = await getLlama({ gpu: false, build: "never" });
const embeddings = [];
for (const modelPath of files) {
  const model = await llama.loadModel({ modelPath });
  const ctx = await model.createContext({ contextSize: 64, batchSize: 64, flashAttention: false, _embeddings: true });
  const seq = ctx.getSequence();
  for await (const _ of seq.evaluate(tokens, { _noSampling: true })) break;
  embeddings.push(Array.from(ctx._ctx.getEmbedding(tokens.length)));
  await ctx.dispose();
  await model.dispose();
}
console.log(JSON.stringify({ embeddings }));
