package hfapi

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// TextGenerationParameters are TGI's generation parameters; nil fields are not sent.
type TextGenerationParameters struct {
	MaxNewTokens        *int     `json:"max_new_tokens,omitempty"`
	Temperature         *float64 `json:"temperature,omitempty"`
	TopK                *int     `json:"top_k,omitempty"`
	TopP                *float64 `json:"top_p,omitempty"`
	TypicalP            *float64 `json:"typical_p,omitempty"`
	RepetitionPenalty   *float64 `json:"repetition_penalty,omitempty"`
	FrequencyPenalty    *float64 `json:"frequency_penalty,omitempty"`
	DoSample            *bool    `json:"do_sample,omitempty"`
	Seed                *uint64  `json:"seed,omitempty"`
	Stop                []string `json:"stop,omitempty"`
	ReturnFullText      *bool    `json:"return_full_text,omitempty"`
	Truncate            *int     `json:"truncate,omitempty"`
	Watermark           *bool    `json:"watermark,omitempty"`
	Details             *bool    `json:"details,omitempty"`
	DecoderInputDetails *bool    `json:"decoder_input_details,omitempty"`
	BestOf              *int     `json:"best_of,omitempty"`
	TopNTokens          *int     `json:"top_n_tokens,omitempty"`
}

// TextGenerationRequest is a text-generation call: POST {url} {"inputs", "parameters", "stream"?}.
type TextGenerationRequest struct {
	Inputs     string                   `json:"inputs"`
	Parameters TextGenerationParameters `json:"parameters"` // always sent, {} when empty
}

type textGenerationBody struct {
	TextGenerationRequest
	Stream *bool `json:"stream,omitempty"`
}

// Token is one generated (or prefill) token.
type Token struct {
	ID      int      `json:"id"`
	Text    string   `json:"text"`
	Logprob *float64 `json:"logprob"`
	Special bool     `json:"special"`
}

// GenerationDetails are returned when parameters.details is true.
type GenerationDetails struct {
	FinishReason    string          `json:"finish_reason"`
	GeneratedTokens int             `json:"generated_tokens"`
	Seed            *uint64         `json:"seed"`
	Prefill         []Token         `json:"prefill,omitempty"`
	Tokens          []Token         `json:"tokens,omitempty"`
	BestOfSequences json.RawMessage `json:"best_of_sequences,omitempty"`
	TopTokens       json.RawMessage `json:"top_tokens,omitempty"`
}

// TextGenerationResponse is the generated text (and details when asked for).
type TextGenerationResponse struct {
	GeneratedText string             `json:"generated_text"`
	Details       *GenerationDetails `json:"details,omitempty"`
}

// StreamToken is one event of a generation stream; GeneratedText and Details are set on the last.
type StreamToken struct {
	Index         int                `json:"index"`
	Token         Token              `json:"token"`
	GeneratedText *string            `json:"generated_text"`
	Details       *GenerationDetails `json:"details"`
}

func (r TextGenerationRequest) validate() error {
	if r.Inputs == "" {
		return &ValidationError{"inputs", "is empty; give the prompt text"}
	}
	if p := r.Parameters.MaxNewTokens; p != nil && *p < 1 {
		return &ValidationError{"max_new_tokens", fmt.Sprintf("is %d; it must be at least 1", *p)}
	}
	return nil
}

// TextGeneration generates text (TGI or toolkit container). Both the list answer of POST / and the
// single object of /generate are accepted.
func (c *Client) TextGeneration(ctx context.Context, ep *Endpoint, req TextGenerationRequest, opts CallOptions) (*TextGenerationResponse, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	resp, err := c.infer(ctx, ep, http.MethodPost, "", textGenerationBody{TextGenerationRequest: req}, nil, opts)
	if err != nil {
		return nil, err
	}
	var list []TextGenerationResponse
	if json.Unmarshal(resp.body, &list) == nil && len(list) > 0 {
		return &list[0], nil
	}
	var one TextGenerationResponse
	if err := json.Unmarshal(resp.body, &one); err != nil {
		return nil, fmt.Errorf("text generation on %s: unexpected answer %q", ep.Name, truncate(string(resp.body), 200))
	}
	return &one, nil
}

