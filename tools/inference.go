package tools

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // decode the size of JPEG answers too
	_ "image/png"
	"strings"
	"time"

	"github.com/invopop/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// InferenceTools are the inference toolset: they run the model an endpoint
// serves. A scaled-to-zero endpoint is woken (cold start) and progress says so.
func InferenceTools() []Tool {
	return []Tool{textGeneration, chatCompletion, featureExtraction, textToImage, callEndpoint}
}

// inferenceHints: inference reads (no configuration changes) but its output is
// open-ended, and sampling makes repeats differ.
var inferenceHints = Hints{ReadOnly: true, Destructive: false, Idempotent: false, OpenWorld: true}

// servable fetches the endpoint and rejects states inference cannot wait out.
func servable(ctx context.Context, call *Call, t Target) (*hfapi.Endpoint, error) {
	ep, err := call.Client.Get(ctx, t.Namespace, t.EndpointName)
	if err != nil {
		return nil, err
	}
	switch ep.Status.State {
	case hfapi.StatePaused:
		return nil, errNext("call resume_endpoint (with wait: true), then retry",
			"endpoint %s is paused, so it cannot serve requests", ep.Name)
	case hfapi.StatePending, hfapi.StateInitializing, hfapi.StateUpdating:
		if ep.Status.URL == "" || ep.Status.State != hfapi.StateUpdating {
			return nil, errNext("call wait_for_endpoint, then retry",
				"endpoint %s is %s and not ready yet", ep.Name, ep.Status.State)
		}
	}
	return ep, nil
}

// inferenceOptions reports cold-start progress and keeps a heartbeat going
// while the endpoint wakes; stop must be called when the call returns. A
// scaled-to-zero endpoint whose hardware costs more than the ceiling is not
// woken (hfapi.WakeRefusedError): resume_endpoint asks for a confirmation.
func inferenceOptions(ctx context.Context, call *Call, t Target, ep *hfapi.Endpoint) (opts hfapi.CallOptions, stop func()) {
	opts.Namespace = t.Namespace
	opts.OnProgress = func(p hfapi.Progress) { call.Progress.Report(p.Message) }
	if ep.Status.State != hfapi.StateScaledToZero {
		return opts, func() {}
	}
	call.Progress.Report(fmt.Sprintf("%s is scaled to zero — a request wakes it (cold start)", ep.Name))
	return opts, call.Progress.Heartbeat(ctx, call.Heartbeat)
}

// TextGenerationInput is text_generation's input (TGI parameters).
type TextGenerationInput struct {
	Target
	Prompt            string   `json:"prompt"`
	MaxNewTokens      *int     `json:"max_new_tokens,omitempty" jsonschema:"minimum=1"`
	Temperature       *float64 `json:"temperature,omitempty" jsonschema:"minimum=0"`
	TopP              *float64 `json:"top_p,omitempty" jsonschema:"minimum=0,maximum=1"`
	TopK              *int     `json:"top_k,omitempty" jsonschema:"minimum=1"`
	RepetitionPenalty *float64 `json:"repetition_penalty,omitempty"`
	Stop              []string `json:"stop,omitempty"`
	Seed              *uint64  `json:"seed,omitempty"`
	DoSample          *bool    `json:"do_sample,omitempty"`
	ReturnFullText    *bool    `json:"return_full_text,omitempty"`
	Details           *bool    `json:"details,omitempty" jsonschema_description:"Include finish reason and token count."`
	Stream            bool     `json:"stream,omitempty" jsonschema_description:"Stream; the text so far arrives as progress."`
}

func (in TextGenerationInput) request() hfapi.TextGenerationRequest {
	return hfapi.TextGenerationRequest{Inputs: in.Prompt, Parameters: hfapi.TextGenerationParameters{
		MaxNewTokens: in.MaxNewTokens, Temperature: in.Temperature, TopP: in.TopP, TopK: in.TopK,
		RepetitionPenalty: in.RepetitionPenalty, Stop: in.Stop, Seed: in.Seed, DoSample: in.DoSample,
		ReturnFullText: in.ReturnFullText, Details: in.Details,
	}}
}

