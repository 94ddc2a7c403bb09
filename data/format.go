package data

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/hift-go/hift/data/tokenizer"
)

// Tokenizer is what task formatting needs from a tokenizer (data/tokenizer implements it).
type Tokenizer interface {
	Encode(text string, addSpecial bool) ([]int, error)
	BOS() int
	EOS() int
	PAD() int
	PaddingSide() string
}

// WordEncoder encodes pre-split words and tells which word each token came from (-1 for special tokens), as
// HF's is_split_into_words + word_ids(). Token classification needs it.
type WordEncoder interface {
	EncodeWords(words []string, addSpecial bool) (ids, wordIDs []int, err error)
}

// OffsetEncoder encodes with character offsets ([start, end) in bytes of the text; special tokens [0,0]).
// Extractive QA needs it.
type OffsetEncoder interface {
	EncodeWithOffsets(text string, addSpecial bool) (ids []int, offsets [][2]int, err error)
}

// ChatTemplater renders a conversation with the model's chat template (data/tokenizer implements it).
type ChatTemplater interface {
	ApplyChatTemplate(messages []tokenizer.Message, addGenerationPrompt bool) (string, error)
}

// Tasks (the same names as graph.Task).
const (
	TaskCausalLM       = "causal_lm"
	TaskSeqCls         = "seq_cls"
	TaskTokenCls       = "token_cls"
	TaskQA             = "qa"
	TaskMultipleChoice = "multiple_choice"
)

// FormatOptions choose the columns and shapes of a dataset.
type FormatOptions struct {
	Task   string
	SeqLen int // T: every example is padded or truncated (causal LM text: packed) to T tokens

	TextField     string // causal LM text / classification text (default "text")
	TextPairField string // optional second text of a classification pair
	PromptField   string // causal LM instruction data: loss only on the response
	ResponseField string
	Template      string // prompt template; "{prompt}" is replaced (default "{prompt}")
	// ChatTemplate renders prompt/response pairs as a user turn and an assistant turn with the tokenizer's
	// chat template; the loss covers the assistant turn as the template writes it (end-of-turn token included).
	ChatTemplate bool
	// MessagesField names a column holding a conversation ([{role, content}, ...]) rendered with the chat
	// template; the loss covers every assistant turn.
	MessagesField string
	LabelField    string // default "label"
	TokensField   string // token classification words (default "tokens")
	TagsField     string // token classification tags (default "ner_tags")
	ContextField  string // QA (defaults "context", "question", "answers")
	QuestionField string
	AnswersField  string
	ChoicesField  string // multiple choice: a list of endings (default "choices")
	DocStride     int    // extractive QA: context tokens shared by consecutive windows of a long context

	Label2ID    map[string]int // class names → ids (config.json label2id)
	NumLabels   int            // classes (1 = regression)
	SkipBadRows bool           // count and skip rows that fail instead of stopping
	// CacheDir, when set, receives the formatted token columns as they are built (memory-mapped at the end),
	// so a dataset larger than RAM can be formatted and trained on.
	CacheDir string
	MaxRows  int // stop after this many rows (0 = all)
	spillAt  int // buffered elements before spilling (tests); 0 = spillThreshold
}

// Stats summarise a formatting pass.
type Stats struct {
	Rows, Skipped, Examples, Tokens, Truncated int
	FirstSkipped                               error
}

func (o *FormatOptions) defaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.TextField, "text")
	def(&o.LabelField, "label")
	def(&o.TokensField, "tokens")
	def(&o.TagsField, "ner_tags")
	def(&o.ContextField, "context")
	def(&o.QuestionField, "question")
	def(&o.AnswersField, "answers")
	def(&o.ChoicesField, "choices")
	def(&o.Template, "{prompt}")
}