// TextGenerationStream generates text token by token (server-sent events), calling onToken for each
// event; the returned response has the whole text. An error event inside the stream is an error.
func (c *Client) TextGenerationStream(ctx context.Context, ep *Endpoint, req TextGenerationRequest, opts CallOptions, onToken func(StreamToken)) (*TextGenerationResponse, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	stream := true
	resp, _, err := c.inferOpen(ctx, ep, http.MethodPost, "", textGenerationBody{TextGenerationRequest: req, Stream: &stream},
		http.Header{"Accept": {"text/event-stream"}}, opts)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return parseGenerationStream(resp.Body, ep.Name, c.scrub, onToken)
}

func parseGenerationStream(r io.Reader, name string, scrub func([]byte) []byte, onToken func(StreamToken)) (*TextGenerationResponse, error) {
	var out TextGenerationResponse
	var text strings.Builder
	final := false
	err := eachEvent(r, scrub, func(data string) error {
		var ev struct {
			StreamToken
			Error     string `json:"error"`
			ErrorType string `json:"error_type"`
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return fmt.Errorf("bad event %q: %w", truncate(data, 200), err)
		}
		if ev.Error != "" {
			return fmt.Errorf("the endpoint reported an error: %s (%s)", ev.Error, ev.ErrorType)
		}
		if !ev.Token.Special {
			text.WriteString(ev.Token.Text)
		}
		if ev.GeneratedText != nil {
			out.GeneratedText, final = *ev.GeneratedText, true
		}
		if ev.Details != nil {
			out.Details = ev.Details
		}
		if onToken != nil {
			onToken(ev.StreamToken)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("text generation stream on %s: %w", name, err)
	}
	if !final {
		out.GeneratedText = text.String()
	}
	return &out, nil
}

// eachEvent calls fn with the data of every "data:" line of an event stream (scrubbed of the
// token), until [DONE], the end of r, or an error from fn.
func eachEvent(r io.Reader, scrub func([]byte) []byte, fn func(data string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(string(scrub(sc.Bytes())), "data:")
		if !ok {
			continue
		}
		switch data = strings.TrimSpace(data); data {
		case "[DONE]":
			return nil
		case "":
			continue
		}
		if err := fn(data); err != nil {
			return err
		}
	}
	return sc.Err()
}

// ChatMessage is one message of a chat.
type ChatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ChatCompletionRequest is an OpenAI-style chat call to {url}/v1/chat/completions.
type ChatCompletionRequest struct {
	Model       string        `json:"model"` // default "dummy" (the endpoint serves one model)
	Messages    []ChatMessage `json:"messages"`
	MaxTokens   *int          `json:"max_tokens,omitempty"`
	Temperature *float64      `json:"temperature,omitempty"`
	TopP        *float64      `json:"top_p,omitempty"`
	Stop        []string      `json:"stop,omitempty"`
	Seed        *uint64       `json:"seed,omitempty"`
	Stream      bool          `json:"stream"` // set by ChatCompletion (false) and ChatCompletionStream (true)
}

// ChatCompletionResponse is the OpenAI-style answer.
type ChatCompletionResponse struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint,omitempty"`
	Choices           []ChatChoice `json:"choices"`
	Usage             *ChatUsage   `json:"usage,omitempty"`
}

// ChatChoice is one completion choice.
type ChatChoice struct {
	Index        int             `json:"index"`
	Message      ChatMessage     `json:"message"`
	FinishReason string          `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs,omitempty"`
}

// ChatUsage counts tokens.
type ChatUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// ChatCompletion runs a chat completion on a TGI (or other OpenAI-compatible) endpoint.
func (c *Client) ChatCompletion(ctx context.Context, ep *Endpoint, req ChatCompletionRequest, opts CallOptions) (*ChatCompletionResponse, error) {
	path, err := prepareChat(ep, &req, false)
	if err != nil {
		return nil, err
	}
	resp, err := c.infer(ctx, ep, http.MethodPost, path, req, nil, opts)
	if err != nil {
		return nil, err
	}
	var out ChatCompletionResponse
	if err := json.Unmarshal(resp.body, &out); err != nil {
		return nil, fmt.Errorf("chat completion on %s: unexpected answer %q", ep.Name, truncate(string(resp.body), 200))
	}
	return &out, nil
}

// ChatCompletionChunk is one event of a streamed chat completion.
type ChatCompletionChunk struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Created           int64             `json:"created"`
	Model             string            `json:"model"`
	SystemFingerprint string            `json:"system_fingerprint,omitempty"`
	Choices           []ChatChunkChoice `json:"choices"`
	Usage             *ChatUsage        `json:"usage,omitempty"`
}