// TextGenerationResult is the generated text.
type TextGenerationResult struct {
	GeneratedText   string `json:"generated_text"`
	FinishReason    string `json:"finish_reason,omitempty"`
	GeneratedTokens *int   `json:"generated_tokens,omitempty"`
}

// Summary is the generated text itself.
func (r TextGenerationResult) Summary() string { return r.GeneratedText }

// Streamed generation progress: the text so far, bounded, at a bounded rate.
const (
	streamPreview     = 2000
	streamReportEvery = 100 * time.Millisecond
)

var textGeneration = Tool{
	Name:  "text_generation",
	Title: "Generate text",
	Description: `Complete a prompt with the text-generation model an endpoint serves (wakes it if scaled to zero). ` +
		`Example: {"endpoint_name": "my-gpt2", "prompt": "The capital of France is", "max_new_tokens": 20}`,
	Toolset: Inference,
	Hints:   inferenceHints,
	Handler: Handle(func(ctx context.Context, call *Call, in TextGenerationInput) (TextGenerationResult, error) {
		ep, err := servable(ctx, call, in.Target)
		if err != nil {
			return TextGenerationResult{}, err
		}
		opts, stop := inferenceOptions(ctx, call, in.Target, ep)
		defer stop()
		var resp *hfapi.TextGenerationResponse
		if in.Stream {
			sp := &streamProgress{call: call}
			resp, err = call.Client.TextGenerationStream(ctx, ep, in.request(), opts, func(tok hfapi.StreamToken) {
				if !tok.Token.Special {
					sp.add(tok.Token.Text)
				}
			})
			if err == nil {
				sp.done()
			}
		} else {
			resp, err = call.Client.TextGeneration(ctx, ep, in.request(), opts)
		}
		if err != nil {
			return TextGenerationResult{}, err
		}
		out := TextGenerationResult{GeneratedText: resp.GeneratedText}
		if resp.Details != nil {
			out.FinishReason = resp.Details.FinishReason
			out.GeneratedTokens = ptrTo(resp.Details.GeneratedTokens)
		}
		return out, nil
	}),
}

// streamProgress reports streamed text as progress: the first piece at once,
// then at most one message per streamReportEvery, each carrying (the end of)
// all the text so far.
type streamProgress struct {
	call  *Call
	soFar strings.Builder
	last  time.Time
}

func (s *streamProgress) add(text string) {
	s.soFar.WriteString(text)
	if now := time.Now(); s.last.IsZero() || now.Sub(s.last) >= streamReportEvery {
		s.last = now
		s.call.Progress.Report(tail(s.soFar.String(), streamPreview))
	}
}

// done reports the whole text, last.
func (s *streamProgress) done() { s.call.Progress.Report(tail(s.soFar.String(), streamPreview)) }

// tail keeps the last n bytes of s (on a rune boundary), marking the cut.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := len(s) - n
	for cut < len(s) && !isRuneStart(s[cut]) {
		cut++
	}
	return "…" + s[cut:]
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// ChatMessage is one message of a conversation.
type ChatMessage struct {
	Role    string `json:"role" jsonschema:"enum=system,enum=user,enum=assistant"`
	Content string `json:"content"`
}

// ChatInput is chat_completion's input (OpenAI-style).
type ChatInput struct {
	Target
	Messages    []ChatMessage `json:"messages" jsonschema:"minItems=1"`
	MaxTokens   *int          `json:"max_tokens,omitempty" jsonschema:"minimum=1"`
	Temperature *float64      `json:"temperature,omitempty" jsonschema:"minimum=0"`
	TopP        *float64      `json:"top_p,omitempty" jsonschema:"minimum=0,maximum=1"`
	Stop        []string      `json:"stop,omitempty"`
	Seed        *uint64       `json:"seed,omitempty"`
	Stream      bool          `json:"stream,omitempty" jsonschema_description:"Stream; the reply so far arrives as progress."`
}

// ChatResult is the assistant's reply.
type ChatResult struct {
	Role             string `json:"role"`
	Content          string `json:"content"`
	FinishReason     string `json:"finish_reason,omitempty"`
	PromptTokens     int    `json:"prompt_tokens,omitempty"`
	CompletionTokens int    `json:"completion_tokens,omitempty"`
}

