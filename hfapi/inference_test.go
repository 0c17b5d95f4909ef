package hfapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dataPlane is a fake endpoint URL: it records requests and answers with a per-path handler.
type dataPlane struct {
	mu       sync.Mutex
	requests []recorded
	handle   func(w http.ResponseWriter, r *http.Request, n int)
	srv      *httptest.Server
}

type recorded struct {
	method, path string
	header       http.Header
	body         []byte
}

func newDataPlane(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int)) *dataPlane {
	d := &dataPlane{handle: handle}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		d.requests = append(d.requests, recorded{r.Method, r.URL.Path, r.Header.Clone(), b})
		n := len(d.requests)
		d.mu.Unlock()
		d.handle(w, r, n)
	}))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *dataPlane) all() []recorded {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]recorded(nil), d.requests...)
}

func (d *dataPlane) endpoint(state State) *Endpoint {
	return &Endpoint{Name: "ep", HealthRoute: "/health", Status: Status{State: state, URL: d.srv.URL}}
}

func answer(contentType string, body []byte) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", contentType)
		w.Write(body)
	}
}

func capturedTextGeneration(t *testing.T, key string) string {
	var all map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(fixture(t, "hfhub-captured-text-generation-requests.json"), &all))
	return string(all[key])
}

func TestTextGenerationWireFormat(t *testing.T) {
	d := newDataPlane(t, answer("application/json", fixtureBytes("tgi-compat-generate-response-details.json")))
	c, _ := newTestClient(t, d.srv)
	out, err := c.TextGeneration(t.Context(), d.endpoint(StateRunning),
		TextGenerationRequest{Inputs: "Hi", Parameters: TextGenerationParameters{MaxNewTokens: ptr(5)}}, CallOptions{})
	require.NoError(t, err)
	req := d.all()[0]
	assert.Equal(t, "POST", req.method)
	assert.Equal(t, "/", req.path)
	assert.JSONEq(t, capturedTextGeneration(t, "POST {url} (stream unset)"), string(req.body))
	assert.Equal(t, "Bearer "+testToken, req.header.Get("Authorization"))
	require.NotNil(t, out.Details)
	assert.Equal(t, "length", out.Details.FinishReason)
	assert.Equal(t, 1, out.Details.GeneratedTokens)
	require.Len(t, out.Details.Prefill, 1)
	assert.Nil(t, out.Details.Prefill[0].Logprob)

	_, err = c.TextGeneration(t.Context(), d.endpoint(StateRunning), TextGenerationRequest{Inputs: "x"}, CallOptions{})
	require.NoError(t, err)
	assert.JSONEq(t, `{"inputs":"x","parameters":{}}`, string(d.all()[1].body), "parameters is never null")
}

func TestTextGenerationResponseShapes(t *testing.T) {
	for file, want := range map[string]string{
		"tgi-compat-generate-response-nodetails.json": "",
		"toolkit-text-generation-response.json":       "I am at work",
		"tgi-compat-generate-response-best-of.json":   "5",
		"tgi-generate-response-details-snapshot.json": " for /api/v1/projects/1",
	} {
		t.Run(file, func(t *testing.T) {
			d := newDataPlane(t, answer("application/json", fixtureBytes(file)))
			c, _ := newTestClient(t, d.srv)
			out, err := c.TextGeneration(t.Context(), d.endpoint(StateRunning), TextGenerationRequest{Inputs: "Hi"}, CallOptions{})
			require.NoError(t, err)
			assert.Equal(t, want, out.GeneratedText)
		})
	}
}

func TestTextGenerationErrors(t *testing.T) {
	d := newDataPlane(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.WriteHeader(http.StatusUnprocessableEntity)
		w.Write(fixtureBytes("tgi-error-422-validation.json"))
	})
	c, _ := newTestClient(t, d.srv)
	_, err := c.TextGeneration(t.Context(), d.endpoint(StateRunning), TextGenerationRequest{Inputs: "Hi"}, CallOptions{})
	var apiErr *APIError
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, 422, apiErr.Status)
	assert.Contains(t, apiErr.Message, "must be <= 1512")
	assert.Len(t, d.all(), 1, "inference POSTs are not retried")

	_, err = c.TextGeneration(t.Context(), d.endpoint(StateRunning), TextGenerationRequest{}, CallOptions{})
	assert.ErrorContains(t, err, "inputs")
}

