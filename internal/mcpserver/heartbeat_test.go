package mcpserver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/scrub/scrubtest"
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

// TestIdleSessionsHoldOneGoroutineEach: many idle legacy sessions, each with its GET stream
// open and carrying heartbeats, hold one goroutine each: mcp-go's listening pump. Their streams are
// parked (mcpgo_listening_streams.go): no goroutine of their own while idle, no heartbeat goroutine
// (mcp-go's startConnHeartbeat ran one per stream), and none of net/http's per connection (the
// connection's and its background read): the connections were taken over. A client that goes
// away is noticed at the next heartbeat, and its stream ends.
func TestIdleSessionsHoldOneGoroutineEach(t *testing.T) {
	const n = 40
	s := newServer(t, Options{HTTP: HTTPOptions{StreamHeartbeat: 20 * time.Millisecond}})
	mcpURL := serve(t, s) + PathStreamable
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var streams []context.CancelFunc
	heartbeat := func() {
		ctx, cancel := context.WithCancel(ctx)
		streams = append(streams, cancel)
		_, resp := legacyGETStream(t, ctx, mcpURL)
		assert.True(t, resp.Close, "a detached stream ends with its connection (Connection: close)")
		assert.Empty(t, resp.TransferEncoding, "and is not chunked")
		events := readSSE(t, resp.Body, func(e sseEvent) bool { return strings.Contains(e.data, pingOnTheWire) })
		require.NotEmpty(t, events, "the stream ended before its first heartbeat")
		require.Contains(t, events[len(events)-1].data, pingOnTheWire, "the stream ended before its first heartbeat")
	}
	heartbeat() // one-time costs (the session sweeper's timer, connection pools) before the count
	before := goroutinesByCreator(t)
	for range n {
		heartbeat() // the stream stays open
	}
	require.Equal(t, n+1, s.idle.len(), "every session is tracked for expiry")
	require.Equal(t, n+1, s.events.parked(), "every stream is parked")
	grown := func(part string) int {
		return countCreatedBy(goroutinesByCreator(t), part) - countCreatedBy(before, part)
	}
	// The connections' goroutines end once the handler has handed them over.
	require.Eventually(t, func() bool { return grown("net/http.(*connReader).startBackgroundRead") <= 0 }, 10*time.Second, 10*time.Millisecond,
		"net/http reads no stream's connection: %v", goroutinesByCreator(t))
	require.Eventually(t, func() bool { return grown("net/http.(*Server).Serve") < n/4 }, 10*time.Second, 10*time.Millisecond,
		"net/http holds no goroutine per stream (only idle connections of the requests): %v", goroutinesByCreator(t))
	// A parked stream writes its heartbeats from a goroutine that ends once they are written.
	require.Eventually(t, func() bool { return grown("hf-endpoints-mcp/internal/mcpserver.") < n/4 }, 10*time.Second, 10*time.Millisecond,
		"no goroutine of this package per session: %v", goroutinesByCreator(t))

	after := goroutinesByCreator(t)
	assert.Zero(t, countCreatedBy(after, "startConnHeartbeat"), "no goroutine per stream for heartbeats")
	assert.Zero(t, countCreatedBy(after, "(*Server).serveDetached"), "no stream loop")
	assert.Equal(t, n, countCreatedBy(after, "startListeningPump")-countCreatedBy(before, "startListeningPump"), "mcp-go's listening pump, one per session")
	assert.Equal(t, n, countCreatedBy(after, "mark3labs/mcp-go")-countCreatedBy(before, "mark3labs/mcp-go"),
		"no other goroutine of mcp-go per session: %v", after)

	// A client that goes away is noticed at the next heartbeat: its stream ends, and with it the
	// GET that kept its session from expiring.
	for _, closeStream := range streams {
		closeStream()
	}
	require.Eventually(t, func() bool { return s.events.parked() == 0 }, 10*time.Second, 10*time.Millisecond,
		"the streams of clients gone are still parked")
	s.idle.mu.Lock()
	defer s.idle.mu.Unlock()
	for id, is := range s.idle.sessions {
		assert.Zero(t, is.open, "session %s is still held open by its stream", id)
	}
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

// TestDetachedStreamsCarryNotificationsScrubbed: a notification reaches a legacy session's GET
// stream served off its connection, with an event ID (kept for replay), and scrubbed of secrets
// as every response of the handler chain is.
func TestDetachedStreamsCarryNotificationsScrubbed(t *testing.T) {
	client, err := hfapi.New(hfapi.Config{Token: wireToken, APIBase: "http://127.0.0.1:9/v2", HubBase: "http://127.0.0.1:9",
		CatalogBase: "http://127.0.0.1:9/api/catalog", Namespace: "acme", MaxHourlyCost: hfapi.NoCostCeiling})
	require.NoError(t, err)
	s := newServer(t, Options{Client: client})
	mcpURL := serve(t, s) + PathStreamable
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, resp := legacyGETStream(t, ctx, mcpURL)
	require.True(t, resp.Close, "the stream is served off its connection")

	s.mcp.SendNotificationToAllClients("notifications/message", map[string]any{"level": "info", "data": "the token is " + wireToken})
	events := readSSE(t, resp.Body, func(e sseEvent) bool { return strings.Contains(e.data, "notifications/message") })
	require.NotEmpty(t, events)
	got := events[len(events)-1]
	require.Contains(t, got.data, "notifications/message", "the notification reached the stream")
	assert.Contains(t, got.data, "the token is [REDACTED]")
	assert.Empty(t, scrubtest.Leaks(got.data, wireToken))
	assert.NotEmpty(t, got.id, "the event has an ID to resume from")
}

// flushOnly is a response writer that streams but hides the connection (no Unwrap), as a
// third-party middleware might.
type flushOnly struct{ http.ResponseWriter }

func (f flushOnly) Flush() { f.ResponseWriter.(http.Flusher).Flush() }

// TestStreamsWhoseConnectionCannotBeTakenOverAreServedInPlace: behind a middleware that hides
// the connection, a GET stream is served through the handler chain as before: it carries its
// heartbeats, and ends when its client goes.
func TestStreamsWhoseConnectionCannotBeTakenOverAreServedInPlace(t *testing.T) {
	hide := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { next.ServeHTTP(flushOnly{w}, r) })
	}
	s := newServer(t, Options{HTTP: HTTPOptions{StreamHeartbeat: 20 * time.Millisecond}, HTTPMiddleware: []func(http.Handler) http.Handler{hide}})
	mcpURL := serve(t, s) + PathStreamable
	ctx, closeStream := context.WithCancel(context.Background())
	defer closeStream()
	_, resp := legacyGETStream(t, ctx, mcpURL)
	var pings int
	readSSE(t, resp.Body, func(e sseEvent) bool {
		if strings.Contains(e.data, pingOnTheWire) {
			pings++
		}
		return pings == 2
	})
	require.Equal(t, 2, pings, "the stream carries heartbeats")
	require.Equal(t, 1, countCreatedBy(goroutinesByCreator(t), "(*Server).serveDetached"), "the stream's loop runs")
	require.Equal(t, 1, countCreatedBy(goroutinesByCreator(t), "startBackgroundRead"), "net/http still serves the connection")

	closeStream()
	require.Eventually(t, func() bool { return countCreatedBy(goroutinesByCreator(t), "(*Server).serveDetached") == 0 }, 10*time.Second, 10*time.Millisecond,
		"the stream of a client gone still holds its goroutine")
}

