#!/usr/bin/env python3
"""Writes testdata/tokenizers/corpus.json: the strings every tokenizer family is checked on against Hugging Face.

Deterministic (fixed seed, no downloads). Categories: plain text, whitespace runs, digits, contractions, emoji
(incl. ZWJ sequences), accents in NFC and NFD, CJK, RTL and Indic scripts, code, URLs, text that looks like special
tokens, empty and very long strings, NBSP/ZWSP and other spaces, control characters, mixed scripts, and random
concatenations of all of these (to exercise boundaries). Run: python3 scripts/tokenizer_corpus.py
"""
import json
import os
import random
import unicodedata

NFD = lambda s: unicodedata.normalize("NFD", s)

plain = [
    "Hello world", "Hello, world!", "The quick brown fox jumps over the lazy dog.",
    "I have a dream that one day this nation will rise up.", "hift fine-tunes Hugging Face checkpoints in Go.",
    "A sentence with  two spaces.", "ALL CAPS SENTENCE HERE", "mIxEd CaSe WoRdS", "lowercase only",
    "Tokenization is the first step of every language model.", "e.g. i.e. etc. vs. Mr. Dr. St.",
    "Once upon a time, in a land far, far away...", "What's the weather like today?",
    "The year 1984 was not like '1984'.", "Sphinx of black quartz, judge my vow.",
    "Pack my box with five dozen liquor jugs!", "She sells seashells by the seashore.",
    "To be, or not to be, that is the question:", "fine-tuning large language models", "state-of-the-art",
]
whitespace = [
    " ", "  ", "   ", "    ", "        ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", "\r", " \n ", "\t \n",
    " leading space", "trailing space ", "  two leading", "two trailing  ", "a  b   c    d     e",
    "tab\tseparated\tvalues", "line one\nline two", "line one\r\nline two", "para one\n\npara two",
    "mixed \t \n whitespace", "   \n   indented after newline", "word\n\n\n\nword", "x \t\t y",
    " \u3000 ideographic space", "end with newline\n", "\n\nstart with newlines",
]
digits = [
    "0", "1", "12", "123", "1234", "12345", "123456789", "12345678901234567890", "3.14159265358979",
    "1,000,000", "-42", "+7", "0x1F", "2024-01-31", "12:30:45", "$19.99", "50%", "1e-5", "(555) 123-4567",
    "version 2.0.1", "room 101", "H2O and CO2", "3rd 4th 21st", "١٢٣ Arabic-Indic digits", "४२ Devanagari digits",
    "Ⅻ roman numeral", "½ ¾ ⅓ fractions", "²³ superscripts", "9" * 40,
]
contractions = [
    "don't", "I'm", "you're", "they've", "we'll", "she'd", "it's", "DON'T", "I'M", "YOU'RE", "WE'LL", "It'S",
    "'s", "''s", "'ll've", "it'ſ", "O'Neil", "rock 'n' roll", "can't won't shouldn't", "y'all'd've",
    "the dog's bone", "'quoted'", "it\u2019s curly", "l'homme", "ain't",
]
emoji = [
    "😀", "😀😀😀", "👍🏽", "👨\u200d👩\u200d👧\u200d👦", "🏳️\u200d🌈", "❤️", "🇺🇸🇯🇵", "🤖 robots", "1️⃣",
    "I love 🍕 and 🍣!", "🧑🏿\u200d💻 coding", "👩\u200d❤️\u200d💋\u200d👨", "✅ done ❌ failed", "🙈🙉🙊",
]
accents_nfc = ["café", "naïve", "Ångström", "résumé", "Tiếng Việt", "mañana", "Zürich", "crème brûlée",
               "São Paulo", "Dvořák"]
