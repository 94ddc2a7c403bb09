package tokenizer

import (
	"fmt"
	"sort"
	"strings"
)

// llamaPreType is what llama.cpp's vocabulary loader (llama-vocab.cpp) derives from tokenizer.ggml.pre for a
// byte-level BPE ("gpt2") vocabulary: the regexes llm_tokenizer_bpe splits words with, in order, whether a word
// that is itself a token skips the merges (ignore_merges), and whether BOS is added when the file does not say.
type llamaPreType struct {
	name         string // llama.cpp's LLAMA_VOCAB_PRE_TYPE_*, for messages
	regexes      []string
	ignoreMerges bool
	addBOS       bool
	noBOS        bool // the type clears the default BOS id (chatglm)
}

// Regexes of llm_tokenizer_bpe shared by several types (strings exactly as llama.cpp writes them).
var (
	preGPT2      = []string{llamaGPT2Regex}
	preLlama3    = []string{llamaLlama3Regex}
	preQwen2     = []string{llamaQwen2Regex}
	preStarcoder = []string{`\p{N}`, llamaGPT2Regex}
	prePoro      = []string{` ?[^(\s|.,!?…。，、।۔،)]+`}
	preDeepseek3 = []string{`\p{N}{1,3}`, `[一-龥぀-ゟ゠-ヿ]+`,
		"[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"}
	preGPT4o = []string{`[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`}
)

func preTypes(name string, regexes []string, ignoreMerges, addBOS bool, aliases ...string) map[string]llamaPreType {
	m := map[string]llamaPreType{}
	for _, a := range aliases {
		m[a] = llamaPreType{name: name, regexes: regexes, ignoreMerges: ignoreMerges, addBOS: addBOS}
	}
	return m
}

