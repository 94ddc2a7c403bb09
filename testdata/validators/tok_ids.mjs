// Live cross-check: prints the reference encodings of a corpus as JSON (see tok_ref.mjs).
// Usage: node tok_ids.mjs <tokenizer.json[.gz] | tokenizer.model[.gz]> <corpus.json>
import { readFileSync } from "node:fs";
import { reference } from "./tok_ref.mjs";

const [tokPath, corpusPath] = process.argv.slice(2);
if (!tokPath || !corpusPath) {
  console.error("usage: node tok_ids.mjs <tokenizer file> <corpus.json>");
  process.exit(2);
}
console.log(JSON.stringify(await reference(tokPath, JSON.parse(readFileSync(corpusPath, "utf8")))));
