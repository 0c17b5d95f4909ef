package emulator

import (
	"bufio"
	"bytes"
	"encoding/json"
	"image/jpeg"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// textEndpoint starts an emulator with a running text-generation endpoint and returns its URL.
func textEndpoint(t *testing.T) (*Server, *client, string) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	return s, c, urlOf(c.running("emulator-user", "llm"))
}

func decodeList(t *testing.T, data []byte) []map[string]any {
	var out []map[string]any
	require.NoError(t, json.Unmarshal(data, &out), "%s", data)
	return out
}

func TestTextGenerationIsDeterministicAndHonoursParameters(t *testing.T) {
	_, c, url := textEndpoint(t)
	gen := func(params map[string]any) map[string]any {
		t.Helper()
		resp, data := c.do("POST", url, map[string]any{"inputs": "Tell me about endpoints", "parameters": params})
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", data)
		out := decodeList(t, data)
		require.Len(t, out, 1)
		return out[0]
	}
	a := gen(map[string]any{"max_new_tokens": 8, "details": true})
	b := gen(map[string]any{"max_new_tokens": 8, "details": true})
	assert.Equal(t, a, b, "same request, same answer")
	assert.EqualValues(t, 8, dig(a, "details", "generated_tokens"))
	assert.Equal(t, "length", dig(a, "details", "finish_reason"))
	assert.Nil(t, dig(a, "details", "seed"), "greedy decoding reports no seed")
	assert.Equal(t, []any{}, dig(a, "details", "prefill"))
	tokens := dig(a, "details", "tokens").([]any)
	require.Len(t, tokens, 8)
	var joined strings.Builder
	for _, tk := range tokens {
		m := tk.(map[string]any)
		assert.Contains(t, m, "id")
		assert.Less(t, m["logprob"].(float64), 0.0)
		assert.Equal(t, false, m["special"])
		joined.WriteString(m["text"].(string))
	}
	assert.Equal(t, joined.String(), a["generated_text"])

	longer := gen(map[string]any{"max_new_tokens": 12})
	assert.True(t, strings.HasPrefix(longer["generated_text"].(string), a["generated_text"].(string)), "more tokens extend the same text")
	assert.NotContains(t, longer, "details")

	s1 := gen(map[string]any{"max_new_tokens": 8, "do_sample": true, "seed": 1, "details": true})
	s1b := gen(map[string]any{"max_new_tokens": 8, "do_sample": true, "seed": 1, "details": true})
	s2 := gen(map[string]any{"max_new_tokens": 8, "do_sample": true, "seed": 2, "details": true})
	assert.Equal(t, s1, s1b, "same seed, same text")
	assert.NotEqual(t, s1["generated_text"], s2["generated_text"], "another seed, another text")
	assert.EqualValues(t, 1, dig(s1, "details", "seed"))

	full := gen(map[string]any{"max_new_tokens": 8, "return_full_text": true})
	assert.Equal(t, "Tell me about endpoints"+a["generated_text"].(string), full["generated_text"])

	// A stop sequence taken from the third token ends generation there, and is kept.
	stop := tokens[2].(map[string]any)["text"].(string)
	st := gen(map[string]any{"max_new_tokens": 8, "stop": []string{stop}, "details": true})
	assert.Equal(t, "stop_sequence", dig(st, "details", "finish_reason"))
	assert.True(t, strings.HasSuffix(st["generated_text"].(string), stop))
	assert.LessOrEqual(t, dig(st, "details", "generated_tokens").(float64), 3.0)

	pre := gen(map[string]any{"max_new_tokens": 2, "decoder_input_details": true})
	prefill := dig(pre, "details", "prefill").([]any)
	require.Len(t, prefill, 4)
	assert.Nil(t, prefill[0].(map[string]any)["logprob"])
	assert.Equal(t, "Tell", prefill[0].(map[string]any)["text"])

	def := gen(map[string]any{"details": true})
	assert.EqualValues(t, defaultMaxNewTokens, dig(def, "details", "generated_tokens"))

	best := gen(map[string]any{"max_new_tokens": 3, "best_of": 2, "do_sample": true, "details": true})
	assert.Len(t, dig(best, "details", "best_of_sequences"), 1)
}