// ChatChunkChoice is one choice's delta in a chunk.
type ChatChunkChoice struct {
	Index        int         `json:"index"`
	Delta        ChatMessage `json:"delta"`
	FinishReason *string     `json:"finish_reason"`
}

// ChatCompletionStream runs a chat completion as a stream of server-sent events, calling onChunk for
// each chunk; the returned response holds the whole reply, as ChatCompletion's would. An error event
// inside the stream is an error.
func (c *Client) ChatCompletionStream(ctx context.Context, ep *Endpoint, req ChatCompletionRequest, opts CallOptions, onChunk func(ChatCompletionChunk)) (*ChatCompletionResponse, error) {
	path, err := prepareChat(ep, &req, true)
	if err != nil {
		return nil, err
	}
	resp, _, err := c.inferOpen(ctx, ep, http.MethodPost, path, req, http.Header{"Accept": {"text/event-stream"}}, opts)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return parseChatStream(resp.Body, ep.Name, c.scrub, onChunk)
}

// prepareChat checks req, fills its defaults and returns the route for ep.
func prepareChat(ep *Endpoint, req *ChatCompletionRequest, stream bool) (string, error) {
	if len(req.Messages) == 0 {
		return "", &ValidationError{"messages", `is empty; give at least one {"role": "user", "content": "..."}`}
	}
	if req.Model == "" {
		req.Model = "dummy"
	}
	req.Stream = stream
	if ep != nil && strings.HasSuffix(strings.TrimRight(ep.Status.URL, "/"), "/v1") {
		return "/chat/completions", nil
	}
	return "/v1/chat/completions", nil
}

