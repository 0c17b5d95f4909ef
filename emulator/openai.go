package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// systemFingerprint says plainly that answers come from the emulator.
const systemFingerprint = "hf-endpoints-mcp-emulator"

// openAIParams are the sampling fields shared by /v1/completions and /v1/chat/completions.
type openAIParams struct {
	Model            string          `json:"model"`
	MaxTokens        *int            `json:"max_tokens"`
	MaxCompletion    *int            `json:"max_completion_tokens"`
	Stream           bool            `json:"stream"`
	StreamOptions    *streamOptions  `json:"stream_options"`
	Seed             *uint64         `json:"seed"`
	Temperature      *float64        `json:"temperature"`
	TopP             *float64        `json:"top_p"`
	FrequencyPenalty *float64        `json:"frequency_penalty"`
	PresencePenalty  *float64        `json:"presence_penalty"`
	Stop             json.RawMessage `json:"stop"`
	N                *int            `json:"n"`
	Logprobs         bool            `json:"logprobs"`
	TopLogprobs      *int            `json:"top_logprobs"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func (u usage) plus(v usage) usage {
	return usage{u.PromptTokens + v.PromptTokens, u.CompletionTokens + v.CompletionTokens, u.TotalTokens + v.TotalTokens}
}

func usageOf(res genResult) usage {
	return usage{PromptTokens: res.inputTokens, CompletionTokens: len(res.tokens), TotalTokens: res.inputTokens + len(res.tokens)}
}

// stopList accepts "stop" as a string or a list of strings.
func (o *openAIParams) stopList() ([]string, string) {
	if len(o.Stop) == 0 || string(o.Stop) == "null" {
		return nil, ""
	}
	var one string
	if json.Unmarshal(o.Stop, &one) == nil {
		return []string{one}, ""
	}
	var many []string
	if err := json.Unmarshal(o.Stop, &many); err != nil {
		return nil, "`stop` must be a string or a list of strings"
	}
	return many, ""
}

// genRequest maps OpenAI parameters the way TGI does: temperature 0 means greedy, anything else samples.
func (o *openAIParams) genRequest(prompt string) (genRequest, string) {
	stop, msg := o.stopList()
	if msg != "" {
		return genRequest{}, msg
	}
	tp := tgiParameters{MaxNewTokens: o.MaxTokens, Seed: o.Seed, TopP: o.TopP, FrequencyPenalty: o.FrequencyPenalty, Stop: stop}
	if tp.MaxNewTokens == nil {
		tp.MaxNewTokens = o.MaxCompletion
	}
	if o.Temperature == nil || *o.Temperature > 0 {
		tp.DoSample, tp.Temperature = true, o.Temperature
	}
	if o.N != nil && *o.N != 1 {
		return genRequest{}, fmt.Sprintf("`n` must be 1 (the only value TGI supports). Given: %d", *o.N)
	}
	if msg := tp.validate(prompt, false); msg != "" {
		return genRequest{}, msg
	}
	return tp.genRequest(prompt, 0), ""
}

// openAIFinish maps TGI finish reasons to OpenAI's.
func openAIFinish(f string) string {
	if f == "length" {
		return "length"
	}
	return "stop"
}

type completionRequest struct {
	openAIParams
	Prompt json.RawMessage `json:"prompt"`
	Echo   bool            `json:"echo"`
}

type completionChoice struct {
	Index        int     `json:"index"`
	Text         string  `json:"text"`
	Logprobs     any     `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
}

type completionBody struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	Created           int64              `json:"created"`
	Model             string             `json:"model"`
	SystemFingerprint string             `json:"system_fingerprint"`
	Choices           []completionChoice `json:"choices"`
	Usage             *usage             `json:"usage,omitempty"`
}

// prompts accepts "prompt" as a string or a list of strings.
func (c *completionRequest) prompts() ([]string, string) {
	var one string
	if json.Unmarshal(c.Prompt, &one) == nil {
		return []string{one}, ""
	}
	var many []string
	if err := json.Unmarshal(c.Prompt, &many); err != nil || len(many) == 0 {
		return nil, "`prompt` must be a string or a non-empty list of strings"
	}
	return many, ""
}