func TestTextGenerationCanEndWithEOS(t *testing.T) {
	_, c, url := textEndpoint(t)
	seen := false
	for i := 0; i < 20 && !seen; i++ {
		resp, data := c.do("POST", url+"/generate", map[string]any{"inputs": "prompt " + strings.Repeat("x", i), "parameters": map[string]any{"max_new_tokens": 200, "details": true}})
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var out map[string]any
		require.NoError(t, json.Unmarshal(data, &out))
		if dig(out, "details", "finish_reason") == "eos_token" {
			seen = true
			toks := dig(out, "details", "tokens").([]any)
			last := toks[len(toks)-1].(map[string]any)
			assert.Equal(t, true, last["special"])
			assert.NotContains(t, out["generated_text"], eosText, "special tokens are not in the text")
		}
	}
	assert.True(t, seen, "long generations end with the EOS token for some prompts")
}

func TestGenerateReturnsObjectAndValidates(t *testing.T) {
	_, c, url := textEndpoint(t)
	resp, data := c.do("POST", url+"/generate", map[string]any{"inputs": "Hi", "parameters": map[string]any{"max_new_tokens": 2}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var obj map[string]any
	require.NoError(t, json.Unmarshal(data, &obj))
	assert.Contains(t, obj, "generated_text")

	cases := []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"max_new_tokens": 10000}, "`inputs` tokens + `max_new_tokens` must be <= 4096. Given: 1 `inputs` tokens and 10000 `max_new_tokens`"},
		{map[string]any{"max_new_tokens": 0}, "`max_new_tokens` must be strictly positive"},
		{map[string]any{"temperature": 0}, "`temperature` must be strictly positive"},
		{map[string]any{"top_p": 1.0}, "`top_p` must be > 0.0 and < 1.0"},
		{map[string]any{"top_k": 0}, "`top_k` must be strictly positive"},
		{map[string]any{"repetition_penalty": 0}, "`repetition_penalty` must be strictly positive"},
		{map[string]any{"stop": []string{"a", "b", "c", "d", "e"}}, "`stop` supports up to 4 stop sequences. Given: 5"},
		{map[string]any{"best_of": 2}, "you must use sampling when `best_of` is > 1"},
		{map[string]any{"best_of": 3, "do_sample": true}, "`best_of` must be > 0 and <= 2. Given: 3"},
		{map[string]any{"top_n_tokens": 9}, "`top_n_tokens` must be >= 0 and <= 5. Given: 9"},
	}
	for _, tc := range cases {
		resp, data := c.do("POST", url+"/generate", map[string]any{"inputs": "Hi", "parameters": tc.params})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%v: %s", tc.params, data)
		var e map[string]string
		require.NoError(t, json.Unmarshal(data, &e))
		assert.Equal(t, "validation", e["error_type"])
		assert.Equal(t, "Input validation error: "+tc.want, e["error"])
	}
	resp, data = c.do("POST", url, map[string]any{"inputs": ""})
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, string(data), "`inputs` cannot be empty")

	// Malformed JSON and wrong types: 422 text/plain, like TGI's extractor.
	resp, data = c.do("POST", url, `{"inputs": {"a": 1}}`)
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, string(data), "Failed to deserialize the JSON body into the target type: inputs: invalid type: map, expected a string")
	resp, data = c.do("POST", url+"/generate", `{"inputs": "x", "parameters": {"max_new_tokens": "five"}}`)
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, string(data), "parameters.max_new_tokens: invalid type: string")
	resp, data = c.do("POST", url, `{"inputs": `)
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, string(data), "Failed to parse the request body as JSON")
	resp, data = c.do("POST", url, `{"parameters": {}}`)
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, string(data), "missing field `inputs`")
	resp, _ = c.do("POST", url, `{"inputs":"x"}`, "Content-Type", "text/plain")
	assert.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
}