// llamaPreTypes maps every tokenizer.ggml.pre string llama.cpp accepts for a "gpt2" vocabulary whose splitting
// to its type (gemma4, sarvam-moe and whitespace, which do not byte-encode, are refused by name).
var llamaPreTypes = func() map[string]llamaPreType {
	all := map[string]llamaPreType{}
	for _, m := range []map[string]llamaPreType{
		preTypes("DEFAULT", []string{`[\p{P}\$\+<=>\^~\|]+`, llamaGPT2Regex, `\p{N}+`, `[0-9][0-9][0-9]`}, false, false, "default", ""),
		preTypes("LLAMA3", preLlama3, true, true, "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"),
		preTypes("MINICPM5", []string{`\p{N}{1,3}`, `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`}, true, false, "minicpm5"),
		preTypes("DEEPSEEK_LLM", []string{"[\r\n]",
			"\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\U00010400-\U0001044F\U000104B0-\U000104D3\U000104D8-\U000104FB\U00010C80-\U00010CB2\U00010CC0-\U00010CF2\U000118A0-\U000118DF\U0001E900-\U0001E943]+",
			`\s?[!-/:-~！-／：-～‘-‟　-。]+`, `\s+$`, `[一-龥ࠀ-一가-퟿]+`, `\p{N}+`}, false, false, "deepseek-llm"),
		preTypes("DEEPSEEK_CODER", []string{"[\r\n]", `\s?\p{L}+`, `\s?\p{P}+`, `[一-龥ࠀ-一가-퟿]+`, `\p{N}`}, false, false, "deepseek-coder"),
		preTypes("DEEPSEEK3_LLM", preDeepseek3, false, false, "deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4"),
		preTypes("SPARK2_5", []string{`\p{N}{1,3}`, `[一-龥぀-ゟ゠-ヿ]+`,
			"[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+|[\r\n]|\\s+(?!\\S)|\\s+", `\p{N}`}, false, false, "spark2_5"),
		preTypes("FALCON", []string{`[\p{P}\$\+<=>\^~\|` + "`" + `]+`, llamaGPT2Regex, `[0-9][0-9][0-9]`}, false, false, "falcon"),
		preTypes("GPT2", preGPT2, false, false, "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
			"a.x-4.0", "mellum", "modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe", "exaone4", "mpt", "olmo", "jais",
			"trillion", "granite-docling"),
		preTypes("STARCODER", preStarcoder, false, false, "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2"),
		preTypes("JAIS2", []string{`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1}`}, false, false, "jais-2"),
		preTypes("QWEN2", preQwen2, false, false, "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan", "solar-open", "grok-2"),
		preTypes("QWEN35", []string{llamaQwen35Regex}, false, false, "qwen35"),
		preTypes("SMAUG", preLlama3, false, false, "dbrx", "smaug-bpe"),
		preTypes("PORO", prePoro, false, false, "poro-chat", "bloom", "gpt3-finnish"),
		preTypes("CHATGLM4", preLlama3, false, false, "glm4", "chatglm-bpe"),
		preTypes("VIKING", append(append([]string{}, prePoro...), `\p{N}`), false, false, "viking"),
		preTypes("TEKKEN", []string{`[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`}, true, true, "tekken"),
		preTypes("CHAMELEON", []string{`<sentinel:[0-9]+>`, `(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z`, `([\t\n]|    |  )`, `\p{N}`,
			`[\p{P}!-/:-@\[-` + "`" + `{-~]`, llamaGPT2Regex}, false, true, "chameleon"),
		preTypes("GPT4O", preGPT4o, false, false, "gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"),
		preTypes("GRANITE_EMB_MULTI", []string{`[^\r\n\p{L}\p{N}]?((?=[\p{L}\p{M}])([^a-z]))*((?=[\p{L}\p{M}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?((?=[\p{L}\p{M}])([^a-z]))+((?=[\p{L}\p{M}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`}, true, false, "granite-embed-multi-97m"),
		preTypes("SUPERBPE", []string{`\p{N}+`, `(?=(\d{3})+(?!\d))`}, false, false, "superbpe"),
		preTypes("BAILINGMOE", []string{`'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`}, false, false, "bailingmoe", "bailingmoe2", "llada-moe"),
		preTypes("SEED_CODER", []string{`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+`}, false, false, "seed-coder"),
		preTypes("YOUTU", []string{`[가-힣ㄱ-ㆎ]+|[！…“”‘’—：；，、-〿︰-﹏]+|[ㄅ-ㄯ]+|[一-龥぀-ゟ゠-ヿ]+`,
			`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`}, true, false, "youtu"),
		preTypes("UFAKZEKA", []string{`[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`}, false, false, "ufakzeka"),
		preTypes("LAGUNA", []string{llamaNewlines, llamaQwen2Regex}, false, false, "laguna"),
		preTypes("AFMOE", []string{llamaAFMoEDigits, "[\u4E00-\u9FFF\u3400-\u4DBF\u8C48-\uFAFF\u3040-\u309F\u30A0-\u30FF\uFF65-\uFF9F\u2F00-\u2FDF\u0E40-\u0E7F\u0E80-\u0EFF\u1780-\u17FF\u1000-\u109F\uAA60-\uAA7F\uA9E0-\uA9FF\uAC00-\uD7AF\u1100-\u11FF]+",
			"[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, false, false, "afmoe"),
		preTypes("TINY_AYA", []string{llamaAyaDigits, `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`}, false, false, "tiny_aya", "cohere2moe"),
		preTypes("KIMI_K2", []string{llamaKimiK2}, false, false, "kimi-k2"),
		preTypes("EXAONE_MOE", []string{`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+`}, false, false, "exaone-moe"),
	} {
		for k, v := range m {
			all[k] = v
		}
	}
	glm := all["chatglm-bpe"]
	glm.noBOS = true
	all["chatglm-bpe"], all["glm4"] = glm, glm
	return all
}()

// llamaPreUnsupported are pre types llama.cpp knows that hift cannot split the same way, with the reason.
var llamaPreUnsupported = map[string]string{
	"gemma4":                   "it is SentencePiece-style BPE on raw UTF-8 (no byte encoding)",
	"granite-embed-multi-311m": "it is SentencePiece-style BPE on raw UTF-8 (no byte encoding)",
	"sarvam-moe":               "it is SentencePiece-style BPE on raw UTF-8 (no byte encoding)",
	"whitespace":               "it splits on whitespace without byte encoding",
}

// lookupPreType returns the llama.cpp type of tokenizer.ggml.pre, or an error naming it.
func lookupPreType(pre string) (llamaPreType, error) {
	if t, ok := llamaPreTypes[pre]; ok {
		return t, nil
	}
	if why, ok := llamaPreUnsupported[pre]; ok {
		return llamaPreType{}, fmt.Errorf("tokenizer.ggml.pre %q is not supported: %s", pre, why)
	}
	known := make([]string, 0, len(llamaPreTypes))
	for k := range llamaPreTypes {
		if k != "" {
			known = append(known, k)
		}
	}
	sort.Strings(known)
	return llamaPreType{}, fmt.Errorf("tokenizer.ggml.pre %q is not a pre-tokenizer type llama.cpp defines for byte-level BPE (known: %s)", pre, strings.Join(known, ", "))
}
