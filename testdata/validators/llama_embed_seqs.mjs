// llama.cpp (node-llama-cpp) embeddings of encoder GGUFs (llama.cpp's bert architecture) for several token
// sequences: prints {"embeddings": [file][sequence][D floats]}. Each sequence is evaluated on its own, exactly
// as given (no [CLS]/[SEP] added), the sequence's history cleared in between; the vector is the model's
// pooling_type pooling of the last hidden state (none: the sequence's last token).
// One thread: on a loaded machine ggml's spinning worker threads made this 30x slower (2.5 min vs 5 s).
import { getLlama } from "node-llama-cpp";
const [seqsJson, ...files] = process.argv.slice(2);
const seqs = JSON.parse(seqsJson);
const llama = await getLlama({ gpu: false, build: "never" });
const embeddings = [];
for (const modelPath of files) {
  const model = await llama.loadModel({ modelPath });
  const perFile = [];
  const ctx = await model.createContext({ contextSize: 64, batchSize: 64, threads: 1, _embeddings: true });
  const seq = ctx.getSequence();
  for (const tokens of seqs) {
    await seq.clearHistory();
    for await (const _ of seq.evaluate(tokens, { _noSampling: true })) break;
    perFile.push(Array.from(ctx._ctx.getEmbedding(tokens.length)));
  }
  await ctx.dispose();
  embeddings.push(perFile);
  await model.dispose();
}
console.log(JSON.stringify({ embeddings }));
