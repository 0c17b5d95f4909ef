package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// tgiError writes TGI's error shape {"error", "error_type"}.
func tgiError(w http.ResponseWriter, code int, errType, msg string) {
	writeJSON(w, code, map[string]string{"error": msg, "error_type": errType})
}

func validationError(w http.ResponseWriter, msg string) {
	tgiError(w, http.StatusUnprocessableEntity, "validation", "Input validation error: "+msg)
}

// readJSONBody decodes a JSON body into v, answering like TGI's (axum) extractor on failure:
// 415 without a JSON content type, 422 text/plain for syntax and type errors.
func readJSONBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.Contains(strings.ToLower(ct), "json") {
		writeRaw(w, http.StatusUnsupportedMediaType, "text/plain; charset=utf-8",
			[]byte("Expected request with `Content-Type: application/json`"))
		return false
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeRaw(w, http.StatusBadRequest, "text/plain; charset=utf-8", []byte("Failed to buffer the request body: "+err.Error()))
		return false
	}
	if len(data) > maxBody {
		writeRaw(w, http.StatusRequestEntityTooLarge, "text/plain; charset=utf-8", []byte("Failed to buffer the request body: length limit exceeded"))
		return false
	}
	if msg := decodeStrict(data, v); msg != "" {
		writeRaw(w, http.StatusUnprocessableEntity, "text/plain; charset=utf-8", []byte(msg))
		return false
	}
	return true
}

// decodeStrict decodes data into v and returns a serde-like message on failure.
func decodeStrict(data []byte, v any) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing characters")
	}
	if err == nil {
		return ""
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := lineCol(data, se.Offset)
		return fmt.Sprintf("Failed to parse the request body as JSON: %s at line %d column %d", se.Error(), line, col)
	case errors.As(err, &te):
		line, col := lineCol(data, te.Offset)
		return fmt.Sprintf("Failed to deserialize the JSON body into the target type: %s: invalid type: %s, expected %s at line %d column %d",
			te.Field, serdeKind(te.Value), serdeType(te.Type.String()), line, col)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "Failed to parse the request body as JSON: EOF while parsing a value at line 1 column 0"
	}
	return "Failed to deserialize the JSON body into the target type: " + err.Error()
}

func lineCol(data []byte, off int64) (int, int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	return line, int(off) - (bytes.LastIndexByte(before, '\n') + 1)
}

func serdeKind(v string) string {
	switch v {
	case "object":
		return "map"
	case "array":
		return "sequence"
	case "bool":
		return "boolean"
	}
	return v
}

func serdeType(t string) string {
	switch {
	case t == "string" || t == "*string":
		return "a string"
	case strings.Contains(t, "float"):
		return "f32"
	case strings.Contains(t, "uint64"):
		return "u64"
	case strings.Contains(t, "int"):
		return "u32"
	case strings.Contains(t, "bool"):
		return "a boolean"
	case strings.HasPrefix(t, "[]") || strings.HasPrefix(t, "*[]"):
		return "a sequence"
	}
	return "a map"
}

// tgiParameters are TGI's GenerateParameters.
type tgiParameters struct {
	BestOf              *int            `json:"best_of"`
	DecoderInputDetails bool            `json:"decoder_input_details"`
	Details             bool            `json:"details"`
	DoSample            bool            `json:"do_sample"`
	FrequencyPenalty    *float64        `json:"frequency_penalty"`
	MaxNewTokens        *int            `json:"max_new_tokens"`
	RepetitionPenalty   *float64        `json:"repetition_penalty"`
	ReturnFullText      *bool           `json:"return_full_text"`
	Seed                *uint64         `json:"seed"`
	Stop                []string        `json:"stop"`
	Temperature         *float64        `json:"temperature"`
	TopK                *int            `json:"top_k"`
	TopNTokens          *int            `json:"top_n_tokens"`
	TopP                *float64        `json:"top_p"`
	Truncate            *int            `json:"truncate"`
	TypicalP            *float64        `json:"typical_p"`
	Watermark           bool            `json:"watermark"`
	Grammar             json.RawMessage `json:"grammar"`
	AdapterID           *string         `json:"adapter_id"`
}