func TestTextGenerationStream(t *testing.T) {
	sse := "data:{\"index\":1,\"token\":{\"id\":1,\"text\":\"Hel\",\"logprob\":-0.1,\"special\":false},\"generated_text\":null,\"details\":null}\n\n" +
		"data:{\"index\":2,\"token\":{\"id\":2,\"text\":\"lo\",\"logprob\":-0.2,\"special\":false},\"generated_text\":null,\"details\":null}\n\n" +
		"data:{\"index\":3,\"token\":{\"id\":0,\"text\":\"</s>\",\"logprob\":0,\"special\":true},\"generated_text\":\"Hello\",\"details\":{\"finish_reason\":\"eos_token\",\"generated_tokens\":3,\"seed\":null}}\n\n"
	d := newDataPlane(t, answer("text/event-stream", []byte(sse)))
	c, _ := newTestClient(t, d.srv)
	var tokens []string
	out, err := c.TextGenerationStream(t.Context(), d.endpoint(StateRunning),
		TextGenerationRequest{Inputs: "Hi", Parameters: TextGenerationParameters{MaxNewTokens: ptr(2), Details: ptr(true)}},
		CallOptions{}, func(tok StreamToken) { tokens = append(tokens, tok.Token.Text) })
	require.NoError(t, err)
	assert.Equal(t, []string{"Hel", "lo", "</s>"}, tokens)
	assert.Equal(t, "Hello", out.GeneratedText)
	assert.Equal(t, "eos_token", out.Details.FinishReason)
	assert.JSONEq(t, capturedTextGeneration(t, "POST {url} (stream=True, details=True)"), string(d.all()[0].body))
	assert.Equal(t, "text/event-stream", d.all()[0].header.Get("Accept"))
}

func TestTextGenerationStreamFixtureAndErrors(t *testing.T) {
	d := newDataPlane(t, answer("text/event-stream", fixtureBytes("tgi-compat-generate-stream-with-details.sse.txt")))
	c, _ := newTestClient(t, d.srv)
	var n int
	out, err := c.TextGenerationStream(t.Context(), d.endpoint(StateRunning), TextGenerationRequest{Inputs: "Hi"}, CallOptions{},
		func(StreamToken) { n++ })
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, "", out.GeneratedText)
	assert.Equal(t, 1, out.Details.GeneratedTokens)

	bad := newDataPlane(t, answer("text/event-stream", []byte(
		"data:{\"index\":1,\"token\":{\"id\":1,\"text\":\"a\",\"special\":false}}\n\ndata:{\"error\":\"Request failed during generation\",\"error_type\":\"generation\"}\n\n")))
	c2, _ := newTestClient(t, bad.srv)
	_, err = c2.TextGenerationStream(t.Context(), bad.endpoint(StateRunning), TextGenerationRequest{Inputs: "Hi"}, CallOptions{}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Request failed during generation")
}

func TestChatCompletion(t *testing.T) {
	d := newDataPlane(t, answer("application/json", fixtureBytes("tgi-chat-completion-response.json")))
	c, _ := newTestClient(t, d.srv)
	out, err := c.ChatCompletion(t.Context(), d.endpoint(StateRunning), ChatCompletionRequest{
		Messages: []ChatMessage{{Role: "user", Content: "hi"}}, MaxTokens: ptr(3)}, CallOptions{})
	require.NoError(t, err)
	req := d.all()[0]
	assert.Equal(t, "/v1/chat/completions", req.path)
	assert.JSONEq(t, string(fixture(t, "hfhub-captured-chat-completion-request.json")), string(req.body))
	require.Len(t, out.Choices, 1)
	assert.True(t, strings.HasPrefix(out.Choices[0].Message.Content, "Deep learning"))
	assert.Equal(t, "stop", out.Choices[0].FinishReason)
	assert.Equal(t, 625, out.Usage.TotalTokens)

	ep := d.endpoint(StateRunning)
	ep.Status.URL += "/v1"
	_, err = c.ChatCompletion(t.Context(), ep, ChatCompletionRequest{Messages: []ChatMessage{{Role: "user", Content: "hi"}}}, CallOptions{})
	require.NoError(t, err)
	assert.Equal(t, "/v1/chat/completions", d.all()[1].path, "a URL ending in /v1 gets /chat/completions")

	_, err = c.ChatCompletion(t.Context(), ep, ChatCompletionRequest{}, CallOptions{})
	assert.ErrorContains(t, err, "messages")
}