// BuildDataset streams rows, formats them for the task and returns fixed-shape examples [N, T].
func BuildDataset(rows RowReader, tok Tokenizer, o FormatOptions) (*TensorDataset, Stats, error) {
	o.defaults()
	if o.SeqLen < 2 {
		return nil, Stats{}, fmt.Errorf("data %s: sequence length must be >= 2, got %d", rows.Path(), o.SeqLen)
	}
	b := &builder{tok: tok, o: o, pad: padID(tok), left: tok.PaddingSide() == "left"}
	if o.CacheDir != "" {
		var err error
		if b.spill, err = newSpiller(o.CacheDir); err != nil {
			return nil, Stats{}, err
		}
	}
	var st Stats
	for {
		if o.MaxRows > 0 && st.Rows >= o.MaxRows {
			break
		}
		row, err := rows.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			st.Rows++
			err = b.addGuarded(row, &st)
			if err != nil {
				err = fmt.Errorf("data %s: row %d: %w", rows.Path(), rows.Line(), err)
			} else if ferr := b.maybeFlush(); ferr != nil {
				return nil, st, ferr
			}
		}
		if err != nil {
			if !o.SkipBadRows {
				return nil, st, err
			}
			st.Skipped++
			if st.FirstSkipped == nil {
				st.FirstSkipped = err
			}
		}
	}
	b.flushPacked(&st, true)
	if b.o.Task == TaskCausalLM && b.o.PromptField == "" && b.o.MessagesField == "" && st.Rows > st.Skipped && b.textRows == 0 {
		// Only special tokens would be trained on (HF's group_texts yields no examples here).
		return nil, st, fmt.Errorf("data %s: every row's %q is empty (%d rows read, %d skipped): no text to train on", rows.Path(), b.o.TextField, st.Rows, st.Skipped)
	}
	if b.n == 0 {
		return nil, st, fmt.Errorf("data %s: no examples (%d rows read, %d skipped)", rows.Path(), st.Rows, st.Skipped)
	}
	st.Examples = b.n
	if b.spill != nil {
		if err := b.flush(); err != nil {
			return nil, st, err
		}
		ints, floats, err := b.spill.mapped()
		if err != nil {
			return nil, st, err
		}
		b.ids, b.mask, b.labels, b.starts, b.ends = ints["input_ids"], ints["attention_mask"], ints["labels"], ints["start_positions"], ints["end_positions"]
		b.floatLabels = floats["labels"]
	}
	return b.dataset(rows.Path()), st, nil
}

func padID(tok Tokenizer) int {
	switch {
	case tok.PAD() >= 0:
		return tok.PAD()
	case tok.EOS() >= 0:
		return tok.EOS()
	}
	return 0
}

type builder struct {
	tok  Tokenizer
	o    FormatOptions
	pad  int
	left bool

	n                           int
	ids, mask, labels, typeIDs  []int64
	floatLabels                 []float32
	starts, ends                []int64
	labelPerExample, choiceDims bool
	choices                     int
	stream                      []int // causal LM packing buffer
	textRows                    int   // causal LM rows whose text is not empty
	spill                       *spiller
}

func (b *builder) add(row Row, st *Stats) error {
	switch b.o.Task {
	case TaskCausalLM:
		if b.o.PromptField != "" {
			return b.addPromptResponse(row, st)
		}
		if b.o.MessagesField != "" {
			return b.addConversation(row, st)
		}
		text, err := row.String(b.o.TextField)
		if err != nil {
			return err
		}
		if text != "" {
			b.textRows++
		}
		ids, err := b.tok.Encode(text, true)
		if err != nil {
			return err
		}
		if eos := b.tok.EOS(); eos >= 0 && (len(ids) == 0 || ids[len(ids)-1] != eos) {
			ids = append(ids, eos)
		}
		b.stream = append(b.stream, ids...)
		b.flushPacked(st, false)
		return nil
	case TaskSeqCls:
		return b.addSeqCls(row, st)
	case TaskTokenCls:
		return b.addTokenCls(row, st)
	case TaskQA:
		return b.addQA(row, st)
	case TaskMultipleChoice:
		return b.addMultipleChoice(row, st)
	}
	return fmt.Errorf("unknown task %q (causal_lm, seq_cls, token_cls, qa, multiple_choice)", b.o.Task)
}

// flushPacked cuts full blocks of T tokens from the packing buffer (labels = inputs, as HF group_texts);
// at the end a shorter remainder becomes one padded block.
func (b *builder) flushPacked(st *Stats, final bool) {
	T := b.o.SeqLen
	for len(b.stream) >= T {
		b.appendSeq(b.stream[:T], nil, st)
		b.stream = b.stream[T:]
	}
	if final && len(b.stream) > 1 && b.n == 0 {
		b.appendSeq(b.stream, nil, st)
		b.stream = nil
	}
}