// Summary is the reply itself.
func (r ChatResult) Summary() string { return r.Content }

var chatCompletion = Tool{
	Name:  "chat_completion",
	Title: "Chat completion",
	Description: `Send a conversation to a chat model on an endpoint (OpenAI-compatible route; wakes it if scaled to zero). ` +
		`Example: {"endpoint_name": "my-llama", "messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 50}`,
	Toolset: Inference,
	Hints:   inferenceHints,
	Handler: Handle(func(ctx context.Context, call *Call, in ChatInput) (ChatResult, error) {
		ep, err := servable(ctx, call, in.Target)
		if err != nil {
			return ChatResult{}, err
		}
		opts, stop := inferenceOptions(ctx, call, in.Target, ep)
		defer stop()
		req := hfapi.ChatCompletionRequest{MaxTokens: in.MaxTokens, Temperature: in.Temperature, TopP: in.TopP,
			Stop: in.Stop, Seed: in.Seed}
		for _, m := range in.Messages {
			req.Messages = append(req.Messages, hfapi.ChatMessage{Role: m.Role, Content: m.Content})
		}
		var resp *hfapi.ChatCompletionResponse
		if in.Stream {
			sp := &streamProgress{call: call}
			resp, err = call.Client.ChatCompletionStream(ctx, ep, req, opts, func(ch hfapi.ChatCompletionChunk) {
				for _, c := range ch.Choices {
					if c.Index == 0 && c.Delta.Content != "" {
						sp.add(c.Delta.Content)
					}
				}
			})
			if err == nil {
				sp.done()
			}
		} else {
			resp, err = call.Client.ChatCompletion(ctx, ep, req, opts)
		}
		if err != nil {
			return ChatResult{}, err
		}
		if len(resp.Choices) == 0 {
			return ChatResult{}, fmt.Errorf("chat completion on %s returned no choices", ep.Name)
		}
		choice := resp.Choices[0]
		out := ChatResult{Role: choice.Message.Role, Content: choice.Message.Content, FinishReason: choice.FinishReason}
		if resp.Usage != nil {
			out.PromptTokens, out.CompletionTokens = resp.Usage.PromptTokens, resp.Usage.CompletionTokens
		}
		return out, nil
	}),
}

// Texts is one text or a list of texts.
type Texts []string

// UnmarshalJSON accepts "text" or ["a", "b"].
func (t *Texts) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*t = Texts{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New(`inputs must be a string or an array of strings, e.g. "hello" or ["a", "b"]`)
	}
	*t = many
	return nil
}

// JSONSchema describes the two accepted shapes.
func (Texts) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{
		{Type: "string"},
		{Type: "array", Items: &jsonschema.Schema{Type: "string"}, MinItems: ptrTo(uint64(1))},
	}}
}

// FeatureExtractionInput is feature_extraction's input.
type FeatureExtractionInput struct {
	Target
	Inputs    Texts `json:"inputs" jsonschema_description:"A text or a list of texts."`
	Normalize *bool `json:"normalize,omitempty"`
	Truncate  *bool `json:"truncate,omitempty" jsonschema_description:"Cut inputs longer than the model's limit."`
}

// EmbeddingsResult holds one vector per input.
type EmbeddingsResult struct {
	Count      int         `json:"count"`
	Dimensions int         `json:"dimensions"`
	Embeddings [][]float32 `json:"embeddings"`
}

// Summary gives the shape and the start of the first vector.
func (r EmbeddingsResult) Summary() string {
	s := fmt.Sprintf("%d embedding(s) of %d dimensions", r.Count, r.Dimensions)
	if r.Count > 0 && r.Dimensions > 0 {
		first := r.Embeddings[0][:min(4, len(r.Embeddings[0]))]
		s += fmt.Sprintf("; first starts %v…", first)
	}
	return s
}