func TestChatCompletionStream(t *testing.T) {
	d := newDataPlane(t, answer("text/event-stream", fixtureBytes("tgi-chat-completion-stream.sse.txt")))
	c, _ := newTestClient(t, d.srv)
	var deltas []string
	out, err := c.ChatCompletionStream(t.Context(), d.endpoint(StateRunning), ChatCompletionRequest{
		Messages: []ChatMessage{{Role: "user", Content: "What is deep learning?"}}, MaxTokens: ptr(20)}, CallOptions{},
		func(ch ChatCompletionChunk) { deltas = append(deltas, ch.Choices[0].Delta.Content) })
	require.NoError(t, err)
	req := d.all()[0]
	assert.Equal(t, "/v1/chat/completions", req.path)
	assert.Equal(t, "text/event-stream", req.header.Get("Accept"))
	var body map[string]any
	require.NoError(t, json.Unmarshal(req.body, &body))
	assert.Equal(t, true, body["stream"])
	assert.Len(t, deltas, 20, "one callback per chunk of the captured stream")
	require.Len(t, out.Choices, 1)
	assert.Equal(t, strings.Join(deltas, ""), out.Choices[0].Message.Content)
	assert.True(t, strings.HasPrefix(out.Choices[0].Message.Content, "Deep learning is a subset"))
	assert.Equal(t, "assistant", out.Choices[0].Message.Role)
	assert.Equal(t, "length", out.Choices[0].FinishReason)
	assert.Equal(t, "meta-llama/Llama-3.1-8B-Instruct", out.Model)
	assert.Equal(t, "chat.completion", out.Object)

	for name, tc := range map[string]struct{ sse, want string }{
		"TGI error event": {"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"error\":\"Request failed during generation\",\"error_type\":\"generation\"}\n\n",
			"Request failed during generation (generation)"},
		"OpenAI error object": {"data: {\"error\":{\"message\":\"context too long\",\"type\":\"invalid_request_error\"}}\n\n",
			"context too long (invalid_request_error)"},
		"not JSON":   {"data: {oops\n\n", "bad event"},
		"wild index": {"data: {\"choices\":[{\"index\":100000,\"delta\":{\"content\":\"a\"}}]}\n\n", "out of range"},
	} {
		t.Run(name, func(t *testing.T) {
			bad := newDataPlane(t, answer("text/event-stream", []byte(tc.sse)))
			c, _ := newTestClient(t, bad.srv)
			_, err := c.ChatCompletionStream(t.Context(), bad.endpoint(StateRunning),
				ChatCompletionRequest{Messages: []ChatMessage{{Role: "user", Content: "hi"}}}, CallOptions{}, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err = c.ChatCompletionStream(t.Context(), d.endpoint(StateRunning), ChatCompletionRequest{}, CallOptions{}, nil)
	assert.ErrorContains(t, err, "messages")
}

func TestFeatureExtractionShapes(t *testing.T) {
	cases := []struct {
		name      string
		body      []byte
		rows, dim int
	}{
		{"sentence-transformers flat", fixtureBytes("feature-extraction-sentence-transformers-minilm-response.json"), 1, 384},
		{"transformers per token", fixtureBytes("feature-extraction-transformers-bart-base-response.json"), 1, 768},
		{"tei matrix", []byte(`[[0.0,1.0,2.0],[3,4,5]]`), 2, 3},
		{"embeddings object", []byte(`{"embeddings":[[1,2],[3,4]]}`), 2, 2},
		{"embeddings object flat", []byte(`{"embeddings":[1,2,3,4]}`), 1, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newDataPlane(t, answer("application/json", tc.body))
			c, _ := newTestClient(t, d.srv)
			vecs, err := c.FeatureExtraction(t.Context(), d.endpoint(StateRunning),
				FeatureExtractionRequest{Inputs: []string{"hello"}, Normalize: ptr(true)}, CallOptions{})
			require.NoError(t, err)
			require.Len(t, vecs, tc.rows)
			assert.Len(t, vecs[0], tc.dim)
			var captured map[string]struct {
				Body json.RawMessage `json:"body"`
			}
			require.NoError(t, json.Unmarshal(fixture(t, "hfhub-captured-t2i-fe-requests.json"), &captured))
			assert.JSONEq(t, string(captured["feature_extraction"].Body), string(d.all()[0].body))
			assert.Equal(t, "*/*", d.all()[0].header.Get("Accept"))
		})
	}
	assert.Equal(t, []float32{2, 3}, meanPool([][]float32{{1, 2}, {3, 4}}))

	d := newDataPlane(t, answer("application/json", []byte(`{"nope":1}`)))
	c, _ := newTestClient(t, d.srv)
	_, err := c.FeatureExtraction(t.Context(), d.endpoint(StateRunning), FeatureExtractionRequest{Inputs: []string{"a", "b"}}, CallOptions{})
	assert.ErrorContains(t, err, "unexpected answer")
	assert.JSONEq(t, `{"inputs":["a","b"]}`, string(d.all()[0].body))
}

func TestTextToImage(t *testing.T) {
	jpeg := []byte{0xff, 0xd8, 0xff, 0xe0, 1, 2, 3}
	d := newDataPlane(t, answer("image/jpeg", jpeg))
	c, _ := newTestClient(t, d.srv)
	img, err := c.TextToImage(t.Context(), d.endpoint(StateRunning),
		TextToImageRequest{Inputs: "cat", Parameters: map[string]any{"num_inference_steps": 2}}, CallOptions{})
	require.NoError(t, err)
	assert.Equal(t, jpeg, img.Data)
	assert.Equal(t, "image/jpeg", img.MIMEType)
	req := d.all()[0]
	assert.Equal(t, "image/png", req.header.Get("Accept"))
	assert.Equal(t, "application/json", req.header.Get("Content-Type"))
	assert.JSONEq(t, `{"inputs":"cat","parameters":{"num_inference_steps":2}}`, string(req.body))

	txt := newDataPlane(t, answer("application/json", []byte(`{"x":1}`)))
	c2, _ := newTestClient(t, txt.srv)
	_, err = c2.TextToImage(t.Context(), txt.endpoint(StateRunning), TextToImageRequest{Inputs: "cat"}, CallOptions{})
	assert.ErrorContains(t, err, "expected an image")
}

func TestNotServableStates(t *testing.T) {
	d := newDataPlane(t, answer("application/json", []byte(`[{"generated_text":"x"}]`)))
	c, _ := newTestClient(t, d.srv)
	cases := []struct {
		ep   *Endpoint
		want string
	}{
		{d.endpoint(StatePaused), "resume_endpoint"},
		{d.endpoint(StatePending), "wait_for_endpoint"},
		{d.endpoint(StateInitializing), "wait_for_endpoint"},
		{&Endpoint{Name: "ep", Status: Status{State: StateRunning}}, "wait_for_endpoint"},
		{d.endpoint(StateFailed), "failed"},
		{nil, "fetch it with Get"},
	}
	for _, tc := range cases {
		_, err := c.TextGeneration(t.Context(), tc.ep, TextGenerationRequest{Inputs: "Hi"}, CallOptions{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
	}
	_, err := c.TextGeneration(t.Context(), d.endpoint(StatePaused), TextGenerationRequest{Inputs: "Hi"}, CallOptions{})
	var nr *NotReadyError
	require.True(t, errors.As(err, &nr))
	assert.Contains(t, err.Error(), "resume it first")
	assert.Empty(t, d.all(), "no request is sent to an endpoint that cannot serve")

	_, err = c.TextGeneration(t.Context(), d.endpoint(StateUpdating), TextGenerationRequest{Inputs: "Hi"}, CallOptions{})
	assert.NoError(t, err, "an updating endpoint keeps serving on its URL")
}

func TestColdStartWakesScaledToZero(t *testing.T) {
	d := newDataPlane(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":"no replica ready"}`))
			return
		}
		w.Write([]byte(`[{"generated_text":"awake"}]`))
	})
	c, clk := newTestClient(t, d.srv)
	var log progressLog
	out, err := c.TextGeneration(t.Context(), d.endpoint(StateScaledToZero), TextGenerationRequest{Inputs: "Hi"},
		CallOptions{OnProgress: log.add, ScaleUpTimeout: 2 * time.Minute})
	require.NoError(t, err)
	assert.Equal(t, "awake", out.GeneratedText)
	reqs := d.all()
	require.Len(t, reqs, 3)
	for _, r := range reqs {
		assert.Equal(t, "120", r.header.Get("X-Scale-Up-Timeout"))
	}
	require.Len(t, log.got, 3)
	assert.Contains(t, log.got[0].Message, "waking")
	assert.Equal(t, StateScaledToZero, log.got[0].State)
	assert.Len(t, clk.Sleeps(), 2)
}

func TestColdStartGivesUpAfterScaleUpTimeout(t *testing.T) {
	d := newDataPlane(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusServiceUnavailable) })
	c, _ := newTestClient(t, d.srv)
	_, err := c.TextGeneration(t.Context(), d.endpoint(StateScaledToZero), TextGenerationRequest{Inputs: "Hi"},
		CallOptions{ScaleUpTimeout: 10 * time.Second})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "did not wake")
	var apiErr *APIError
	assert.True(t, errors.As(err, &apiErr))
	assert.Greater(t, len(d.all()), 1)
	assert.Equal(t, "10", d.all()[0].header.Get("X-Scale-Up-Timeout"))
}