// appendSeq pads (or truncates) ids to T and appends an example; labels nil = ids (pads -100).
func (b *builder) appendSeq(ids, labels []int, st *Stats) {
	T := b.o.SeqLen
	if len(ids) > T {
		ids = ids[:T]
		if labels != nil {
			labels = labels[:T]
		}
		st.Truncated++
	}
	n := len(ids)
	padN := T - n
	row := make([]int64, T)
	m := make([]int64, T)
	lab := make([]int64, T)
	off := 0
	if b.left {
		off = padN
	}
	for i := range row {
		row[i], lab[i] = int64(b.pad), -100
	}
	for i, id := range ids {
		row[off+i], m[off+i] = int64(id), 1
		if labels == nil {
			lab[off+i] = int64(id)
		} else {
			lab[off+i] = int64(labels[i])
		}
	}
	b.ids, b.mask = append(b.ids, row...), append(b.mask, m...)
	if b.o.Task == TaskCausalLM || b.o.Task == TaskTokenCls {
		b.labels = append(b.labels, lab...)
	}
	b.n++
	st.Tokens += n
}

func (b *builder) addPromptResponse(row Row, st *Stats) error {
	prompt, err := row.String(b.o.PromptField)
	if err != nil {
		return err
	}
	resp, err := row.String(b.o.ResponseField)
	if err != nil {
		return err
	}
	prompt = strings.ReplaceAll(b.o.Template, "{prompt}", prompt)
	var p, r []int
	if b.o.ChatTemplate {
		if p, r, err = b.chatPair(prompt, resp); err != nil {
			return err
		}
	} else {
		if p, err = b.tok.Encode(prompt, true); err != nil {
			return err
		}
		if r, err = b.tok.Encode(resp, false); err != nil {
			return err
		}
		if eos := b.tok.EOS(); eos >= 0 {
			r = append(r, eos)
		}
	}
	ids := append(append([]int{}, p...), r...)
	labels := make([]int, len(ids))
	for i := range labels {
		if i < len(p) {
			labels[i] = -100
		} else {
			labels[i] = ids[i]
		}
	}
	b.appendSeq(ids, labels, st)
	return nil
}

// label reads a class id (an integer, or a name through Label2ID) or, for regression, a float.
func (b *builder) label(row Row) (float64, error) {
	v, ok := row.Field(b.o.LabelField)
	if !ok {
		return 0, fmt.Errorf("no column %q (columns: %s)", b.o.LabelField, strings.Join(row.columns(), ", "))
	}
	if s, isStr := v.(string); isStr && b.o.Label2ID != nil {
		id, ok := b.o.Label2ID[s]
		if !ok {
			// A numeric label (CSV/TSV "0", "1") is a class id, as datasets' ClassLabel stores them.
			if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 && (b.o.NumLabels <= 1 || n < b.o.NumLabels) {
				return float64(n), nil
			}
			return 0, fmt.Errorf("label %q is neither a class id in [0, %d) nor a name in label2id %v (name the classes with --label-names, or start a new head with --task seq_cls to take them from the data)",
				s, b.o.NumLabels, labelNames(b.o.Label2ID))
		}
		return float64(id), nil
	}
	f, err := row.Number(b.o.LabelField)
	if err != nil {
		return 0, err
	}
	if b.o.NumLabels > 1 && (f != math.Trunc(f) || f < 0 || int(f) >= b.o.NumLabels) {
		return 0, fmt.Errorf("label %v is not a class id in [0, %d)", f, b.o.NumLabels)
	}
	return f, nil
}

// labelNames lists label2id's names in id order.
func labelNames(l2i map[string]int) []string {
	names := make([]string, 0, len(l2i))
	for n := range l2i {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return l2i[a] - l2i[b] })
	return names
}