accents = accents_nfc + [NFD(s) for s in accents_nfc] + [
    "e\u0304\u0304\u0304o", "Z\u0351\u0352a\u0353l\u0354g\u0355o", "ǅ titlecase", "ﬁ ligature", "Ｆｕｌｌｗｉｄｔｈ",
]
cjk = [
    "你好，世界", "我爱自然语言处理。", "日本語のテキストです", "ひらがな カタカナ", "東京タワー",
    "한국어 문장입니다", "안녕하세요", "中文English混合", "ＡＢＣ１２３", "「引用」と『二重引用』",
    "𠀀𠀁 extension B", "龍龖", "漢字かな交じり文", "一二三四五六七八九十",
]
scripts = [
    "مرحبا بالعالم", "اللغة العربية جميلة", "שלום עולם", "नमस्ते दुनिया", "हिन्दी भाषा", "สวัสดีชาวโลก",
    "Привет, мир!", "Съешь же ещё этих мягких французских булок", "Γειά σου Κόσμε", "ΟΔΟΣ οδος ΣΊΣΥΦΟΣ",
    "İstanbul ıi İI", "Ελληνικά", "ქართული", "Հայերեն", "தமிழ்", "বাংলা", "ພາສາລາວ", "ꯃꯤꯇꯩ",
]
code = [
    "def foo(x):\n    return x + 1\n", "for i in range(10):\n\tprint(i)", "func main() {\n\tfmt.Println(\"hi\")\n}",
    "if (a && b || !c) { x += 2; }", "{\"key\": \"value\", \"list\": [1, 2, 3]}", "<div class=\"a\">text</div>",
    "SELECT * FROM users WHERE id = 42;", "x = [i**2 for i in range(5)]", "console.log(`template ${x}`);",
    "#include <stdio.h>\nint main(void) { return 0; }", "    indented four\n        indented eight",
    "a->b; c::d; e=>f; g!=h; i<=j; k>=l", "/^[a-z0-9_-]{3,16}$/", "$ ls -la | grep '.go' > out.txt",
    "matrix[i][j] = 0.5 * (a[i] + b[j]);", "@decorator\nclass Foo(Bar):\n    pass",
    "// comment\n/* block */ # hash", "let s: &str = \"rust\";", "x:=1;y:=x<<2", "__init__ __name__ _private",
]
urls = [
    "https://huggingface.co/docs/tokenizers", "http://example.com/path?query=1&b=2#frag",
    "user.name+tag@example.co.uk", "ftp://files.example.org/pub/file.tar.gz", "www.google.com",
    "C:\\Users\\name\\file.txt", "/usr/local/bin/go", "git@github.com:hift-go/hift.git",
    "https://en.wikipedia.org/wiki/Byte_pair_encoding", "192.168.0.1:8080",
]
specialish = [
    "<s>", "</s>", "<unk>", "<pad>", "[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]", "<|endoftext|>",
    "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|im_start|>user\nhi<|im_end|>", "<think>x</think>",
    "<mask>", "hello<s>world", " <s> ", "<s><s>", "[cls] lower", "<S>", "<|endoftext|>hello", "a <mask> b",
    "a<mask>b", "<mask>abc", "  <mask>  spaced", "hift hifts shift hift.", "(hift)", "<tool>  x", "x <tool>\ty",
    "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>", "[CLS] a [SEP] b [SEP]",
    "<|im_start|>assistant\n<think>\n\n</think>\n\nok<|im_end|>", "<tool_call>{}</tool_call>", "<0x41>", "▁x",
    "<|reserved_special_token_5|>", "<|fim_prefix|>code<|fim_suffix|>", "</s>\n<s>", "<unk>word",
]
long_words = [
    "a" * 300, "supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis",
    "ab" * 150, "Donaudampfschifffahrtsgesellschaftskapitän", "x" * 101, "antidisestablishmentarianism" * 4,
    "1234567890" * 20,
]
spaces = [
    "a\u00a0b", "a\u200bb", "\u3000", "a\u2028b", "\ufeffBOM at start", "thin\u2009space", "soft\u00adhyphen",
    "zero\u200cwidth\u200dnon-joiner", "nbsp\u00a0\u00a0double", "\u00a0leading nbsp", "en\u2002em\u2003space",
    "narrow\u202fnbsp", "ogham\u1680space",
]
controls = ["\x00", "\x07bell", "a\x1bb", "\ufffd", "next\u0085line", "del\x7f", "\x0bvertical\x0ctab",
            "\u200e\u200fmarks", "\ue000 private use"]
punct = [
    "!!!", "...", "?!?!", "—–-", "“quotes”", "«guillemets»", "(parentheses) [brackets] {braces}", "@#$%^&*",
    "\"double\" 'single'", "a.b.c", "end.", "¿Qué? ¡Sí!", "…", "•bullet", "§ 1 ¶ 2", "~`|\\", "####", "----",
    "====", "** bold ** __under__",
]
rare = ["𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "🜁", "𐀀 Linear B", "𝄞 music", "\U0001F9EC dna", "𓀀 hieroglyph", "ꙮ", "Ⓐⓑⓒ", "𝟘𝟙𝟚"]
realistic = [
    "# Title\n\n- item one\n- item two\n\n**bold** and _italic_",
    "User: What is 2+2?\nAssistant: 2+2 equals 4.",
    "RT @user: Check this out!!! #NLP #AI https://t.co/abc123",
    "Dear Sir/Madam,\n\nI am writing to inquire about...\n\nBest regards,\nJohn",
    "Q: Where is Paris?\nA: Paris is in France.",
    "The price is €100 (≈ $108) — a 5% discount!",
    "Ich heiße Jürgen und wohne in Köln.", "¿Dónde está la biblioteca?", "Il était une fois… l'été.",
    "Ten skrót to „cudzysłów”.", "Türkçe öğrenmek çok güzel.", "Việt Nam có 54 dân tộc.",
    "東京は日本の首都です。Tokyo is the capital.", "Математика — царица наук.",
    "The formula E = mc² changed physics.", "Temperature: -40°C = -40°F",
    "| col1 | col2 |\n|------|------|\n| a    | b    |", "<html><body><p>Hello</p></body></html>",
    "TODO: fix bug #123 (see PR #456)", "He said, \"It's 5 o'clock somewhere.\"",
]

base = (plain + whitespace + digits + contractions + emoji + accents + cjk + scripts + code + urls + specialish
        + long_words + spaces + controls + punct + rare + realistic)
rng = random.Random(20240531)
separators = ["", " ", "  ", "\n", "\t", " \n", "\u00a0", ",", "<s>", "[SEP]", "<|endoftext|>", "<mask>"]
mixes = []
short = [s for s in base if 0 < len(s) <= 40]
while len(mixes) < 80:
    parts = rng.sample(short, rng.randint(2, 4))
    mixes.append(rng.choice(separators).join(parts))

corpus = [""] + base + mixes
seen, out = set(), []
for s in corpus:
    if s not in seen:
        seen.add(s)
        out.append(s)
path = os.path.join(os.path.dirname(__file__), "..", "testdata", "tokenizers", "corpus.json")
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, "w", encoding="utf-8") as f:
    f.write("[\n" + ",\n".join(json.dumps(s, ensure_ascii=False) for s in out) + "\n]\n")
print(f"{len(out)} strings -> {os.path.normpath(path)}")