// sseEvents splits an event stream into its data payloads.
func sseEvents(t *testing.T, data []byte, prefix string) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		require.True(t, strings.HasPrefix(line, prefix), "line %q lacks %q", line, prefix)
		out = append(out, strings.TrimPrefix(line, prefix))
	}
	return out
}

func TestGenerateStreamIsTGIServerSentEvents(t *testing.T) {
	_, c, url := textEndpoint(t)
	for _, tc := range []struct {
		path string
		body map[string]any
	}{
		{url, map[string]any{"inputs": "Hi", "parameters": map[string]any{"max_new_tokens": 3, "details": true}, "stream": true}},
		{url + "/generate_stream", map[string]any{"inputs": "Hi", "parameters": map[string]any{"max_new_tokens": 3, "details": true}}},
	} {
		resp, data := c.do("POST", tc.path, tc.body)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", data)
		assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
		events := sseEvents(t, data, "data:")
		require.Len(t, events, 3, "one event per token, no [DONE]")
		var text strings.Builder
		for i, ev := range events {
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(ev), &m))
			assert.EqualValues(t, i+1, m["index"])
			text.WriteString(dig(m, "token", "text").(string))
			if i < 2 {
				assert.Nil(t, m["generated_text"])
				assert.Nil(t, m["details"])
			} else {
				assert.Equal(t, text.String(), m["generated_text"])
				assert.Equal(t, "length", dig(m, "details", "finish_reason"))
				assert.EqualValues(t, 3, dig(m, "details", "generated_tokens"))
				assert.EqualValues(t, 1, dig(m, "details", "input_length"))
			}
		}
		// The streamed text is the non-streamed text.
		_, plain := c.do("POST", url, map[string]any{"inputs": "Hi", "parameters": map[string]any{"max_new_tokens": 3}})
		assert.Equal(t, text.String(), decodeList(t, plain)[0]["generated_text"])
	}
}

