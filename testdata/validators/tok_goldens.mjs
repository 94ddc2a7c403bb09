// Writes testdata/tokenizers/<family>.golden.json: the reference ids and decodings of corpus.json for every
// committed tokenizer (see tok_ref.mjs). One case per line so that diffs stay readable.
// Usage: node tok_goldens.mjs <testdata/tokenizers dir>
import { readFileSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { reference } from "./tok_ref.mjs";

const dir = process.argv[2];
const corpusText = readFileSync(join(dir, "corpus.json"), "utf8");
const corpus = JSON.parse(corpusText);
const version = (p) => JSON.parse(readFileSync(new URL(`./node_modules/${p}/package.json`, import.meta.url))).version;
for (const family of readdirSync(dir).filter((f) => existsSync(join(dir, f)) && !f.includes(".")).sort()) {
  const file = ["tokenizer.json.gz", "tokenizer.model.gz"].find((f) => existsSync(join(dir, family, f)));
  if (!file) continue;
  const ref = await reference(join(dir, family, file), corpus);
  const sp = file.endsWith(".model.gz");
  const head = {
    family, tokenizer: `${family}/${file}`,
    reference: sp ? `@sctg/sentencepiece-js@${version("@sctg/sentencepiece-js")} (C++ SentencePiece)`
      : `tokenizers@${version("tokenizers")} (Hugging Face Rust)`,
    corpus_sha256: createHash("sha256").update(corpusText).digest("hex"),
  };
  const lines = JSON.stringify(head).slice(0, -1) +
    `,\n"cases": [\n${ref.cases.map((c) => JSON.stringify(c)).join(",\n")}\n],\n` +
    `"pairs": ${ref.pairs ? `[\n${ref.pairs.map((p) => JSON.stringify(p)).join(",\n")}\n]` : "null"}\n}\n`;
  JSON.parse(lines);
  writeFileSync(join(dir, `${family}.golden.json`), lines);
  console.error(`${family}: ${ref.cases.length} cases`);
}