// TestClosingSessionsEndsDetachedStreamsOfClientsThatStoppedReading: a stream whose client
// stopped reading, its writes blocked, ends when the sessions are closed (as on shutdown), though
// net/http no longer owns its connection.
func TestClosingSessionsEndsDetachedStreamsOfClientsThatStoppedReading(t *testing.T) {
	s := newServer(t, Options{})
	base := serve(t, s)
	session, _ := legacyGETStream(t, t.Context(), base+PathStreamable) // a session; its stream is not the one tested
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nMcp-Session-Id: %s\r\nMcp-Protocol-Version: 2025-11-25\r\n\r\n", PathStreamable, session)
	require.NoError(t, err)
	head, err := http.ReadResponse(bufio.NewReader(conn), nil) // then nothing more is read
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, head.StatusCode)
	// The new stream took the session's stream over from the first, which ends.
	require.Eventually(t, func() bool { return streamableGETs(t, s) == 1 }, 10*time.Second, 10*time.Millisecond)

	// Notifications until the stream's write blocks, the socket's buffers full.
	big := strings.Repeat("x", 64<<10)
	require.Eventually(t, func() bool {
		s.mcp.SendNotificationToAllClients("notifications/message", map[string]any{"level": "info", "data": big})
		return writeBlocked(t, "(*parkedStream).write")
	}, 10*time.Second, time.Millisecond, "the stream's writes never blocked")
	s.HTTPHandler().CloseSessions(context.Background())
	require.Eventually(t, func() bool {
		return streamableGETs(t, s) == 0 && countCreatedBy(goroutinesByCreator(t), "(*parkedStream)") == 0
	},
		10*time.Second, 10*time.Millisecond, "a stream blocked writing to its client outlived the sessions: %v", goroutinesByCreator(t))
}
