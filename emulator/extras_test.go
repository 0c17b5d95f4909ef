package emulator

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTopTokensAndChatLogprobs(t *testing.T) {
	_, c, url := textEndpoint(t)
	resp, data := c.do("POST", url+"/generate", map[string]any{"inputs": "Hi", "parameters": map[string]any{"max_new_tokens": 2, "details": true, "top_n_tokens": 3}})
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", data)
	var out map[string]any
	require.NoError(t, json.Unmarshal(data, &out))
	top := dig(out, "details", "top_tokens").([]any)
	require.Len(t, top, 2)
	assert.Len(t, top[0], 3)
	assert.Equal(t, dig(out, "details", "tokens").([]any)[0], top[0].([]any)[0], "the chosen token leads its alternatives")

	code, m := c.obj("POST", url+"/v1/chat/completions", map[string]any{"messages": []any{map[string]any{"role": "user", "content": "hi"}}, "max_tokens": 2, "logprobs": true, "stop": "never"})
	require.Equal(t, http.StatusOK, code, "%v", m)
	lp := dig(m["choices"].([]any)[0].(map[string]any), "logprobs", "content").([]any)
	assert.Len(t, lp, 2)
	code, m = c.obj("POST", url+"/v1/chat/completions", map[string]any{"messages": []any{map[string]any{"role": "user", "content": "hi"}}, "stop": map[string]any{}})
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Contains(t, m["error"], "`stop` must be a string or a list of strings")
	code, _ = c.obj("POST", url+"/v1/chat/completions", map[string]any{"messages": []any{map[string]any{"role": "user", "content": "hi"}}, "n": 2})
	assert.Equal(t, http.StatusUnprocessableEntity, code)
}

func TestTEIInfoAndGuessedTask(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	// No task given: guessed from the repository name, as the emulator cannot ask the Hub.
	b := createBody("bge")
	mergeInto(b, map[string]any{"model": map[string]any{"repository": "BAAI/bge-small-en-v1.5"}}, "")
	delete(b["model"].(map[string]any), "task")
	code, m := c.obj("POST", "/v2/endpoint/emulator-user", b)
	require.Equal(t, http.StatusAccepted, code, "%v", m)
	assert.Equal(t, "feature-extraction", dig(m, "model", "task"))
	url := urlOf(c.waitState("emulator-user", "bge", StateRunning))
	code, info := c.obj("GET", url+"/info", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "BAAI/bge-small-en-v1.5", info["model_id"])
	assert.EqualValues(t, maxClientBatchSize, info["max_client_batch_size"])

	for repo, task := range map[string]string{
		"stabilityai/sdxl-turbo": "text-to-image", "someone/sentiment-roberta": "text-classification",
		"openai-community/gpt2": "text-generation", "meta-llama/Llama-3.2-3B-Instruct": "text-generation",
	} {
		assert.Equal(t, task, guessTask(repo), repo)
	}
}

func TestCatalogEndpointNamesAreValid(t *testing.T) {
	for _, repo := range []string{"meta-llama/Llama-3.2-3B-Instruct", "a/" + strings.Repeat("Very_Long.Name-", 5), "noslash", "x/---weird---", "x/___"} {
		n := catalogEndpointName(repo, "abc")
		assert.NoError(t, validName(n), "%s → %s", repo, n)
	}
	assert.Equal(t, "llama-3-2-3b-instruct-abc", catalogEndpointName("meta-llama/Llama-3.2-3B-Instruct", "abc"))
}

func TestServerBases(t *testing.T) {
	s := start(t, Options{User: "u1"})
	assert.Equal(t, s.URL+"/v2", s.APIBase())
	assert.Equal(t, s.URL, s.HubBase())
	assert.Equal(t, s.URL+"/api/catalog", s.CatalogBase())
	assert.Equal(t, "u1", s.Username())
	assert.Equal(t, DefaultToken, s.Token())
	assert.Zero(t, s.Requests("GET", "/no/such/route"))
}

func TestDocumentedFieldsAreStoredAndEchoed(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	// The create body of the documentation's custom router guide, plus fields huggingface_hub may send.
	doc, err := os.ReadFile("testdata/ie-create-request-custom-router-doc.json")
	require.NoError(t, err)
	var body map[string]any
	require.NoError(t, json.Unmarshal(doc, &body))
	mergeInto(body, map[string]any{
		"experimentalFeatures": map[string]any{"kvRouter": true},
		"model": map[string]any{"command": []any{"python", "serve.py"}, "args": []any{"--port", "80"},
			"secrets": map[string]any{"HF_TOKEN": "hf_x"}},
	}, "")
	code, ep := c.obj("POST", "/v2/endpoint/emulator-user", body)
	require.Equal(t, http.StatusAccepted, code, "%v", ep)
	got := c.get("emulator-user", "my-endpoint")
	assert.Equal(t, "private", got["type"])
	assert.Equal(t, body["customRouter"], got["customRouter"])
	assert.Equal(t, map[string]any{"kvRouter": true}, got["experimentalFeatures"])
	assert.Equal(t, []any{"python", "serve.py"}, dig(got, "model", "command"))
	assert.Equal(t, []any{"--port", "80"}, dig(got, "model", "args"))
	assert.Equal(t, map[string]any{"pendingRequests": 2.0}, dig(got, "compute", "scaling", "measure"))
	assert.Equal(t, "pendingRequests", dig(got, "compute", "scaling", "metric"))
	assert.EqualValues(t, 15, dig(got, "compute", "scaling", "scaleToZeroTimeout"))

	// Engine image variants round-trip as sent.
	vllm := map[string]any{"vLLM": map[string]any{"url": "vllm/vllm-openai:v0.23.0", "port": 8000.0, "tensorParallelSize": 2.0}}
	code, ep = c.obj("POST", "/v2/endpoint/emulator-user", createBody("vllm", map[string]any{"model": map[string]any{"image": vllm}}))
	require.Equal(t, http.StatusAccepted, code, "%v", ep)
	assert.Equal(t, vllm, dig(ep, "model", "image"))
}

func TestEveryResponseHasARequestID(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	url := urlOf(c.running("emulator-user", "rid"))
	anon := newClient(t, s, "")
	seen := map[string]bool{}
	for _, rt := range []struct {
		cl           *client
		method, path string
	}{
		{c, "GET", "/v2/endpoint/emulator-user"}, {anon, "GET", "/v2/endpoint/emulator-user"},
		{c, "GET", "/nowhere"}, {c, "POST", url + "/generate"}, {c, "GET", url + "/health"},
		{c, "GET", "/api/whoami-v2"}, {c, "DELETE", "/v2/endpoint/emulator-user/none"},
	} {
		resp, _ := rt.cl.do(rt.method, rt.path, nil)
		id := resp.Header.Get("X-Request-Id")
		assert.NotEmpty(t, id, "%s %s", rt.method, rt.path)
		assert.False(t, seen[id], "request ids are unique")
		seen[id] = true
	}
}
