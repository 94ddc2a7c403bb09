package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// fileJSON is the top level of tokenizer.json.
type fileJSON struct {
	AddedTokens   []addedToken    `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	Model         json.RawMessage `json:"model"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Padding       *struct {
		Direction string `json:"direction"`
	} `json:"padding"`
}

const supportedModels = "BPE, WordPiece"

func fromJSON(data []byte, cfg *config) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("malformed JSON at byte %d: %w", se.Offset, err)
		}
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	t := &Tokenizer{}
	var err error
	if t.norm, err = buildNormalizer(f.Normalizer); err != nil {
		return nil, fmt.Errorf("normalizer: %w", err)
	}
	if t.pre, err = buildPreTokenizer(f.PreTokenizer); err != nil {
		return nil, fmt.Errorf("pre_tokenizer: %w", err)
	}
	if t.post, err = buildProcessor(f.PostProcessor); err != nil {
		return nil, fmt.Errorf("post_processor: %w", err)
	}
	if t.dec, err = buildDecoder(f.Decoder); err != nil {
		return nil, fmt.Errorf("decoder: %w", err)
	}
	if err := t.buildModel(f.Model); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	t.added = newAddedVocab(mergeAddedTokens(f.AddedTokens, cfg.addedTokensDecoder), t.model, t.norm)
	t.paddingSide = "right"
	if f.Padding != nil && strings.EqualFold(f.Padding.Direction, "left") {
		t.paddingSide = "left"
	}
	if err := t.applyConfig(cfg); err != nil {
		return nil, err
	}
	if t.unk < 0 {
		switch m := t.model.(type) {
		case *bpe:
			t.unk = m.unkID
		case *wordPiece:
			t.unk = m.unkID
		}
	}
	return t, nil
}

// buildModel decodes the model (the type is inferred from its fields when "type" is missing, as HF's untagged
// deserialisation does) and selects raw-byte BPE when a ByteLevel pre-tokenizer ends the pipeline.
func (t *Tokenizer) buildModel(raw json.RawMessage) error {
	c, ok, err := parseComponent(raw)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("missing (supported: %s)", supportedModels)
	}
	typ := c.typ()
	if typ == "" {
		switch {
		case c["merges"] != nil:
			typ = "BPE"
		case c["max_input_chars_per_word"] != nil:
			typ = "WordPiece"
		}
	}
	switch typ {
	case "BPE":
		m, err := newBPE(raw)
		if err != nil {
			return err
		}
		t.model, t.family = m, FamilyBPE
		if _, isByteLevel := t.norm.(byteLevelNorm); isByteLevel || hasByteLevel(t.pre) {
			t.family = FamilyByteLevelBPE
		}
		if p, ok := rawBytesPre(t.pre); ok && m.enableRaw() {
			t.pre = p
		}
	case "WordPiece":
		m, err := newWordPiece(raw)
		if err != nil {
			return err
		}
		t.model, t.family = m, FamilyWordPiece
	default:
		return fmt.Errorf("unsupported model type %q (supported: %s)", typ, supportedModels)
	}
	return nil
}

func hasByteLevel(p preTokenizer) bool {
	switch p := p.(type) {
	case byteLevelPre:
		return true
	case preSequence:
		for _, q := range p {
			if hasByteLevel(q) {
				return true
			}
		}
	}
	return false
}

// rawBytesPre returns p with its final ByteLevel step no longer mapping bytes, when p ends with one.
func rawBytesPre(p preTokenizer) (preTokenizer, bool) {
	switch q := p.(type) {
	case byteLevelPre:
		q.mapBytes = false
		return q, true
	case preSequence:
		if len(q) == 0 {
			return p, false
		}
		last, ok := rawBytesPre(q[len(q)-1])
		if !ok {
			return p, false
		}
		seq := append(preSequence{}, q...)
		seq[len(seq)-1] = last
		return seq, true
	}
	return p, false
}

