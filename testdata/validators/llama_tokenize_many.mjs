// llama.cpp's tokenization (node-llama-cpp, vocab only) of each text of a JSON list with each of several GGUF
// vocabularies, loaded one after the other in one process:
// llama_tokenize_many.mjs MODELS.json TEXTS.json [plain] prints {"tokens": {path: [[ids...], ...]}, "errors":
// {path: message}}. No BOS/EOS is added; special tokens in the text are parsed unless "plain" is given.
import { getLlama } from "node-llama-cpp";
import fs from "node:fs";
const [modelsPath, textsPath, mode] = process.argv.slice(2);
const models = JSON.parse(fs.readFileSync(modelsPath, "utf8"));
const texts = JSON.parse(fs.readFileSync(textsPath, "utf8"));
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const tokens = {}, errors = {};
for (const modelPath of models) {
  try {
    const model = await llama.loadModel({ modelPath, vocabOnly: true });
    tokens[modelPath] = texts.map(t => Array.from(model.tokenize(t, mode !== "plain")));
    await model.dispose();
  } catch (e) {
    errors[modelPath] = String(e && e.message || e);
  }
}
console.log(JSON.stringify({ tokens, errors }));
