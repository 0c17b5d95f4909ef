package audit

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIsSensitiveKey(t *testing.T) {
	for k, want := range map[string]bool{
		"secrets": true, "env": true, "ENV": true, "token": true, "confirmation_token": true,
		"confirmationToken": true, "Authorization": true, "password": true, "api_key": true, "API-Key": true,
		"hf_token": true, "accessToken": true, "client_secret": true,
		"max_new_tokens": false, "endpoint_name": false, "environment_name": false, "namespace": false,
		"tokenizer": false, "inputs": false,
	} {
		assert.Equal(t, want, IsSensitiveKey(k), "key %q", k)
	}
}

func TestRedactAtDepth(t *testing.T) {
	type customImage struct {
		URL string            `json:"url"`
		Env map[string]string `json:"env"`
	}
	args := map[string]any{
		"endpoint_name":  "llama",
		"max_new_tokens": 20,
		"env":            map[string]any{"HF_HUB_OFFLINE": "1", "NESTED": map[string]any{"A": "x"}},
		"secrets":        map[string]string{"API_KEY": "sk-live-1"},
		"Token":          "hf_abc",
		"model": map[string]any{
			"image": map[string]any{"custom": customImage{URL: "ghcr.io/x", Env: map[string]string{"PW": "p"}}},
			"list":  []any{map[string]any{"password": "hunter2"}, "plain"},
		},
		"authorization": []any{"Bearer a", "Bearer b"},
		"api_key":       nil,
	}
	got, err := Redact(args)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"endpoint_name":  "llama",
		"max_new_tokens": jsonNumber("20"),
		"env":            map[string]any{"HF_HUB_OFFLINE": Redacted, "NESTED": map[string]any{"A": Redacted}},
		"secrets":        map[string]any{"API_KEY": Redacted},
		"Token":          Redacted,
		"model": map[string]any{
			"image": map[string]any{"custom": map[string]any{"url": "ghcr.io/x", "env": map[string]any{"PW": Redacted}}},
			"list":  []any{map[string]any{"password": Redacted}, "plain"},
		},
		"authorization": []any{Redacted, Redacted},
		"api_key":       nil,
	}, got)
	assert.Equal(t, "hf_abc", args["Token"], "the caller's map is not modified")
}

func TestRedactorScrubsLiterals(t *testing.T) {
	r := NewRedactor("", "hf_short", "hf_shortANDLONGER")
	assert.Equal(t, "a [REDACTED] b [REDACTED] c", r.Scrub("a hf_shortANDLONGER b hf_short c"))
	assert.Equal(t, "nothing here", r.Scrub("nothing here"))
	var nilR *Redactor
	assert.Equal(t, "hf_short", nilR.Scrub("hf_short"))
}

func TestRedactorScrubsHuggingFaceTokensUnregistered(t *testing.T) {
	r := NewRedactor()
	assert.Equal(t, "token [REDACTED], again [REDACTED].",
		r.Scrub("token hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345, again hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345."))
	for _, keep := range []string{"HF_HUB_OFFLINE=1", "hf_short", "max_new_tokens", "model hf_internal_test"} {
		assert.Equal(t, keep, r.Scrub(keep), "not a token")
	}
}

func TestLiteralTokenNeverAppears(t *testing.T) {
	const tok = "hf_ZyXwVuTsRqPoNmLkJiHgFeDcBa0123456789"
	l, path := openTemp(t)
	l.AddSecrets(tok)
	require.NoError(t, l.Append(Entry{
		Client:    "client " + tok,
		Tool:      "create_endpoint",
		Namespace: "acme",
		Arguments: map[string]any{
			"inputs":       "please use " + tok + " for me",
			"model":        map[string]any{"repository": tok, "tags": []any{"x", tok}},
			tok:            "as a key",
			"custom_image": map[string]any{"credentials": map[string]any{"password": tok}},
		},
		Outcome:   OutcomeError,
		Error:     "401 for token " + tok,
		RequestID: tok,
	}))
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), tok)
	assert.NotContains(t, string(raw), tok[3:20], "no fragment either")
	got := readEntries(t, path)
	require.Len(t, got, 1)
	assert.Equal(t, "401 for token "+Redacted, got[0].Error)
	assert.Equal(t, "please use "+Redacted+" for me", got[0].Arguments["inputs"])
	assert.True(t, strings.HasPrefix(got[0].Client, "client "))
}

func jsonNumber(s string) any { return json.Number(s) }