// parseChatStream reads "data:" chunks until [DONE] or the end of the body, joining each choice's
// content deltas into its message.
func parseChatStream(r io.Reader, name string, scrub func([]byte) []byte, onChunk func(ChatCompletionChunk)) (*ChatCompletionResponse, error) {
	out := &ChatCompletionResponse{Object: "chat.completion"}
	var texts []*strings.Builder
	err := eachEvent(r, scrub, func(data string) error {
		var ev struct {
			ChatCompletionChunk
			Error     json.RawMessage `json:"error"`
			ErrorType string          `json:"error_type"`
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return fmt.Errorf("bad event %q: %w", truncate(data, 200), err)
		}
		if len(ev.Error) > 0 && string(ev.Error) != "null" {
			return fmt.Errorf("the endpoint reported an error: %s", streamError(ev.Error, ev.ErrorType))
		}
		ch := ev.ChatCompletionChunk
		if out.ID == "" {
			out.ID, out.Created, out.Model, out.SystemFingerprint = ch.ID, ch.Created, ch.Model, ch.SystemFingerprint
		}
		if ch.Usage != nil {
			out.Usage = ch.Usage
		}
		for _, c := range ch.Choices {
			if c.Index < 0 || c.Index > 64 {
				return fmt.Errorf("choice index %d out of range", c.Index)
			}
			for len(out.Choices) <= c.Index {
				out.Choices = append(out.Choices, ChatChoice{Index: len(out.Choices)})
				texts = append(texts, &strings.Builder{})
			}
			choice := &out.Choices[c.Index]
			if c.Delta.Role != "" {
				choice.Message.Role = c.Delta.Role
			}
			texts[c.Index].WriteString(c.Delta.Content)
			if c.FinishReason != nil {
				choice.FinishReason = *c.FinishReason
			}
		}
		if onChunk != nil {
			onChunk(ch)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("chat completion stream on %s: %w", name, err)
	}
	for i := range out.Choices {
		out.Choices[i].Message.Content = texts[i].String()
		if out.Choices[i].Message.Role == "" {
			out.Choices[i].Message.Role = "assistant"
		}
	}
	return out, nil
}

// streamError renders an error event's "error" member: a string (TGI) or an object with a message
// (OpenAI-style servers).
func streamError(raw json.RawMessage, errType string) string {
	var msg string
	if json.Unmarshal(raw, &msg) != nil {
		var obj struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		}
		if json.Unmarshal(raw, &obj) == nil && obj.Message != "" {
			msg, errType = obj.Message, cmp.Or(errType, obj.Type)
		} else {
			msg = truncate(string(raw), 200)
		}
	}
	if errType != "" {
		return msg + " (" + errType + ")"
	}
	return msg
}

// FeatureExtractionRequest asks for embeddings. One input is sent as a JSON string (as huggingface_hub
// does), several as a list. Parameters sit at the root of the body, as TEI expects.
type FeatureExtractionRequest struct {
	Inputs              []string
	Normalize           *bool
	PromptName          *string
	Truncate            *bool
	TruncationDirection *string // Left | Right
	Dimensions          *int
}

func (r FeatureExtractionRequest) body() map[string]any {
	b := map[string]any{"inputs": r.Inputs}
	if len(r.Inputs) == 1 {
		b["inputs"] = r.Inputs[0]
	}
	setPtr(b, "normalize", r.Normalize)
	setPtr(b, "prompt_name", r.PromptName)
	setPtr(b, "truncate", r.Truncate)
	setPtr(b, "truncation_direction", r.TruncationDirection)
	setPtr(b, "dimensions", r.Dimensions)
	return b
}

// FeatureExtraction returns one embedding per input. It accepts TEI's [[f]], the sentence-transformers
// flat [f], {"embeddings": …}, and the transformers pipeline's per-token [[[f]]], which is mean-pooled
// over tokens into one vector per input.
func (c *Client) FeatureExtraction(ctx context.Context, ep *Endpoint, req FeatureExtractionRequest, opts CallOptions) ([][]float32, error) {
	if len(req.Inputs) == 0 {
		return nil, &ValidationError{"inputs", "is empty; give at least one text"}
	}
	resp, err := c.infer(ctx, ep, http.MethodPost, "", req.body(), http.Header{"Accept": {"*/*"}}, opts)
	if err != nil {
		return nil, err
	}
	vecs, err := parseEmbeddings(resp.body)
	if err != nil {
		return nil, fmt.Errorf("feature extraction on %s: %w", ep.Name, err)
	}
	return vecs, nil
}

func parseEmbeddings(body []byte) ([][]float32, error) {
	var wrapped struct {
		Embeddings json.RawMessage `json:"embeddings"`
	}
	if json.Unmarshal(body, &wrapped) == nil && wrapped.Embeddings != nil {
		body = wrapped.Embeddings
	}
	var flat []float32
	if json.Unmarshal(body, &flat) == nil {
		return [][]float32{flat}, nil
	}
	var matrix [][]float32
	if json.Unmarshal(body, &matrix) == nil {
		return matrix, nil
	}
	var tokens [][][]float32
	if err := json.Unmarshal(body, &tokens); err != nil {
		return nil, errors.New("unexpected answer: want [[float…]], [float…], [[[float…]]] or {\"embeddings\": …}, got " +
			truncate(string(body), 120))
	}
	out := make([][]float32, len(tokens))
	for i, toks := range tokens {
		out[i] = meanPool(toks)
	}
	return out, nil
}

func meanPool(rows [][]float32) []float32 {
	if len(rows) == 0 {
		return []float32{}
	}
	sum := make([]float64, len(rows[0]))
	for _, r := range rows {
		for j := range min(len(r), len(sum)) {
			sum[j] += float64(r[j])
		}
	}
	out := make([]float32, len(sum))
	for j, s := range sum {
		out[j] = float32(s / float64(len(rows)))
	}
	return out
}