// v1Completions serves POST /v1/completions in OpenAI's shape, like TGI.
func v1Completions(e *Emulator, w http.ResponseWriter, r *http.Request, t *target) {
	req, gens, ok := parseCompletion(w, r)
	if !ok {
		return
	}
	body := completionBody{Object: "text_completion", Created: time.Now().Unix(), Model: t.repo, SystemFingerprint: systemFingerprint}
	var total usage
	var sse *sseWriter
	if req.Stream {
		sse = newSSE(w)
	}
	for i, g := range gens {
		res := t.generate(g)
		total = total.plus(usageOf(res))
		if sse != nil {
			streamCompletion(sse, body, i, res)
			continue
		}
		fin := openAIFinish(res.finish)
		text := res.text
		if req.Echo {
			text = g.prompt + text
		}
		body.Choices = append(body.Choices, completionChoice{Index: i, Text: text, FinishReason: &fin})
	}
	if sse == nil {
		body.Usage = &total
		writeJSON(w, http.StatusOK, body)
		return
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		body.Choices, body.Usage = []completionChoice{}, &total
		sse.event("data: ", body)
	}
	sse.raw("data: [DONE]")
}

// parseCompletion reads a completions body and builds one generator request per prompt, answering
// 422 itself on failure.
func parseCompletion(w http.ResponseWriter, r *http.Request) (*completionRequest, []genRequest, bool) {
	var req completionRequest
	if !readJSONBody(w, r, &req) {
		return nil, nil, false
	}
	if len(req.Prompt) == 0 {
		writeRaw(w, http.StatusUnprocessableEntity, "text/plain; charset=utf-8",
			[]byte("Failed to deserialize the JSON body into the target type: missing field `prompt` at line 1 column 1"))
		return nil, nil, false
	}
	prompts, msg := req.prompts()
	var gens []genRequest
	for _, p := range prompts {
		if msg != "" {
			break
		}
		var g genRequest
		g, msg = req.genRequest(p)
		gens = append(gens, g)
	}
	if msg != "" {
		validationError(w, msg)
		return nil, nil, false
	}
	return &req, gens, true
}

// streamCompletion writes one chunk per token of choice index; the last carries the finish reason.
func streamCompletion(sse *sseWriter, body completionBody, index int, res genResult) {
	for j, tok := range res.tokens {
		c := completionChoice{Index: index, Text: tok.Text}
		if tok.Special {
			c.Text = ""
		}
		if j == len(res.tokens)-1 {
			fin := openAIFinish(res.finish)
			c.FinishReason = &fin
		}
		body.Choices = []completionChoice{c}
		sse.event("data: ", body)
	}
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	Name    *string         `json:"name"`
}

type chatRequest struct {
	openAIParams
	Messages       []chatMessage   `json:"messages"`
	Tools          json.RawMessage `json:"tools"`
	ToolChoice     json.RawMessage `json:"tool_choice"`
	ResponseFormat json.RawMessage `json:"response_format"`
}

