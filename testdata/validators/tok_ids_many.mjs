// HF tokenizers (npm `tokenizers`) ids, without special tokens, of each text of a JSON list with each of several
// tokenizer.json files: tok_ids_many.mjs FILES.json TEXTS.json prints {"ids": {path: [[ids...], ...]},
// "errors": {path: message}} (a file HF refuses to load is reported, not fatal).
import tokenizers from "tokenizers";
import { readFileSync } from "node:fs";
const [filesPath, textsPath] = process.argv.slice(2);
const files = JSON.parse(readFileSync(filesPath, "utf8"));
const texts = JSON.parse(readFileSync(textsPath, "utf8"));
const ids = {}, errors = {};
for (const f of files) {
  try {
    const tok = tokenizers.Tokenizer.fromString(readFileSync(f, "utf8"));
    const out = [];
    for (const s of texts) out.push((await tok.encode(s, null, { addSpecialTokens: false })).getIds());
    ids[f] = out;
  } catch (e) {
    errors[f] = String(e && e.message || e);
  }
}
console.log(JSON.stringify({ ids, errors }));