// mergeAddedTokens appends the tokens of tokenizer_config.json added_tokens_decoder that tokenizer.json lacks, in
// id order, as transformers does when it loads both.
func mergeAddedTokens(tokens []addedToken, fromConfig map[string]addedToken) []addedToken {
	have := map[string]bool{}
	for _, t := range tokens {
		have[t.Content] = true
	}
	var extra []addedToken
	for idStr, t := range fromConfig {
		if have[t.Content] {
			continue
		}
		id, err := strconv.Atoi(idStr)
		if err != nil {
			continue
		}
		t.ID = id
		extra = append(extra, t)
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i].ID < extra[j].ID })
	return append(tokens, extra...)
}

// llamaClasses are the transformers classes whose fast tokenizer rebuilds its post-processor from
// add_bos_token/add_eos_token (update_post_processor).
var llamaClasses = map[string]bool{"LlamaTokenizer": true, "LlamaTokenizerFast": true, "CodeLlamaTokenizer": true,
	"CodeLlamaTokenizerFast": true, "GemmaTokenizer": true, "GemmaTokenizerFast": true}

// applyConfig resolves special tokens and settings from tokenizer_config.json.
func (t *Tokenizer) applyConfig(cfg *config) error {
	t.bos, t.eos, t.pad, t.unk = -1, -1, -1, -1
	for _, s := range []struct {
		name string
		tok  *string
		dst  *int
	}{{"bos_token", cfg.bos, &t.bos}, {"eos_token", cfg.eos, &t.eos}, {"pad_token", cfg.pad, &t.pad},
		{"unk_token", cfg.unk, &t.unk}} {
		if s.tok == nil {
			continue
		}
		id, ok := t.TokenID(*s.tok)
		if !ok {
			return fmt.Errorf("%s: %s %q is not in the vocabulary", cfg.file, s.name, *s.tok)
		}
		*s.dst = id
	}
	if cfg.paddingSide != "" {
		t.paddingSide = cfg.paddingSide
	}
	t.modelMaxLength = -1
	if cfg.hasMaxLength && cfg.modelMaxLength > 0 && cfg.modelMaxLength < 1e18 {
		t.modelMaxLength = int(cfg.modelMaxLength)
	}
	t.chatTemplate = cfg.chatTemplate
	if t.sp == nil && llamaClasses[cfg.tokenizerClass] && (cfg.addBOS != nil || cfg.addEOS != nil) {
		addBOS := cfg.addBOS == nil || *cfg.addBOS // LlamaTokenizerFast defaults: add_bos_token=True
		addEOS := cfg.addEOS != nil && *cfg.addEOS
		if (addBOS && t.bos < 0) || (addEOS && t.eos < 0) {
			return fmt.Errorf("%s: add_bos_token/add_eos_token set but bos_token/eos_token missing", cfg.file)
		}
		var single []templatePiece
		if addBOS {
			single = append(single, templatePiece{seq: -1, ids: []int{t.bos}})
		}
		single = append(single, templatePiece{seq: 0})
		if addEOS {
			single = append(single, templatePiece{seq: -1, ids: []int{t.eos}})
		}
		pair := append([]templatePiece{}, single...)
		for _, p := range single {
			if p.seq == 0 {
				p.seq = 1
			}
			pair = append(pair, p)
		}
		t.post = templateProcessing{single: single, pair: pair}
	}
	return nil
}

// fromSentencePiece builds a tokenizer from a tokenizer.model. Special tokens written in the text are not matched
// (C++ SentencePiece semantics); with addSpecial BOS is prepended (add_bos_token, default true) and EOS appended
// when add_eos_token is true.
func fromSentencePiece(data []byte, cfg *config) (*Tokenizer, error) {
	sp, err := newSentencePiece(data)
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{sp: sp, family: FamilySentencePiece, paddingSide: "right", spBOS: true}
	if err := t.applyConfig(cfg); err != nil {
		return nil, err
	}
	if cfg.bos == nil {
		t.bos = sp.bosID
	}
	if cfg.eos == nil {
		t.eos = sp.eosID
	}
	if cfg.pad == nil {
		t.pad = sp.padID
	}
	if cfg.unk == nil {
		t.unk = sp.unkID
	}
	if cfg.addBOS != nil {
		t.spBOS = *cfg.addBOS
	}
	t.spEOS = cfg.addEOS != nil && *cfg.addEOS
	return t, nil
}