// text returns a message's content, accepting a string or a list of {"type":"text","text":…} parts.
func (m *chatMessage) text() (string, bool) {
	if len(m.Content) == 0 || string(m.Content) == "null" {
		return "", true
	}
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s, true
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(m.Content, &parts) != nil {
		return "", false
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String(), true
}

// chatPrompt renders the conversation with a generic chat template.
func chatPrompt(msgs []chatMessage) (string, string) {
	var b strings.Builder
	for i, m := range msgs {
		text, ok := m.text()
		if !ok {
			return "", fmt.Sprintf("messages[%d].content must be a string or a list of content parts", i)
		}
		if m.Role == "" {
			return "", fmt.Sprintf("messages[%d].role is required", i)
		}
		fmt.Fprintf(&b, "<|%s|>\n%s\n", m.Role, text)
	}
	b.WriteString("<|assistant|>\n")
	return b.String(), ""
}

type chatDelta struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatLogprob struct {
	Token       string  `json:"token"`
	Logprob     float64 `json:"logprob"`
	TopLogprobs []any   `json:"top_logprobs"`
}

type chatLogprobs struct {
	Content []chatLogprob `json:"content"`
}

type chatChoice struct {
	Index        int           `json:"index"`
	Message      *chatDelta    `json:"message,omitempty"`
	Delta        *chatDelta    `json:"delta,omitempty"`
	Logprobs     *chatLogprobs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
}

type chatBody struct {
	Object            string       `json:"object"`
	ID                string       `json:"id"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint"`
	Choices           []chatChoice `json:"choices"`
	Usage             *usage       `json:"usage"`
}

func logprobsOf(tokens []genToken) *chatLogprobs {
	lp := &chatLogprobs{Content: []chatLogprob{}}
	for _, t := range tokens {
		lp.Content = append(lp.Content, chatLogprob{Token: t.Text, Logprob: t.Logprob, TopLogprobs: []any{}})
	}
	return lp
}

// v1ChatCompletions serves POST /v1/chat/completions like TGI's Messages API.
func v1ChatCompletions(e *Emulator, w http.ResponseWriter, r *http.Request, t *target) {
	var req chatRequest
	if !readJSONBody(w, r, &req) {
		return
	}
	if req.Messages == nil {
		writeRaw(w, http.StatusUnprocessableEntity, "text/plain; charset=utf-8",
			[]byte("Failed to deserialize the JSON body into the target type: missing field `messages` at line 1 column 1"))
		return
	}
	if len(req.Messages) == 0 {
		validationError(w, "`messages` cannot be empty")
		return
	}
	prompt, msg := chatPrompt(req.Messages)
	var g genRequest
	if msg == "" {
		g, msg = req.genRequest(prompt)
	}
	if msg != "" {
		validationError(w, msg)
		return
	}
	res := t.generate(g)
	body := chatBody{Object: "chat.completion", Created: time.Now().Unix(), Model: t.repo, SystemFingerprint: systemFingerprint}
	fin := openAIFinish(res.finish)
	if !req.Stream {
		c := chatChoice{Message: &chatDelta{Role: "assistant", Content: res.text}, FinishReason: &fin}
		if req.Logprobs {
			c.Logprobs = logprobsOf(res.tokens)
		}
		u := usageOf(res)
		body.Choices, body.Usage = []chatChoice{c}, &u
		writeJSON(w, http.StatusOK, body)
		return
	}
	streamChat(newSSE(w), body, res, req.Logprobs, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
}

// streamChat writes one chunk per token (role and content in every delta, like TGI), an optional
// usage chunk, then [DONE].
func streamChat(sse *sseWriter, body chatBody, res genResult, logprobs, includeUsage bool) {
	body.Object = "chat.completion.chunk"
	fin := openAIFinish(res.finish)
	for i, tok := range res.tokens {
		c := chatChoice{Delta: &chatDelta{Role: "assistant", Content: tok.Text}}
		if tok.Special {
			c.Delta.Content = ""
		}
		if logprobs {
			c.Logprobs = logprobsOf(res.tokens[i : i+1])
		}
		if i == len(res.tokens)-1 {
			c.FinishReason = &fin
		}
		chunk := body
		chunk.Choices = []chatChoice{c}
		sse.event("data: ", chunk)
	}
	if includeUsage {
		u := usageOf(res)
		body.Choices, body.Usage = []chatChoice{}, &u
		sse.event("data: ", body)
	}
	sse.raw("data: [DONE]")
}

// tgiInfo serves GET /info like TGI (limits are the emulator's), stating that it is an emulator.
func tgiInfo(t *target) map[string]any {
	return map[string]any{
		"model_id": t.repo, "model_sha": t.revision, "model_dtype": "emulated", "model_device_type": "emulated",
		"model_pipeline_tag": t.task, "max_concurrent_requests": 128, "max_best_of": maxBestOf,
		"max_stop_sequences": maxStopSequences, "max_input_tokens": maxInputTokens, "max_total_tokens": maxTotalTokens,
		"validation_workers": 2, "max_client_batch_size": 4, "router": "text-generation-router",
		"version": "0.0.0-emulated", "sha": nil, "docker_label": systemFingerprint,
	}
}
