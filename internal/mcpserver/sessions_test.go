package mcpserver

import (
	"net/http"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// initialize posts a 2025-11-25 initialize with token as bearer and returns the response.
func initialize(t *testing.T, base, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+PathStreamable, strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func TestSessionsBeyondTheCapAreRefused(t *testing.T) {
	emu := twoUsers(t)
	opts := Options{Client: emuClient(t, emu, ownerToken), HTTP: HTTPOptions{MaxSessions: 3}}
	s, err := New(opts)
	require.NoError(t, err)
	base := serve(t, s)

	var open []*sdk.ClientSession
	for range 2 {
		open = append(open, connectAs(t, base, "", "http", "2025-11-25"))
	}
	open = append(open, connectAs(t, base, "", "sse", "2025-11-25"))
	require.Eventually(t, func() bool { return s.sessions.len() == 3 }, 10*time.Second, 5*time.Millisecond)

	resp := initialize(t, base, "")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "10", resp.Header.Get("Retry-After"))
	assert.Empty(t, resp.Header.Get("Mcp-Session-Id"))
	sse, err := http.Get(base + PathSSE)
	require.NoError(t, err)
	sse.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, sse.StatusCode, "a legacy SSE stream is a session too")
	_, err = sdk.NewClient(&sdk.Implementation{Name: "t", Version: "1"}, nil).Connect(t.Context(),
		&sdk.StreamableClientTransport{Endpoint: base + PathStreamable, MaxRetries: -1}, &sdk.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	require.Error(t, err, "a client cannot open a fourth session")

	// The sessions held keep working, and 2026-07-28 requests, which open none, are served.
	_, msg := structured(t, open[0], "whoami", map[string]any{})
	assert.NotContains(t, msg, "too many")
	modern := connectAs(t, base, "", "http", "")
	_, msg = structured(t, modern, "whoami", map[string]any{})
	assert.NotContains(t, msg, "too many")

	// A session that ends makes room.
	require.NoError(t, open[0].Close())
	require.Eventually(t, func() bool { return s.sessions.len() == 2 }, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, http.StatusOK, initialize(t, base, "").StatusCode)
}

func TestPassThroughCallersHaveSessionCapsOfTheirOwn(t *testing.T) {
	emu := twoUsers(t)
	opts := passThroughOptions(t, emu)
	opts.HTTP.MaxSessions, opts.HTTP.MaxSessionsPerCaller = 10, 2
	s, err := New(opts)
	require.NoError(t, err)
	base := serve(t, s)

	for range 2 {
		connectAs(t, base, aliceToken, "http", "2025-11-25")
	}
	resp := initialize(t, base, aliceToken)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "alice holds her two")
	assert.Equal(t, "10", resp.Header.Get("Retry-After"))
	bob := connectAs(t, base, bobToken, "http", "2025-11-25")
	out, msg := structured(t, bob, "whoami", map[string]any{})
	require.NotNil(t, out, msg)
	assert.Equal(t, "bob", out["name"], "another caller still opens sessions")
}