func (b *builder) addSeqCls(row Row, st *Stats) error {
	text, err := row.String(b.o.TextField)
	if err != nil {
		return err
	}
	if b.o.TextPairField != "" {
		pair, err := row.String(b.o.TextPairField)
		if err != nil {
			return err
		}
		text = text + " " + pair
	}
	y, err := b.label(row)
	if err != nil {
		return err
	}
	ids, err := b.tok.Encode(text, true)
	if err != nil {
		return err
	}
	if len(ids) > b.o.SeqLen { // keep the closing special token (e.g. [SEP], </s>)
		last := ids[len(ids)-1]
		ids = append(ids[:b.o.SeqLen-1:b.o.SeqLen-1], last)
		st.Truncated++
	}
	b.appendSeq(ids, nil, st)
	if b.o.NumLabels == 1 {
		b.floatLabels = append(b.floatLabels, float32(y))
	} else {
		b.labels = append(b.labels, int64(y))
	}
	return nil
}

func (b *builder) addTokenCls(row Row, st *Stats) error {
	we, ok := b.tok.(WordEncoder)
	if !ok {
		return fmt.Errorf("token classification needs a tokenizer with word alignment (EncodeWords)")
	}
	words, err := row.Strings(b.o.TokensField)
	if err != nil {
		return err
	}
	tags, err := row.Strings(b.o.TagsField)
	if err != nil {
		return err
	}
	if len(tags) != len(words) {
		return fmt.Errorf("%d words but %d tags", len(words), len(tags))
	}
	ids, wordIDs, err := we.EncodeWords(words, true)
	if err != nil {
		return err
	}
	labels := make([]int, len(ids))
	prev := -1
	for i, w := range wordIDs {
		labels[i] = -100
		if w >= 0 && w != prev { // first sub-token of a word carries its tag
			id, err := b.tagID(tags[w])
			if err != nil {
				return err
			}
			labels[i] = id
		}
		prev = w
	}
	b.appendSeq(ids, labels, st)
	return nil
}

func (b *builder) tagID(tag string) (int, error) {
	if b.o.Label2ID != nil {
		if id, ok := b.o.Label2ID[tag]; ok {
			return id, nil
		}
	}
	var id int
	if _, err := fmt.Sscanf(tag, "%d", &id); err != nil || (b.o.NumLabels > 0 && (id < 0 || id >= b.o.NumLabels)) {
		return 0, fmt.Errorf("tag %q is neither a known label name nor a class id", tag)
	}
	return id, nil
}

func (b *builder) addQA(row Row, st *Stats) error {
	oe, ok := b.tok.(OffsetEncoder)
	if !ok {
		return fmt.Errorf("extractive QA needs a tokenizer with character offsets (EncodeWithOffsets)")
	}
	ctx, err := row.String(b.o.ContextField)
	if err != nil {
		return err
	}
	q, err := row.String(b.o.QuestionField)
	if err != nil {
		return err
	}
	texts, err := row.Strings(b.o.AnswersField + ".text")
	if err != nil {
		return err
	}
	startsF, ok := row.Field(b.o.AnswersField + ".answer_start")
	starts, _ := startsF.([]any)
	if !ok || len(texts) == 0 || len(starts) == 0 {
		return fmt.Errorf("column %q needs text and answer_start lists (SQuAD layout)", b.o.AnswersField)
	}
	var a0 float64
	switch x := starts[0].(type) {
	case int64:
		a0 = float64(x)
	case int32:
		a0 = float64(x)
	case float64:
		a0 = x
	default:
		return fmt.Errorf("answer_start %v is not a number", starts[0])
	}
	charStart := int(a0)
	charEnd := charStart + len(texts[0])
	if charStart < 0 || charEnd > len(ctx) || ctx[charStart:charEnd] != texts[0] {
		return fmt.Errorf("answer %q is not at character %d of the context", texts[0], charStart)
	}
	// "question context", split into windows of at most T tokens that overlap by DocStride context tokens
	// (HF run_qa's doc_stride); the question and the special tokens repeat in every window. A window without
	// the whole answer points both positions at token 0, as HF does.
	full := q + " " + ctx
	shift := len(q) + 1
	body, offs, err := oe.EncodeWithOffsets(full, false)
	if err != nil {
		return err
	}
	framed, _, err := oe.EncodeWithOffsets(full, true)
	if err != nil {
		return err
	}
	pre := 0
	for pre+len(body) <= len(framed) && !slices.Equal(framed[pre:pre+len(body)], body) {
		pre++
	}
	if pre+len(body) > len(framed) {
		return fmt.Errorf("cannot locate the special tokens around the encoded text")
	}
	prefix, suffix := framed[:pre], framed[pre+len(body):]
	nq := 0
	for nq < len(body) && offs[nq][0] < shift {
		nq++
	}
	W := b.o.SeqLen - len(prefix) - len(suffix) - nq
	if W < 1 {
		return fmt.Errorf("the question takes %d tokens: no room for the context in %d", nq, b.o.SeqLen)
	}
	stride := min(max(b.o.DocStride, 0), W-1)
	ctxIDs, ctxOffs := body[nq:], offs[nq:]
	for start := 0; ; start += W - stride {
		end := min(start+W, len(ctxIDs))
		s0, e0 := 0, 0
		si, ei := -1, -1
		for i := start; i < end; i++ {
			o := ctxOffs[i]
			if o[0] <= charStart+shift && charStart+shift < o[1] {
				si = i
			}
			if o[0] < charEnd+shift && charEnd+shift <= o[1] {
				ei = i
			}
		}
		if si >= 0 && ei >= si {
			base := len(prefix) + nq - start
			s0, e0 = base+si, base+ei
		}
		ids := append(append(append(append([]int{}, prefix...), body[:nq]...), ctxIDs[start:end]...), suffix...)
		b.appendSeq(ids, nil, st)
		b.starts, b.ends = append(b.starts, int64(s0)), append(b.ends, int64(e0))
		if end >= len(ctxIDs) {
			break
		}
	}
	return nil
}

