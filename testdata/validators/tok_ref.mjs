// Reference encodings for the tokenizer parity tests: HF's Rust tokenizers (npm `tokenizers`) for tokenizer.json,
// C++ SentencePiece (@sctg/sentencepiece-js, wasm) for tokenizer.model. Shared by tok_goldens.mjs and tok_ids.mjs.
import tokenizers from "tokenizers";
import { SentencePieceProcessor } from "@sctg/sentencepiece-js";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { tmpdir } from "node:os";

const read = (p) => (p.endsWith(".gz") ? gunzipSync(readFileSync(p)) : readFileSync(p));

// Number of consecutive corpus pairs (i, i+1) encoded as sequence pairs with special tokens.
export const PAIRS = 40;

// reference returns {cases: [{ids, ids_special, decoded, decoded_skip}], pairs: [[ids]]} for every text.
// decoded/decoded_skip decode ids_special without/with skip_special_tokens.
export async function reference(tokPath, texts) {
  if (/\.model(\.gz)?$/.test(tokPath)) return sentencePiece(tokPath, texts);
  const tok = tokenizers.Tokenizer.fromString(read(tokPath).toString("utf8"));
  const cases = [];
  for (const s of texts) {
    const ids = (await tok.encode(s, null, { addSpecialTokens: false })).getIds();
    const special = (await tok.encode(s, null, { addSpecialTokens: true })).getIds();
    cases.push({ ids, ids_special: special, decoded: await tok.decode(special, false),
      decoded_skip: await tok.decode(special, true) });
  }
  const pairs = [];
  for (let i = 0; i + 1 < texts.length && i < PAIRS; i++) {
    pairs.push((await tok.encode(texts[i], texts[i + 1], { addSpecialTokens: true })).getIds());
  }
  return { cases, pairs };
}

// sentencePiece: C++ EncodeAsIds; with special tokens = BOS (id 1) + ids, as LlamaTokenizer adds. DecodeIds skips
// control tokens, so only decoded_skip has a reference.
async function sentencePiece(modelPath, texts) {
  const tmp = join(mkdtempSync(join(tmpdir(), "spm-")), "tokenizer.model");
  writeFileSync(tmp, read(modelPath));
  const spp = new SentencePieceProcessor();
  await spp.load(tmp);
  const cases = texts.map((s) => {
    const ids = Array.from(spp.encodeIds(s));
    const special = [1, ...ids];
    return { ids, ids_special: special, decoded: null, decoded_skip: spp.decodeIds(Int32Array.from(special)) };
  });
  return { cases, pairs: null };
}
