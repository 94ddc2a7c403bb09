// llama.cpp's tokenization (node-llama-cpp, vocab only) of each text of a JSON list, no BOS/EOS added:
// llama_tokenize.mjs MODEL.gguf TEXTS.json [plain] prints {"tokens": [[ids...], ...]}. Special tokens in the
// text are parsed (as HF tokenizers matches added tokens) unless "plain" is given (as SentencePiece does).
import { getLlama } from "node-llama-cpp";
import fs from "node:fs";
const [modelPath, textsPath, mode] = process.argv.slice(2);
const texts = JSON.parse(fs.readFileSync(textsPath, "utf8"));
const llama = await getLlama({ gpu: false, build: "never" });
const model = await llama.loadModel({ modelPath, vocabOnly: true });
console.log(JSON.stringify({ tokens: texts.map(t => Array.from(model.tokenize(t, mode !== "plain"))) }));
