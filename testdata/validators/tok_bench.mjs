// Throughput of the reference tokenizers on the benchmark corpus: corpus.json repeated N times, copy k prefixed
// with "k " so that whole-string caches do not turn repeats into hits (same texts as Go's BenchmarkEncode).
// Prints JSON {sequential_tokens_per_s, batch_tokens_per_s, tokens}. tokenizer.model goes through C++ SentencePiece
// (wasm, sequential only).
// Usage: node tok_bench.mjs <tokenizer.json[.gz] | tokenizer.model[.gz]> <corpus.json> [N=4] [seconds=3]
import tokenizers from "tokenizers";
import { SentencePieceProcessor } from "@sctg/sentencepiece-js";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { tmpdir } from "node:os";

const [tokPath, corpusPath, nArg = "4", secArg = "3"] = process.argv.slice(2);
const read = (p) => (p.endsWith(".gz") ? gunzipSync(readFileSync(p)) : readFileSync(p));
const corpus = JSON.parse(readFileSync(corpusPath, "utf8"));
const texts = [];
for (let k = 0; k < Number(nArg); k++) for (const s of corpus) texts.push(`${k} ${s}`);

// rate runs pass(tok, count) on a fresh tokenizer each time (so the BPE word cache starts empty, as in Go's
// benchmark) for about `seconds` of encoding after one warm-up pass, whose result (the number of tokens) is the
// count; timed passes skip reading the ids back, so that only encoding is measured.
async function rate(fresh, pass) {
  const tokens = await pass(fresh(), true);
  let n = 0;
  let el = 0;
  while (el < Number(secArg)) {
    const tok = fresh();
    const t0 = process.hrtime.bigint();
    await pass(tok, false);
    el += Number(process.hrtime.bigint() - t0) / 1e9;
    n++;
  }
  return { tokensPerSec: (tokens * n) / el, tokens };
}

let out;
if (/\.model(\.gz)?$/.test(tokPath)) {
  const tmp = join(mkdtempSync(join(tmpdir(), "spm-")), "tokenizer.model");
  writeFileSync(tmp, read(tokPath));
  const spp = new SentencePieceProcessor();
  await spp.load(tmp);
  const seq = await rate(() => spp, (p) => texts.reduce((n, s) => n + p.encodeIds(s).length, 0));
  out = { sequential_tokens_per_s: seq.tokensPerSec, batch_tokens_per_s: null, tokens: seq.tokens };
} else {
  const json = read(tokPath).toString("utf8");
  const fresh = () => tokenizers.Tokenizer.fromString(json);
  const opts = { addSpecialTokens: false };
  const seq = await rate(fresh, async (tok, count) => {
    let n = 0;
    for (const s of texts) {
      const e = await tok.encode(s, null, opts);
      if (count) n += e.getIds().length;
    }
    return n;
  });
  const batch = await rate(fresh, async (tok, count) => {
    const es = await tok.encodeBatch(texts, opts);
    return count ? es.reduce((n, e) => n + e.getIds().length, 0) : 0;
  });
  out = { sequential_tokens_per_s: seq.tokensPerSec, batch_tokens_per_s: batch.tokensPerSec, tokens: seq.tokens };
}
console.log(JSON.stringify(out));