// TestRunningEndpointDoesNotRetryInferencePost: a 503 from an endpoint believed running is returned
// as is unless reading the endpoint again shows it has scaled to zero since (same URL): then the POST
// was not served and is sent again as a cold start.
func TestRunningEndpointDoesNotRetryInferencePost(t *testing.T) {
	for _, tc := range []struct {
		name       string
		state      State
		otherURL   bool
		apiStatus  int
		wantPosts  int
		wantWakeUp bool
	}{
		{name: "still running", state: StateRunning, wantPosts: 1},
		{name: "scaled to zero since", state: StateScaledToZero, wantPosts: 2, wantWakeUp: true},
		{name: "scaled to zero, another URL", state: StateScaledToZero, otherURL: true, wantPosts: 1},
		{name: "endpoint unreadable", apiStatus: http.StatusNotFound, wantPosts: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d *dataPlane
			d = newDataPlane(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				switch {
				case r.URL.Path == "/v2/endpoint/acme/ep" && tc.apiStatus != 0:
					w.WriteHeader(tc.apiStatus)
				case r.URL.Path == "/v2/endpoint/acme/ep":
					ep := d.endpoint(tc.state)
					if tc.otherURL {
						ep.Status.URL += "/elsewhere"
					}
					json.NewEncoder(w).Encode(ep)
				case r.Header.Get("X-Scale-Up-Timeout") != "":
					w.Write([]byte(`[{"generated_text":"awake"}]`))
				default:
					w.WriteHeader(http.StatusServiceUnavailable)
				}
			})
			c, _ := newTestClient(t, d.srv)
			out, err := c.TextGeneration(t.Context(), d.endpoint(StateRunning), TextGenerationRequest{Inputs: "Hi"}, CallOptions{})
			var posts []recorded
			for _, r := range d.all() {
				if r.method == http.MethodPost {
					posts = append(posts, r)
				}
			}
			require.Len(t, posts, tc.wantPosts)
			assert.Empty(t, posts[0].header.Get("X-Scale-Up-Timeout"))
			if tc.wantWakeUp {
				require.NoError(t, err)
				assert.Equal(t, "awake", out.GeneratedText)
				assert.NotEmpty(t, posts[1].header.Get("X-Scale-Up-Timeout"))
				return
			}
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, http.StatusServiceUnavailable, apiErr.Status, "the inference 503 is what is returned")
		})
	}
}

