// llama.cpp's tokenization (node-llama-cpp, vocab only) of each text of a JSON list, special tokens parsed as
// HF tokenizers match added tokens, no BOS/EOS added: llama_tokenize.mjs MODEL.gguf TEXTS.json prints
// {"tokens": [[ids...], ...]}.
import { getLlama } from "node-llama-cpp";
import fs from "node:fs";
const [modelPath, textsPath] = process.argv.slice(2);
const texts = JSON.parse(fs.readFileSync(textsPath, "utf8"));
const llama = await getLlama({ gpu: false, build: "never" });
const model = await llama.loadModel({ modelPath, vocabOnly: true });
console.log(JSON.stringify({ tokens: texts.map(t => Array.from(model.tokenize(t, true))) }));