type tgiRequest struct {
	Inputs     *string       `json:"inputs"`
	Parameters tgiParameters `json:"parameters"`
	Stream     bool          `json:"stream"`
}

// sampling reports whether TGI would sample (any sampling parameter set) rather than decode greedily.
func (p *tgiParameters) sampling() bool {
	return p.DoSample || (p.Temperature != nil && *p.Temperature != 1) || p.TopK != nil || p.TopP != nil || p.TypicalP != nil
}

// validate applies TGI's parameter validation; it returns the message of a 422, or "".
func (p *tgiParameters) validate(inputs string, stream bool) string {
	switch {
	case p.Temperature != nil && *p.Temperature <= 0:
		return "`temperature` must be strictly positive"
	case p.RepetitionPenalty != nil && *p.RepetitionPenalty <= 0:
		return "`repetition_penalty` must be strictly positive"
	case p.FrequencyPenalty != nil && (*p.FrequencyPenalty < -2 || *p.FrequencyPenalty > 2):
		return "`frequency_penalty` must be >= -2.0 and <= 2.0"
	case p.TopP != nil && (*p.TopP <= 0 || *p.TopP >= 1):
		return "`top_p` must be > 0.0 and < 1.0"
	case p.TypicalP != nil && (*p.TypicalP <= 0 || *p.TypicalP >= 1):
		return "`typical_p` must be > 0.0 and < 1.0"
	case p.TopK != nil && *p.TopK <= 0:
		return "`top_k` must be strictly positive"
	case p.MaxNewTokens != nil && *p.MaxNewTokens <= 0:
		return "`max_new_tokens` must be strictly positive"
	case len(p.Stop) > maxStopSequences:
		return fmt.Sprintf("`stop` supports up to %d stop sequences. Given: %d", maxStopSequences, len(p.Stop))
	case p.TopNTokens != nil && (*p.TopNTokens < 0 || *p.TopNTokens > maxTopNTokens):
		return fmt.Sprintf("`top_n_tokens` must be >= 0 and <= %d. Given: %d", maxTopNTokens, *p.TopNTokens)
	case p.Truncate != nil && (*p.Truncate <= 0 || *p.Truncate > maxInputTokens):
		return fmt.Sprintf("`truncate` must be strictly positive and less than %d. Given: %d", maxInputTokens, *p.Truncate)
	}
	if p.BestOf != nil {
		b := *p.BestOf
		switch {
		case b <= 0 || b > maxBestOf:
			return fmt.Sprintf("`best_of` must be > 0 and <= %d. Given: %d", maxBestOf, b)
		case b > 1 && !p.sampling():
			return "you must use sampling when `best_of` is > 1"
		case b > 1 && p.Seed != nil:
			return "`seed` must not be set when `best_of` > 1"
		case b > 1 && stream:
			return "`best_of` != 1 is not supported when streaming tokens"
		}
	}
	if strings.TrimSpace(inputs) == "" {
		return "`inputs` cannot be empty"
	}
	n := countTokens(inputs)
	if p.Truncate != nil {
		n = min(n, *p.Truncate)
	}
	if n > maxInputTokens {
		return fmt.Sprintf("`inputs` tokens must be <= %d. Given: %d", maxInputTokens, n)
	}
	if mnt := p.maxNewTokens(); n+mnt > maxTotalTokens {
		return fmt.Sprintf("`inputs` tokens + `max_new_tokens` must be <= %d. Given: %d `inputs` tokens and %d `max_new_tokens`", maxTotalTokens, n, mnt)
	}
	return ""
}

func (p *tgiParameters) maxNewTokens() int { return derefOr(p.MaxNewTokens, defaultMaxNewTokens) }

