package mcpserver

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pingOnTheWire identifies a JSON-RPC ping request in an SSE event.
const pingOnTheWire = `"method":"ping"`

// An idle GET stream of a legacy (2025-11-25) streamable HTTP session, served by mcp-go's
// resumable listening stream since the server has an event store, carries ping requests at
// the heartbeat interval; the SDK client answers them and its session goes on working.
func TestIdleStreamableGETStreamsCarryHeartbeats(t *testing.T) {
	s := newServer(t, Options{HTTP: HTTPOptions{StreamHeartbeat: 20 * time.Millisecond}})
	base := serve(t, s)
	mcpURL := base + PathStreamable

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, resp := legacyGETStream(t, ctx, mcpURL)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	var pings int
	events := readSSE(t, resp.Body, func(e sseEvent) bool {
		if strings.Contains(e.data, pingOnTheWire) {
			pings++
		}
		return pings == 2
	})
	require.Equal(t, 2, pings, "the idle stream carried no heartbeat before it ended or the test timed out; events: %v", events)
	assert.Len(t, events, 2, "nothing but heartbeats on an idle stream")

	// The official SDK client answers the pings on its own GET stream and keeps working.
	seen := make(chan struct{})
	var once sync.Once
	hc := &http.Client{Transport: watchBody{next: http.DefaultTransport, marker: pingOnTheWire, seen: func() { once.Do(func() { close(seen) }) }}}
	cs := connect(t, &sdk.StreamableClientTransport{Endpoint: mcpURL, HTTPClient: hc, MaxRetries: -1}, "2025-11-25")
	select {
	case <-seen:
	case <-time.After(10 * time.Second):
		t.Fatal("no heartbeat reached the SDK client's GET stream")
	}
	assert.NotEmpty(t, toolNames(t, cs), "the session works after heartbeats")
}

// TestAnOpenGETStreamKeepsItsSessionAlive: a legacy client that only listens
// (subscribed, waiting for updates) is active as long as its GET stream is
// open, however long past the idle timeout; once it goes, the session ends.
func TestAnOpenGETStreamKeepsItsSessionAlive(t *testing.T) {
	const ttl = time.Second
	s := newServer(t, Options{HTTP: HTTPOptions{SessionIdleTTL: ttl, StreamHeartbeat: 50 * time.Millisecond}})
	mcpURL := serve(t, s) + PathStreamable
	ping := `{"jsonrpc":"2.0","id":9,"method":"ping"}`
	ctx, closeStream := context.WithCancel(context.Background())
	defer closeStream()
	session, resp := legacyGETStream(t, ctx, mcpURL)
	go func() { _, _ = io.Copy(io.Discard, resp.Body) }()

	// Three idle timeouts with no request: only the stream's heartbeats.
	<-time.After(3 * ttl)
	code, _ := rawRequest(t, http.MethodPost, mcpURL, "", session, ping)
	assert.Equal(t, http.StatusOK, code, "a session whose GET stream is open is not idle")

	closeStream()
	assert.Eventually(t, func() bool {
		code, _ := rawRequest(t, http.MethodPost, mcpURL, "", session, ping)
		return code == http.StatusNotFound
	}, 20*time.Second, 3*ttl, "without its stream (and requests) the session ends after the idle timeout")
}

// legacyGETStream opens a 2025-11-25 session with raw requests and its GET
// stream, which lasts as long as ctx; it returns the session ID and the stream.
func legacyGETStream(t *testing.T, ctx context.Context, mcpURL string) (string, *http.Response) {
	t.Helper()
	code, hdr := rawRequest(t, http.MethodPost, mcpURL, "", "", initializeBody)
	require.Equal(t, http.StatusOK, code)
	session := hdr.Get("Mcp-Session-Id")
	require.NotEmpty(t, session)
	code, _ = rawRequest(t, http.MethodPost, mcpURL, "", session, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	require.Equal(t, http.StatusAccepted, code)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, mcpURL, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", session)
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return session, resp
}