func (b *builder) addMultipleChoice(row Row, st *Stats) error {
	ctx, err := row.String(b.o.TextField)
	if err != nil {
		return err
	}
	endings, err := row.Strings(b.o.ChoicesField)
	if err != nil {
		return err
	}
	if b.choices == 0 {
		b.choices = len(endings)
	} else if len(endings) != b.choices {
		return fmt.Errorf("%d choices, earlier rows had %d", len(endings), b.choices)
	}
	y, err := b.label(row)
	if err != nil {
		return err
	}
	if int(y) >= len(endings) {
		return fmt.Errorf("label %v but only %d choices", y, len(endings))
	}
	n0 := b.n
	for _, e := range endings {
		ids, err := b.tok.Encode(ctx+" "+e, true)
		if err != nil {
			return err
		}
		b.appendSeq(ids, nil, st)
	}
	b.n = n0 + 1
	b.labels = append(b.labels, int64(y))
	return nil
}

func (b *builder) dataset(path string) *TensorDataset {
	T := b.o.SeqLen
	shape := []int{b.n, T}
	if b.choices > 0 {
		shape = []int{b.n, b.choices, T}
	}
	ds := &TensorDataset{Path: path, N: b.n, Columns: map[string]Column{
		"input_ids":      {Shape: shape, Ints: b.ids},
		"attention_mask": {Shape: shape, Ints: b.mask},
	}}
	switch {
	case b.o.Task == TaskCausalLM || b.o.Task == TaskTokenCls:
		ds.Columns["labels"] = Column{Shape: []int{b.n, T}, Ints: b.labels}
	case b.o.Task == TaskQA:
		ds.Columns["start_positions"] = Column{Shape: []int{b.n}, Ints: b.starts}
		ds.Columns["end_positions"] = Column{Shape: []int{b.n}, Ints: b.ends}
	case b.floatLabels != nil:
		ds.Columns["labels"] = Column{Shape: []int{b.n}, Floats: b.floatLabels}
	default:
		ds.Columns["labels"] = Column{Shape: []int{b.n}, Ints: b.labels}
	}
	return ds
}