// genRequest turns TGI parameters into a generator request; n distinguishes best_of sequences.
func (p *tgiParameters) genRequest(inputs string, n int) genRequest {
	g := genRequest{prompt: inputs, maxNewTokens: p.maxNewTokens(), stop: p.Stop,
		repetition: derefOr(p.RepetitionPenalty, 1), sampling: p.sampling()}
	if g.sampling {
		g.temperature = derefOr(p.Temperature, 1)
		g.topP = derefOr(p.TopP, 1)
		g.topK = float64(derefOr(p.TopK, 0))
		if p.Seed != nil && n == 0 {
			g.seed = *p.Seed
		} else {
			g.seed = derivedSeed(inputs, n)
		}
	}
	return g
}

// tgiDetails is TGI's Details object.
type tgiDetails struct {
	FinishReason    string          `json:"finish_reason"`
	GeneratedTokens int             `json:"generated_tokens"`
	Seed            *uint64         `json:"seed"`
	Prefill         []prefillToken  `json:"prefill"`
	Tokens          []genToken      `json:"tokens"`
	TopTokens       [][]genToken    `json:"top_tokens,omitempty"`
	BestOfSequences []bestOfSeqJSON `json:"best_of_sequences,omitempty"`
}

type bestOfSeqJSON struct {
	GeneratedText   string         `json:"generated_text"`
	FinishReason    string         `json:"finish_reason"`
	GeneratedTokens int            `json:"generated_tokens"`
	Seed            *uint64        `json:"seed"`
	Prefill         []prefillToken `json:"prefill"`
	Tokens          []genToken     `json:"tokens"`
}

type tgiResponse struct {
	GeneratedText string      `json:"generated_text"`
	Details       *tgiDetails `json:"details,omitempty"`
}

// runTGI generates for a validated TGI request and accounts the tokens.
func (t *target) runTGI(req *tgiRequest) (tgiResponse, genResult) {
	p := &req.Parameters
	g := p.genRequest(*req.Inputs, 0)
	res := generate(g)
	t.countIn(res.inputTokens)
	t.countOut(len(res.tokens))
	out := tgiResponse{GeneratedText: res.text}
	if derefOr(p.ReturnFullText, false) {
		out.GeneratedText = *req.Inputs + res.text
	}
	if p.Details || p.DecoderInputDetails {
		d := &tgiDetails{FinishReason: res.finish, GeneratedTokens: len(res.tokens), Prefill: []prefillToken{}, Tokens: res.tokens}
		if g.sampling {
			d.Seed = &g.seed
		}
		if p.DecoderInputDetails {
			d.Prefill = prefill(g.prompt, g.key())
		}
		if n := derefOr(p.TopNTokens, 0); n > 0 {
			d.TopTokens = topTokens(res.tokens, n)
		}
		for i := 1; i < derefOr(p.BestOf, 1); i++ {
			gi := p.genRequest(*req.Inputs, i)
			ri := generate(gi)
			d.BestOfSequences = append(d.BestOfSequences, bestOfSeqJSON{GeneratedText: ri.text, FinishReason: ri.finish,
				GeneratedTokens: len(ri.tokens), Seed: &gi.seed, Prefill: []prefillToken{}, Tokens: ri.tokens})
		}
		out.Details = d
	}
	return out, res
}

// topTokens lists, per step, the chosen token and n-1 less likely alternatives.
func topTokens(tokens []genToken, n int) [][]genToken {
	out := make([][]genToken, len(tokens))
	for i, tok := range tokens {
		alts := []genToken{tok}
		for j := 1; j < n; j++ {
			words := vocabulary()
			w := " " + words[(tok.ID*31+j*7)%len(words)]
			alts = append(alts, genToken{ID: tokenID(w), Text: w, Logprob: tok.Logprob - float64(j)})
		}
		out[i] = alts
	}
	return out
}

