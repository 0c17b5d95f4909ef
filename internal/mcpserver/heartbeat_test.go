package mcpserver

import (
	"context"
	"io"
	"net/http"
	"runtime/pprof"
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

// goroutinesByCreator counts the goroutines of the process by the function that started them
// (the "created by" line of a goroutine dump), leaving out timer callbacks, which run briefly.
func goroutinesByCreator(t *testing.T) map[string]int {
	t.Helper()
	var dump strings.Builder
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&dump, 2))
	counts := map[string]int{}
	for _, g := range strings.Split(dump.String(), "\n\n") {
		_, after, ok := strings.Cut(g, "\ncreated by ")
		if !ok {
			continue
		}
		creator, _, _ := strings.Cut(after, " in goroutine")
		if creator = strings.TrimSpace(strings.SplitN(creator, "\n", 2)[0]); creator != "time.goFunc" {
			counts[creator]++
		}
	}
	return counts
}

// countCreatedBy adds up the counts of the creators whose name contains part.
func countCreatedBy(counts map[string]int, part string) int {
	var n int
	for creator, c := range counts {
		if strings.Contains(creator, part) {
			n += c
		}
	}
	return n
}

// TestIdleSessionsHoldNoHeartbeatGoroutine: many idle legacy sessions, each with its GET stream
// open and carrying heartbeats, hold no heartbeat goroutine (mcp-go's startConnHeartbeat ran one
// per stream) and none of this package's: of mcp-go's goroutines, only its listening pump per session.
func TestIdleSessionsHoldNoHeartbeatGoroutine(t *testing.T) {
	const n = 40
	s := newServer(t, Options{HTTP: HTTPOptions{StreamHeartbeat: 20 * time.Millisecond}})
	mcpURL := serve(t, s) + PathStreamable
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	heartbeat := func() {
		_, resp := legacyGETStream(t, ctx, mcpURL)
		events := readSSE(t, resp.Body, func(e sseEvent) bool { return strings.Contains(e.data, pingOnTheWire) })
		require.NotEmpty(t, events, "the stream ended before its first heartbeat")
		require.Contains(t, events[len(events)-1].data, pingOnTheWire, "the stream ended before its first heartbeat")
	}
	heartbeat() // one-time costs (the session sweeper's timer, connection pools) before the count
	before := goroutinesByCreator(t)
	for range n {
		heartbeat() // the stream stays open
	}
	after := goroutinesByCreator(t)

	require.Equal(t, n+1, s.idle.len(), "every session is tracked for expiry")
	assert.Zero(t, countCreatedBy(after, "startConnHeartbeat"), "no goroutine per stream for heartbeats")
	assert.Equal(t, countCreatedBy(before, "hf-endpoints-mcp/internal/mcpserver."), countCreatedBy(after, "hf-endpoints-mcp/internal/mcpserver."),
		"no goroutine of this package per session: %v", after)
	assert.Equal(t, n, countCreatedBy(after, "startListeningPump")-countCreatedBy(before, "startListeningPump"), "mcp-go's listening pump, one per session")
	assert.Equal(t, n, countCreatedBy(after, "mark3labs/mcp-go")-countCreatedBy(before, "mark3labs/mcp-go"),
		"no other goroutine of mcp-go per session: %v", after)
}

// TestMadeUpSessionIDsLeaveNothingToExpire: requests naming sessions that do not exist are
// refused and leave no entry behind in the idle-session tracking.
func TestMadeUpSessionIDsLeaveNothingToExpire(t *testing.T) {
	s := newServer(t, Options{})
	mcpURL := serve(t, s) + PathStreamable
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	legacyGETStream(t, ctx, mcpURL)
	require.Equal(t, 1, s.idle.len())

	code, _ := rawRequest(t, http.MethodPost, mcpURL, "", "made-up", `{"jsonrpc":"2.0","id":9,"method":"ping"}`)
	assert.Equal(t, http.StatusNotFound, code)
	code, _ = rawRequest(t, http.MethodDelete, mcpURL, "", "made-up", "")
	assert.NotEqual(t, http.StatusInternalServerError, code)
	assert.Equal(t, 1, s.idle.len(), "only the real session is tracked")
}