func TestChatCompletionsLikeTGI(t *testing.T) {
	_, c, url := textEndpoint(t)
	req := map[string]any{"model": "dummy", "messages": []any{map[string]any{"role": "user", "content": "hi"}}, "max_tokens": 3, "stream": false, "seed": 7}
	code, m := c.obj("POST", url+"/v1/chat/completions", req)
	require.Equal(t, http.StatusOK, code, "%v", m)
	assert.Equal(t, "chat.completion", m["object"])
	assert.Equal(t, "gpt2", m["model"])
	assert.Equal(t, systemFingerprint, m["system_fingerprint"])
	choice := m["choices"].([]any)[0].(map[string]any)
	assert.Equal(t, "assistant", dig(choice, "message", "role"))
	content := dig(choice, "message", "content").(string)
	assert.NotEmpty(t, content)
	assert.Equal(t, "length", choice["finish_reason"])
	assert.Contains(t, choice, "logprobs")
	assert.EqualValues(t, 3, dig(m, "usage", "completion_tokens"))
	assert.EqualValues(t, dig(m, "usage", "prompt_tokens").(float64)+3, dig(m, "usage", "total_tokens"))

	req["stream"] = true
	resp, data := c.do("POST", url+"/v1/chat/completions", req)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	events := sseEvents(t, data, "data: ")
	require.Len(t, events, 4)
	assert.Equal(t, "[DONE]", events[3])
	var streamed strings.Builder
	for i, ev := range events[:3] {
		var ch map[string]any
		require.NoError(t, json.Unmarshal([]byte(ev), &ch))
		assert.Equal(t, "chat.completion.chunk", ch["object"])
		assert.Contains(t, ch, "usage")
		c0 := ch["choices"].([]any)[0].(map[string]any)
		streamed.WriteString(dig(c0, "delta", "content").(string))
		if i == 2 {
			assert.Equal(t, "length", c0["finish_reason"])
		} else {
			assert.Nil(t, c0["finish_reason"])
		}
	}
	assert.Equal(t, content, streamed.String(), "stream and non-stream agree for a seed")

	req["stream_options"] = map[string]any{"include_usage": true}
	_, data = c.do("POST", url+"/v1/chat/completions", req)
	events = sseEvents(t, data, "data: ")
	require.Len(t, events, 5)
	assert.Contains(t, events[3], `"completion_tokens":3`)

	code, m = c.obj("POST", url+"/v1/chat/completions", map[string]any{"messages": []any{}})
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Equal(t, "validation", m["error_type"])
	parts := map[string]any{"messages": []any{map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": "hi"}}}}, "max_tokens": 2}
	code, _ = c.obj("POST", url+"/v1/chat/completions", parts)
	assert.Equal(t, http.StatusOK, code, "content parts are accepted")
}

func TestCompletionsLikeTGI(t *testing.T) {
	_, c, url := textEndpoint(t)
	code, m := c.obj("POST", url+"/v1/completions", map[string]any{"model": url, "prompt": "Deep learning is", "max_tokens": 5, "temperature": 0})
	require.Equal(t, http.StatusOK, code, "%v", m)
	assert.Equal(t, "text_completion", m["object"])
	assert.Equal(t, "", m["id"])
	ch := m["choices"].([]any)[0].(map[string]any)
	assert.Equal(t, "length", ch["finish_reason"])
	assert.Nil(t, ch["logprobs"])
	assert.EqualValues(t, 5, dig(m, "usage", "completion_tokens"))
	// temperature 0 is greedy: the same text as TGI's POST / .
	_, plain := c.do("POST", url, map[string]any{"inputs": "Deep learning is", "parameters": map[string]any{"max_new_tokens": 5}})
	assert.Equal(t, decodeList(t, plain)[0]["generated_text"], ch["text"])

	resp, data := c.do("POST", url+"/v1/completions", map[string]any{"prompt": "Deep learning is", "max_tokens": 4, "stream": true})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	events := sseEvents(t, data, "data: ")
	require.Len(t, events, 5)
	assert.Equal(t, "[DONE]", events[4])
	assert.Contains(t, events[3], `"finish_reason":"length"`)

	code, m = c.obj("POST", url+"/v1/completions", map[string]any{"prompt": []string{"a", "b"}, "max_tokens": 2})
	require.Equal(t, http.StatusOK, code)
	assert.Len(t, m["choices"], 2)
	resp, data = c.do("POST", url+"/v1/completions", map[string]any{"max_tokens": 2})
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, string(data), "missing field `prompt`")
}

func TestInfoAndHealth(t *testing.T) {
	_, c, url := textEndpoint(t)
	code, info := c.obj("GET", url+"/info", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "gpt2", info["model_id"])
	assert.EqualValues(t, maxInputTokens, info["max_input_tokens"])
	assert.EqualValues(t, maxTotalTokens, info["max_total_tokens"])
	assert.Contains(t, info["version"], "emulated")
	resp, data := c.do("GET", url+"/health", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, data)
	resp, _ = c.do("GET", url+"/nope", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = c.do("POST", url+"/embed", map[string]any{"inputs": "x"})
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "a TGI endpoint has no /embed")
	resp, _ = c.do("GET", c.base+"/e/aaaaaaaaaaaaaaaa/health", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestCustomHealthRoute(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	ep := c.running("emulator-user", "custom", map[string]any{"model": map[string]any{"image": map[string]any{"custom": map[string]any{"url": "me/img:1", "healthRoute": "/ping", "port": 8080}}}})
	assert.Equal(t, "/ping", ep["healthRoute"])
	resp, _ := c.do("GET", urlOf(ep)+"/ping", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestEmbeddingsSimilarity(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	url := urlOf(c.running("emulator-user", "emb", map[string]any{"model": map[string]any{"repository": "sentence-transformers/all-MiniLM-L6-v2", "task": "feature-extraction", "image": map[string]any{"tei": map[string]any{"url": "tei:1"}}}}))
	embedAll := func(path string, inputs any) [][]float64 {
		t.Helper()
		resp, data := c.do("POST", url+path, map[string]any{"inputs": inputs})
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", data)
		var out [][]float64
		require.NoError(t, json.Unmarshal(data, &out), "%s", data)
		return out
	}
	one := embedAll("", "hello")
	require.Len(t, one, 1, "TEI answers [[f…]] even for one string")
	require.Len(t, one[0], embedDims)
	vs := embedAll("/embed", []string{"the cat sat on the mat", "the cat sat on the mat", "a cat sat on a rug", "quantum chromodynamics lecture notes"})
	cos := func(a, b []float64) float64 {
		var d float64
		for i := range a {
			d += a[i] * b[i]
		}
		return d
	}
	assert.InDelta(t, 1.0, cos(vs[0], vs[0]), 1e-5, "normalized by default")
	assert.InDelta(t, 1.0, cos(vs[0], vs[1]), 1e-5, "identical texts")
	assert.Greater(t, cos(vs[0], vs[2]), cos(vs[0], vs[3])+0.2, "shared words make texts closer")

	resp, data := c.do("POST", url, map[string]any{"inputs": "hello", "normalize": false})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var raw [][]float64
	require.NoError(t, json.Unmarshal(data, &raw))
	assert.Greater(t, cos(raw[0], raw[0]), 1.01, "normalize=false leaves the raw vector")

	resp, data = c.do("POST", url, map[string]any{"inputs": []string{}})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, string(data), `"error_type":"empty"`)
	resp, _ = c.do("POST", url, map[string]any{"inputs": 3})
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	resp, _ = c.do("POST", url, map[string]any{"inputs": "x", "dimensions": 1000})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	short := func() int {
		_, data := c.do("POST", url, map[string]any{"inputs": "x", "dimensions": 64})
		var out [][]float64
		require.NoError(t, json.Unmarshal(data, &out))
		return len(out[0])
	}()
	assert.Equal(t, 64, short)

	code, m := c.obj("POST", url+"/v1/embeddings", map[string]any{"input": []string{"a", "b"}, "model": "x"})
	require.Equal(t, http.StatusOK, code)
	assert.Len(t, m["data"], 2)
	code, _ = c.obj("POST", url+"/generate", map[string]any{"inputs": "x"})
	assert.Equal(t, http.StatusNotFound, code)
}

func TestSentenceSimilarityAndToolkitEmbeddings(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	sim := urlOf(c.running("emulator-user", "sim", map[string]any{"model": map[string]any{"repository": "sentence-transformers/all-MiniLM-L6-v2", "task": "sentence-similarity"}}))
	resp, data := c.do("POST", sim, map[string]any{"inputs": map[string]any{"source_sentence": "the cat sat", "sentences": []string{"the cat sat", "a dog ran far away"}}})
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", data)
	var scores []float64
	require.NoError(t, json.Unmarshal(data, &scores))
	require.Len(t, scores, 2)
	assert.InDelta(t, 1.0, scores[0], 1e-6)
	assert.Less(t, scores[1], scores[0])

	se := urlOf(c.running("emulator-user", "se", map[string]any{"model": map[string]any{"repository": "sentence-transformers/all-MiniLM-L6-v2", "task": "sentence-embeddings"}}))
	resp, data = c.do("POST", se, map[string]any{"inputs": "Hi, who are you?"})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var flat []float64
	require.NoError(t, json.Unmarshal(data, &flat), "toolkit sentence-embeddings answers a flat vector")
	assert.Len(t, flat, embedDims)
}

func TestTextToImageReturnsRealPNG(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	url := urlOf(c.running("emulator-user", "t2i", map[string]any{"compute": map[string]any{"accelerator": "gpu", "instanceType": "nvidia-l40s", "instanceSize": "x1"},
		"model": map[string]any{"repository": "black-forest-labs/FLUX.1-schnell", "task": "text-to-image"}}))
	resp, data := c.do("POST", url, map[string]any{"inputs": "An astronaut riding a horse on the moon.", "parameters": map[string]any{"width": 320, "height": 192, "num_inference_steps": 2}}, "Accept", "image/png")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", data)
	assert.Equal(t, "image/png", resp.Header.Get("Content-Type"))
	img, err := png.Decode(bytes.NewReader(data))
	require.NoError(t, err)
	assert.Equal(t, 320, img.Bounds().Dx())
	assert.Equal(t, 192, img.Bounds().Dy())
	_, again := c.do("POST", url, map[string]any{"inputs": "An astronaut riding a horse on the moon.", "parameters": map[string]any{"width": 320, "height": 192}}, "Accept", "image/png")
	assert.Equal(t, data, again, "same prompt, same picture")
	_, other := c.do("POST", url, map[string]any{"inputs": "A lighthouse at dusk", "parameters": map[string]any{"width": 320, "height": 192}}, "Accept", "image/png")
	assert.NotEqual(t, data, other)

	resp, data = c.do("POST", url, map[string]any{"inputs": "cat"}, "Accept", "image/jpeg")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "image/jpeg", resp.Header.Get("Content-Type"))
	jimg, err := jpeg.Decode(bytes.NewReader(data))
	require.NoError(t, err)
	assert.Equal(t, defaultImageSide, jimg.Bounds().Dx())

	for _, bad := range []map[string]any{
		{"inputs": ""}, {"inputs": "x", "parameters": map[string]any{"width": 4096}},
		{"inputs": "x", "parameters": map[string]any{"width": 100}}, {"inputs": "x", "parameters": map[string]any{"num_inference_steps": 0}},
	} {
		code, m := c.obj("POST", url, bad)
		assert.Equal(t, http.StatusBadRequest, code, "%v", bad)
		assert.NotEmpty(t, m["error"])
	}
}

func TestToolkitTasks(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	cls := urlOf(c.running("emulator-user", "cls", map[string]any{"model": map[string]any{"repository": "distilbert/distilbert-base-uncased-finetuned-sst-2-english", "task": "text-classification"}}))
	resp, data := c.do("POST", cls, map[string]any{"inputs": "I love it"})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	out := decodeList(t, data)
	require.Len(t, out, 1)
	assert.Contains(t, []any{"POSITIVE", "NEGATIVE"}, out[0]["label"])

	ner := urlOf(c.running("emulator-user", "ner", map[string]any{"model": map[string]any{"repository": "dslim/bert-base-NER", "task": "token-classification"}}))
	resp, data = c.do("POST", ner, map[string]any{"inputs": "My name is Wolfgang Amadeus and I live in Berlin."})
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", data)
	ents := decodeList(t, data)
	require.Len(t, ents, 2, "%s", data)
	assert.Equal(t, "Wolfgang Amadeus", ents[0]["word"])
	assert.EqualValues(t, 11, ents[0]["start"])
	assert.EqualValues(t, 27, ents[0]["end"])
	assert.Equal(t, "Berlin", ents[1]["word"])
	assert.Contains(t, []any{"PER", "ORG", "LOC", "MISC"}, ents[1]["entity_group"])
	_, again := c.do("POST", ner, map[string]any{"inputs": "My name is Wolfgang Amadeus and I live in Berlin."})
	assert.JSONEq(t, string(data), string(again), "deterministic")
	resp, data = c.do("POST", ner, map[string]any{"inputs": []string{"We met in Paris", "no names"}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var lists [][]map[string]any
	require.NoError(t, json.Unmarshal(data, &lists))
	require.Len(t, lists, 2)
	assert.Len(t, lists[0], 1)
	assert.Empty(t, lists[1])

	rr := urlOf(c.running("emulator-user", "rr", map[string]any{"model": map[string]any{"repository": "BAAI/bge-reranker-base", "task": "text-ranking",
		"image": map[string]any{"tei": map[string]any{"url": "ghcr.io/huggingface/text-embeddings-inference:1.9"}}}}))
	resp, data = c.do("POST", rr+"/rerank", map[string]any{"query": "capital of France", "return_text": true,
		"texts": []string{"Bananas are yellow", "Paris is the capital of France"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", data)
	ranked := decodeList(t, data)
	require.Len(t, ranked, 2)
	assert.EqualValues(t, 1, ranked[0]["index"], "the text sharing the query's words ranks first")
	assert.Equal(t, "Paris is the capital of France", ranked[0]["text"])
	assert.Greater(t, ranked[0]["score"], ranked[1]["score"])
	code, m := c.obj("POST", rr+"/rerank", map[string]any{"query": "x"})
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Contains(t, m["error"], "at least one text")
	emb := urlOf(c.running("emulator-user", "emb", map[string]any{"model": map[string]any{"repository": "BAAI/bge-base-en-v1.5", "task": "feature-extraction"}}))
	code, m = c.obj("POST", emb+"/rerank", map[string]any{"query": "x", "texts": []string{"y"}})
	assert.Equal(t, http.StatusFailedDependency, code, "an embedding model is no re-ranker")
	assert.Contains(t, m["error"], "not a re-ranker")

	qa := urlOf(c.running("emulator-user", "qa", map[string]any{"model": map[string]any{"repository": "deepset/roberta-base-squad2", "task": "question-answering"}}))
	code, m = c.obj("POST", qa, map[string]any{"inputs": "x"})
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, m["error"], "not emulated")
}

func TestOpenMetricsCountsRealRequests(t *testing.T) {
	s, c, url := textEndpoint(t)
	for range 3 {
		c.do("POST", url+"/generate", map[string]any{"inputs": "Hi", "parameters": map[string]any{"max_new_tokens": 2}})
	}
	c.do("POST", url+"/generate", map[string]any{"inputs": ""})
	resp, data := c.do("GET", "/v2/endpoint/emulator-user/llm/open-metrics", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Type"), "application/openmetrics-text")
	text := string(data)
	assert.True(t, strings.HasSuffix(text, "# EOF\n"))
	assert.Contains(t, text, `route="/e/{id}/generate",code="200"} 3`)
	assert.Contains(t, text, `route="/e/{id}/generate",code="422"} 1`)
	assert.Contains(t, text, `hf_endpoint_generated_tokens_total{namespace="emulator-user",endpoint="llm"} 6`)
	assert.Contains(t, text, `hf_endpoint_state{namespace="emulator-user",endpoint="llm",hf_endpoint_state="running"} 1`)
	assert.EqualValues(t, 4, s.Requests("POST", "/e/{id}/generate"))
}

func TestStreamValidationErrorIsAnEvent(t *testing.T) {
	_, c, url := textEndpoint(t)
	for _, tc := range []struct {
		path string
		body map[string]any
	}{
		{url + "/generate_stream", map[string]any{"inputs": "Hi", "parameters": map[string]any{"temperature": -1}}},
		{url, map[string]any{"inputs": "Hi", "parameters": map[string]any{"top_k": 0}, "stream": true}},
		{url + "/generate_stream", map[string]any{"inputs": "Hi", "parameters": map[string]any{"best_of": 2, "do_sample": true}}},
	} {
		resp, data := c.do("POST", tc.path, tc.body)
		require.Equal(t, http.StatusOK, resp.StatusCode, "TGI validates inside the stream")
		assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
		events := sseEvents(t, data, "data:")
		require.Len(t, events, 1)
		var e map[string]string
		require.NoError(t, json.Unmarshal([]byte(events[0]), &e))
		assert.Equal(t, "validation", e["error_type"])
		assert.Contains(t, e["error"], "Input validation error: ")
	}
}
