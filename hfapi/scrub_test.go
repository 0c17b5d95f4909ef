package hfapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/scrub/scrubtest"
)

// TestEncodedTokenEchoesAreScrubbed: a server that echoes the token JSON-escaped, percent-encoded
// or in base64 gets it redacted like a plain echo, from errors (whose message is decoded JSON) and
// from inference answers alike.
func TestEncodedTokenEchoesAreScrubbed(t *testing.T) {
	for name, enc := range scrubtest.Encodings(testToken) {
		t.Run(name, func(t *testing.T) {
			api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"token ` + enc + ` is not allowed here"}`))
			}))
			t.Cleanup(api.Close)
			c, _ := newTestClient(t, api)
			_, err := c.Get(t.Context(), "acme", "x")
			require.Error(t, err)
			assert.Empty(t, scrubtest.Leaks(err.Error(), testToken), "error: %v", err)
			assert.Contains(t, err.Error(), "is not allowed here", "the rest of the message is kept")

			d := newDataPlane(t, answer("application/json", []byte(`{"generated_text":"you sent `+enc+`"}`)))
			raw, err := c.Call(t.Context(), d.endpoint(StateRunning), "POST", "/", json.RawMessage(`{"inputs":"x"}`), CallOptions{})
			require.NoError(t, err)
			assert.Empty(t, scrubtest.Leaks(string(raw.Body), testToken), "body: %s", raw.Body)
			var decoded map[string]string
			require.NoError(t, json.Unmarshal(raw.Body, &decoded), "still JSON: %s", raw.Body)
			assert.False(t, strings.Contains(decoded["generated_text"], testToken), "not after decoding either")
		})
	}
}