func TestCall(t *testing.T) {
	d := newDataPlane(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.Method == http.MethodGet && n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(fixtureBytes("tgi-info-response-docstring.json"))
	})
	c, _ := newTestClient(t, d.srv)
	resp, err := c.Call(t.Context(), d.endpoint(StateRunning), "get", "info", nil, CallOptions{})
	require.NoError(t, err)
	assert.Equal(t, 200, resp.Status)
	assert.Contains(t, string(resp.Body), "Meta-Llama-3-70B")
	assert.Len(t, d.all(), 2, "inference GETs retry like other reads")
	assert.Equal(t, "/info", d.all()[1].path)

	_, err = c.Call(t.Context(), d.endpoint(StateRunning), "POST", "/generate", json.RawMessage(`{"inputs":"x"}`), CallOptions{})
	require.NoError(t, err)
	assert.Equal(t, `{"inputs":"x"}`, string(d.all()[2].body))

	_, err = c.Call(t.Context(), d.endpoint(StateRunning), "DELETE", "/", nil, CallOptions{})
	assert.ErrorContains(t, err, "not allowed")
	assert.Len(t, d.all(), 3)
}

func TestColdStartHeartbeatsWhileRequestIsHeld(t *testing.T) {
	beat := make(chan struct{}, 1)
	d := newDataPlane(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		// Like the scale-up proxy, hold the request until the client has reported a heartbeat.
		select {
		case <-beat:
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		w.Write([]byte(`[{"generated_text":"ok"}]`))
	})
	c, _ := newTestClient(t, d.srv)
	c.heartbeat = 5 * time.Millisecond
	var log progressLog
	_, err := c.TextGeneration(t.Context(), d.endpoint(StateScaledToZero), TextGenerationRequest{Inputs: "Hi"},
		CallOptions{OnProgress: func(p Progress) {
			log.add(p)
			if p.Heartbeat {
				select {
				case beat <- struct{}{}:
				default:
				}
			}
		}})
	require.NoError(t, err)
	log.mu.Lock()
	defer log.mu.Unlock()
	require.GreaterOrEqual(t, len(log.got), 2)
	assert.False(t, log.got[0].Heartbeat)
	assert.True(t, log.got[1].Heartbeat)
	assert.Contains(t, log.got[1].Message, "waking")
}