// parseTGI reads and validates a TGI body, answering itself on failure: 422 text/plain when the body
// does not decode, 422 JSON for invalid parameters, or, for a stream (TGI validates inside the
// stream), a 200 event stream carrying one error event.
func parseTGI(w http.ResponseWriter, r *http.Request, stream bool) (*tgiRequest, bool) {
	var req tgiRequest
	if !readJSONBody(w, r, &req) {
		return nil, false
	}
	if req.Inputs == nil {
		writeRaw(w, http.StatusUnprocessableEntity, "text/plain; charset=utf-8",
			[]byte("Failed to deserialize the JSON body into the target type: missing field `inputs` at line 1 column 1"))
		return nil, false
	}
	stream = stream || req.Stream
	if msg := req.Parameters.validate(*req.Inputs, stream); msg != "" {
		if stream {
			newSSE(w).event("data:", map[string]string{"error": "Input validation error: " + msg, "error_type": "validation"})
			return nil, false
		}
		validationError(w, msg)
		return nil, false
	}
	return &req, true
}

// tgiCompat serves TGI's POST / : a list of one result, or the token stream when stream is true.
func tgiCompat(e *Emulator, w http.ResponseWriter, r *http.Request, t *target) {
	req, ok := parseTGI(w, r, false)
	if !ok {
		return
	}
	if req.Stream {
		t.streamTGI(w, req)
		return
	}
	out, _ := t.runTGI(req)
	writeJSON(w, http.StatusOK, []tgiResponse{out})
}

// tgiGenerate serves POST /generate: a single result object.
func tgiGenerate(e *Emulator, w http.ResponseWriter, r *http.Request, t *target) {
	req, ok := parseTGI(w, r, false)
	if !ok {
		return
	}
	out, _ := t.runTGI(req)
	if out.Details != nil && out.Details.Prefill == nil {
		out.Details.Prefill = []prefillToken{}
	}
	writeJSON(w, http.StatusOK, out)
}

// tgiGenerateStream serves POST /generate_stream.
func tgiGenerateStream(e *Emulator, w http.ResponseWriter, r *http.Request, t *target) {
	req, ok := parseTGI(w, r, true)
	if !ok {
		return
	}
	t.streamTGI(w, req)
}

type streamDetails struct {
	FinishReason    string  `json:"finish_reason"`
	GeneratedTokens int     `json:"generated_tokens"`
	Seed            *uint64 `json:"seed"`
	InputLength     int     `json:"input_length"`
}

type streamEvent struct {
	Index         int            `json:"index"`
	Token         genToken       `json:"token"`
	TopTokens     []genToken     `json:"top_tokens,omitempty"`
	GeneratedText *string        `json:"generated_text"`
	Details       *streamDetails `json:"details"`
}

// streamTGI writes one "data:" event per token (TGI's format, no [DONE]); the last carries the
// generated text and, when details were asked, the details.
func (t *target) streamTGI(w http.ResponseWriter, req *tgiRequest) {
	p := &req.Parameters
	g := p.genRequest(*req.Inputs, 0)
	res := generate(g)
	t.countIn(res.inputTokens)
	t.countOut(len(res.tokens))
	sse := newSSE(w)
	var tops [][]genToken
	if n := derefOr(p.TopNTokens, 0); n > 0 {
		tops = topTokens(res.tokens, n)
	}
	for i, tok := range res.tokens {
		ev := streamEvent{Index: i + 1, Token: tok}
		if tops != nil {
			ev.TopTokens = tops[i]
		}
		if i == len(res.tokens)-1 {
			text := res.text
			if derefOr(p.ReturnFullText, false) {
				text = *req.Inputs + text
			}
			ev.GeneratedText = &text
			if p.Details {
				ev.Details = &streamDetails{FinishReason: res.finish, GeneratedTokens: len(res.tokens), InputLength: res.inputTokens}
				if g.sampling {
					ev.Details.Seed = &g.seed
				}
			}
		}
		sse.event("data:", ev)
	}
}

// sseWriter writes server-sent events, flushing each one.
type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func newSSE(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	return &sseWriter{w: w, rc: http.NewResponseController(w)}
}

// event writes prefix+JSON(v) and a blank line. prefix is "data:" (TGI) or "data: " (OpenAI routes).
func (s *sseWriter) event(prefix string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		data = []byte(`{"error":"emulator could not encode the event","error_type":"incomplete_generation"}`)
	}
	s.raw(prefix + string(data))
}

func (s *sseWriter) raw(line string) {
	io.WriteString(s.w, line+"\n\n")
	s.rc.Flush()
}