// chatPair renders [user] with the generation prompt and [user, assistant] without it, and splits the
// conversation's tokens into the prompt part (no loss) and the assistant part.
func (b *builder) chatPair(prompt, resp string) ([]int, []int, error) {
	ct, ok := b.tok.(ChatTemplater)
	if !ok {
		return nil, nil, fmt.Errorf("--chat-template needs a tokenizer with a chat template")
	}
	user := []tokenizer.Message{{Role: "user", Content: prompt}}
	head, err := ct.ApplyChatTemplate(user, true)
	if err != nil {
		return nil, nil, err
	}
	full, err := ct.ApplyChatTemplate(append(user, tokenizer.Message{Role: "assistant", Content: resp}), false)
	if err != nil {
		return nil, nil, err
	}
	if !strings.HasPrefix(full, head) {
		return nil, nil, fmt.Errorf("the chat template renders the prompt differently inside the conversation; cannot mask it")
	}
	p, err := b.tok.Encode(head, false) // the template writes the special tokens itself
	if err != nil {
		return nil, nil, err
	}
	r, err := b.tok.Encode(full[len(head):], false)
	if err != nil {
		return nil, nil, err
	}
	// The assistant turn ends with its end-of-turn special token; some templates append a new generation
	// prompt after it unconditionally (e.g. LLaMA-3's first template), which is not the model's to learn.
	if sp, ok := b.tok.(interface{ IsSpecial(int) bool }); ok {
		for i, id := range r {
			if sp.IsSpecial(id) {
				r = r[:i+1]
				break
			}
		}
	}
	return p, r, nil
}

// addConversation renders a multi-turn conversation with the chat template and puts the loss on the
// assistant turns: each turn's span is what rendering up to it adds after the generation prompt.
func (b *builder) addConversation(row Row, st *Stats) error {
	ct, ok := b.tok.(ChatTemplater)
	if !ok {
		return fmt.Errorf("--messages-field needs a tokenizer with a chat template")
	}
	v, ok := row.Field(b.o.MessagesField)
	if !ok {
		return fmt.Errorf("no column %q (columns: %s)", b.o.MessagesField, strings.Join(row.columns(), ", "))
	}
	list, _ := v.([]any)
	if len(list) == 0 {
		return fmt.Errorf("column %q holds no list of messages", b.o.MessagesField)
	}
	var msgs []tokenizer.Message
	for i, e := range list {
		m, _ := e.(map[string]any)
		role, _ := m["role"].(string)
		content, _ := m["content"].(string)
		if role == "" {
			return fmt.Errorf("message %d has no role", i)
		}
		msgs = append(msgs, tokenizer.Message{Role: role, Content: content})
	}
	var ids, labels []int
	done := ""
	for i, m := range msgs {
		if m.Role != "assistant" {
			continue
		}
		head, err := ct.ApplyChatTemplate(msgs[:i], true)
		if err != nil {
			return err
		}
		turn, err := ct.ApplyChatTemplate(msgs[:i+1], false)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(head, done) || !strings.HasPrefix(turn, head) {
			return fmt.Errorf("the chat template does not render turn %d as a continuation of the earlier ones", i)
		}
		ctxIDs, err := b.tok.Encode(head[len(done):], false)
		if err != nil {
			return err
		}
		_, respIDs, err := b.splitTurn(turn[len(head):])
		if err != nil {
			return err
		}
		for _, id := range ctxIDs {
			ids, labels = append(ids, id), append(labels, -100)
		}
		for _, id := range respIDs {
			ids, labels = append(ids, id), append(labels, id)
		}
		done = head + b.decodeOrEmpty(respIDs)
		if !strings.HasPrefix(turn, done) {
			done = turn
		}
	}
	if len(ids) == 0 {
		return fmt.Errorf("the conversation has no assistant turn")
	}
	b.appendSeq(ids, labels, st)
	return nil
}

// splitTurn encodes an assistant turn's text and cuts it after its end-of-turn special token.
func (b *builder) splitTurn(text string) (string, []int, error) {
	r, err := b.tok.Encode(text, false)
	if err != nil {
		return "", nil, err
	}
	if sp, ok := b.tok.(interface{ IsSpecial(int) bool }); ok {
		for i, id := range r {
			if sp.IsSpecial(id) {
				return text, r[:i+1], nil
			}
		}
	}
	return text, r, nil
}

// decodeOrEmpty decodes ids when the tokenizer can, for tracking how much of the conversation is consumed.
func (b *builder) decodeOrEmpty(ids []int) string {
	if d, ok := b.tok.(interface {
		Decode([]int, bool) (string, error)
	}); ok {
		if s, err := d.Decode(ids, false); err == nil {
			return s
		}
	}
	return ""
}