var featureExtraction = Tool{
	Name:  "feature_extraction",
	Title: "Embed texts",
	Description: `Embed texts with the embedding model an endpoint serves, one vector per text (wakes it if scaled to zero). ` +
		`Example: {"endpoint_name": "my-minilm", "inputs": ["first text", "second text"], "normalize": true}`,
	Toolset: Inference,
	Hints:   inferenceHints,
	Handler: Handle(func(ctx context.Context, call *Call, in FeatureExtractionInput) (EmbeddingsResult, error) {
		ep, err := servable(ctx, call, in.Target)
		if err != nil {
			return EmbeddingsResult{}, err
		}
		opts, stop := inferenceOptions(ctx, call, in.Target, ep)
		defer stop()
		vecs, err := call.Client.FeatureExtraction(ctx, ep, hfapi.FeatureExtractionRequest{
			Inputs: in.Inputs, Normalize: in.Normalize, Truncate: in.Truncate}, opts)
		if err != nil {
			return EmbeddingsResult{}, err
		}
		out := EmbeddingsResult{Count: len(vecs), Embeddings: vecs}
		if len(vecs) > 0 {
			out.Dimensions = len(vecs[0])
		}
		return out, nil
	}),
}

// TextToImageInput is text_to_image's input (diffusers parameters).
type TextToImageInput struct {
	Target
	Prompt            string   `json:"prompt"`
	NegativePrompt    string   `json:"negative_prompt,omitempty"`
	Width             *int     `json:"width,omitempty" jsonschema:"minimum=64,maximum=2048"`
	Height            *int     `json:"height,omitempty" jsonschema:"minimum=64,maximum=2048"`
	NumInferenceSteps *int     `json:"num_inference_steps,omitempty" jsonschema:"minimum=1"`
	GuidanceScale     *float64 `json:"guidance_scale,omitempty"`
	Seed              *uint64  `json:"seed,omitempty"`
}

func (in TextToImageInput) request() hfapi.TextToImageRequest {
	params := map[string]any{}
	if in.NegativePrompt != "" {
		params["negative_prompt"] = in.NegativePrompt
	}
	for key, v := range map[string]*int{"width": in.Width, "height": in.Height, "num_inference_steps": in.NumInferenceSteps} {
		if v != nil {
			params[key] = *v
		}
	}
	if in.GuidanceScale != nil {
		params["guidance_scale"] = *in.GuidanceScale
	}
	if in.Seed != nil {
		params["seed"] = *in.Seed
	}
	return hfapi.TextToImageRequest{Inputs: in.Prompt, Parameters: params}
}

// ImageResult describes the generated image; the image itself is content.
type ImageResult struct {
	MIMEType string `json:"mime_type"`
	Bytes    int    `json:"bytes"`
	Width    int    `json:"width,omitempty"`
	Height   int    `json:"height,omitempty"`
	Prompt   string `json:"prompt"`
	data     []byte
}

// Summary describes the image.
func (r ImageResult) Summary() string {
	size := ""
	if r.Width > 0 {
		size = fmt.Sprintf("%d×%d ", r.Width, r.Height)
	}
	return fmt.Sprintf("generated a %s%s image (%d bytes) for %q", size, r.MIMEType, r.Bytes, r.Prompt)
}

// Content is the image, base64-encoded as MCP image content.
func (r ImageResult) Content() []mcp.Content {
	return []mcp.Content{mcp.NewImageContent(base64.StdEncoding.EncodeToString(r.data), r.MIMEType)}
}

var textToImage = Tool{
	Name:  "text_to_image",
	Title: "Generate image",
	Description: `Generate an image from a prompt with the diffusion model an endpoint serves (wakes it if scaled to zero). ` +
		`Example: {"endpoint_name": "my-sdxl", "prompt": "a lighthouse at dawn", "width": 512, "height": 512}`,
	Toolset: Inference,
	Hints:   inferenceHints,
	Handler: Handle(func(ctx context.Context, call *Call, in TextToImageInput) (ImageResult, error) {
		ep, err := servable(ctx, call, in.Target)
		if err != nil {
			return ImageResult{}, err
		}
		opts, stop := inferenceOptions(ctx, call, in.Target, ep)
		defer stop()
		img, err := call.Client.TextToImage(ctx, ep, in.request(), opts)
		if err != nil {
			return ImageResult{}, err
		}
		out := ImageResult{MIMEType: img.MIMEType, Bytes: len(img.Data), Prompt: in.Prompt, data: img.Data}
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(img.Data)); err == nil {
			out.Width, out.Height = cfg.Width, cfg.Height
		}
		return out, nil
	}),
}
