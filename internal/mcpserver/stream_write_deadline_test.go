package mcpserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// noHijack is a response writer that reaches the connection (write deadlines) but cannot take
// it over, as with HTTP/2: GET streams are then served in place.
type noHijack struct{ http.ResponseWriter }

func (noHijack) Hijack() (net.Conn, *bufio.ReadWriter, error) { return nil, nil, http.ErrNotSupported }
func (n noHijack) Flush()                                     { n.ResponseWriter.(http.Flusher).Flush() }
func (n noHijack) Unwrap() http.ResponseWriter                { return n.ResponseWriter }

// rawStream is a long-lived stream opened over a connection of its own, read only when the
// test says so.
type rawStream struct {
	conn    net.Conn
	body    io.Reader
	session string // the MCP session the stream belongs to
}

// streamKind is one way a client listens to the server over HTTP.
type streamKind struct {
	name       string
	middleware []func(http.Handler) http.Handler
	open       func(t *testing.T, base string) rawStream
	served     func(t *testing.T, s *Server) int // streams of this kind being served
	replays    bool                              // a legacy streamable HTTP session: its events are kept for replay
	// notifyFunc sends every session notification n, size bytes long, if not as notify does (a parked
	// stream's waits until it is recorded).
	notifyFunc func(t *testing.T, s *Server, n, size int)
}

var streamKinds = []streamKind{
	{name: "streamable HTTP GET, served off its connection", open: openStreamableGET, served: streamableGETs, replays: true, notifyFunc: notifyRecorded},
	{name: "streamable HTTP GET, served in place", open: openStreamableGET, served: streamableGETs, replays: true,
		middleware: []func(http.Handler) http.Handler{func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { next.ServeHTTP(noHijack{w}, r) })
		}}},
	{name: "legacy SSE", open: openSSE, served: func(_ *testing.T, s *Server) int {
		n := 0
		s.sseStreams.Range(func(any, any) bool { n++; return true })
		return n
	}},
}

// waitServed waits until n streams of the kind are served (those of the tests before may take
// a moment to end).
func (kind streamKind) waitServed(t *testing.T, s *Server, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return kind.served(t, s) == n }, 10*time.Second, 5*time.Millisecond,
		"the number of streams served never came to %d", n)
}

// streamableGETs counts the GET streams of streamable HTTP being served: parked, or running
// mcp-go's loop on a goroutine of serveDetached (in place, or not yet parked).
func streamableGETs(t *testing.T, s *Server) int {
	return s.events.parked() + countCreatedBy(goroutinesByCreator(t), "(*Server).serveDetached")
}

// dialGET sends a GET for path over a new connection and reads the response's head.
func dialGET(t *testing.T, base, path string, header ...string) (net.Conn, *http.Response) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	req := "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
	for _, h := range header {
		req += h + "\r\n"
	}
	_, err = io.WriteString(conn, req+"\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return conn, resp
}

// openStreamableGET opens a 2025-11-25 session and its GET stream.
func openStreamableGET(t *testing.T, base string) rawStream {
	t.Helper()
	code, hdr := rawRequest(t, http.MethodPost, base+PathStreamable, "", "", initializeBody)
	require.Equal(t, http.StatusOK, code)
	session := hdr.Get("Mcp-Session-Id")
	code, _ = rawRequest(t, http.MethodPost, base+PathStreamable, "", session, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	require.Equal(t, http.StatusAccepted, code)
	conn, resp := dialGET(t, base, PathStreamable, "Mcp-Session-Id: "+session, "Mcp-Protocol-Version: 2025-11-25")
	return rawStream{conn: conn, body: resp.Body, session: session}
}

// openSSE opens a legacy SSE stream and initializes its session, reading the stream up to the
// initialize result.
func openSSE(t *testing.T, base string) rawStream {
	t.Helper()
	conn, resp := dialGET(t, base, PathSSE)
	body := bufio.NewReader(resp.Body)
	var endpoint string
	for endpoint == "" {
		line, err := body.ReadString('\n')
		require.NoError(t, err)
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			endpoint = strings.TrimSpace(data)
		}
	}
	session := endpoint[strings.Index(endpoint, "sessionId=")+len("sessionId="):]
	code, _ := rawRequest(t, http.MethodPost, base+endpoint, "", "", initializeBody)
	require.Equal(t, http.StatusAccepted, code)
	readSSE(t, body, func(e sseEvent) bool { return strings.Contains(e.data, `"id":1`) })
	code, _ = rawRequest(t, http.MethodPost, base+endpoint, "", "", `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	require.Equal(t, http.StatusAccepted, code)
	return rawStream{conn: conn, body: body, session: session}
}

// notify sends every session log message number n, size bytes long.
func notify(s *Server, n, size int) {
	s.mcp.SendNotificationToAllClients("notifications/message", map[string]any{"level": "info",
		"data": fmt.Sprintf("n=%d;%s", n, strings.Repeat("x", size))})
}

// notifyRecorded is notify that waits until the notification is recorded in the replay log. A
// parked stream never holds mcp-go's listening pump back (mcpgo_listening_streams.go), so
// notifications sent faster than it records them pile up and reach the log after the test has
// seen what it waited for: a flood that goes on after a stream was cut would push the events its
// client missed out of the log before the client resumes.
func notifyRecorded(t *testing.T, s *Server, n, size int) {
	t.Helper()
	recorded := func() uint64 {
		s.events.mu.Lock()
		defer s.events.mu.Unlock()
		return s.events.seq
	}
	before := recorded()
	notify(s, n, size)
	require.Eventually(t, func() bool { return recorded() > before }, 10*time.Second, 100*time.Microsecond, "notification %d was not recorded", n)
}

// notify sends every session notification n, size bytes long, the kind's way.
func (kind streamKind) notify(t *testing.T, s *Server, n, size int) {
	if kind.notifyFunc != nil {
		kind.notifyFunc(t, s, n, size)
		return
	}
	notify(s, n, size)
}

// notificationNumber is the n of a notification sent by notify, or -1.
func notificationNumber(e sseEvent) int {
	_, after, ok := strings.Cut(e.data, `"data":"n=`)
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(after[:strings.IndexByte(after, ';')])
	if err != nil {
		return -1
	}
	return n
}

// writeBlocked reports whether a write to a connection, made under the function named by
// caller, is blocked (the socket's buffers full).
func writeBlocked(t *testing.T, caller string) bool {
	var dump strings.Builder
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&dump, 2))
	for _, g := range strings.Split(dump.String(), "\n\n") {
		if strings.Contains(g, caller) && strings.Contains(g, "internal/poll.(*FD).Write") {
			return true
		}
	}
	return false
}

// TestStreamsOfClientsThatStopReadingEnd: a client that keeps its stream's connection open but
// stops reading does not hold the stream once the socket's buffers are full: the blocked write
// times out, the stream ends and its connection closes (the client reads what was sent, then
// the end). A legacy streamable HTTP session keeps the events for replay: resumed with
// Last-Event-ID, the stream carries on from the first event the client did not get whole.
func TestStreamsOfClientsThatStopReadingEnd(t *testing.T) {
	for _, kind := range streamKinds {
		t.Run(kind.name, func(t *testing.T) {
			s := newServer(t, Options{HTTPMiddleware: kind.middleware})
			s.streamWriteTimeout = 200 * time.Millisecond
			base := serve(t, s)
			stream := kind.open(t, base)
			kind.waitServed(t, s, 1)

			sent := 0
			require.Eventually(t, func() bool {
				kind.notify(t, s, sent, 16<<10)
				sent++
				return kind.served(t, s) == 0
			}, 20*time.Second, time.Millisecond, "a stream whose client stopped reading was still served")

			require.NoError(t, stream.conn.SetReadDeadline(time.Now().Add(20*time.Second)))
			got, err := io.ReadAll(stream.body)
			require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "the stream's connection was not closed")
			events := readSSE(t, bytes.NewReader(got), func(sseEvent) bool { return false })
			var last sseEvent
			for _, e := range events {
				if notificationNumber(e) >= 0 {
					last = e
				}
			}
			require.NotEmpty(t, last.data, "the client got none of the notifications")
			require.Less(t, notificationNumber(last), sent-1, "the stream ended before the client had everything")
			if !kind.replays {
				return
			}

			require.NotEmpty(t, last.id)
			resp := getStream(t, base, stream.session, last.id)
			next := readSSE(t, resp.Body, func(sseEvent) bool { return true })
			require.Len(t, next, 1, "nothing replayed")
			lastID, err := strconv.Atoi(last.id)
			require.NoError(t, err)
			assert.Equal(t, strconv.Itoa(lastID+1), next[0].id, "the replay goes on from the last event the client got")
			assert.Equal(t, notificationNumber(last)+1, notificationNumber(next[0]), "with the notification it did not get whole")
		})
	}
}

// getStream opens a session's GET stream with the http client, resuming after lastEventID.
func getStream(t *testing.T, base, session, lastEventID string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+PathStreamable, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", session)
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	req.Header.Set("Last-Event-ID", lastEventID)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return resp
}

// TestStreamsOfSlowClientsAreNotCut: the write deadline bounds a write, not the stream. A stream
// idle for many times the deadline carries its keep-alives, and a client that falls behind (the
// stream's write blocked, the buffers full) and then reads on gets everything and stays.
func TestStreamsOfSlowClientsAreNotCut(t *testing.T) {
	for _, kind := range streamKinds {
		t.Run(kind.name+", idle", func(t *testing.T) {
			const keepAlive = 100 * time.Millisecond // five times the write deadline
			s := newServer(t, Options{HTTPMiddleware: kind.middleware, HTTP: HTTPOptions{StreamHeartbeat: keepAlive, SSEKeepAlive: keepAlive}})
			s.streamWriteTimeout = keepAlive / 5
			stream := kind.open(t, serve(t, s))
			lines := bufio.NewReader(stream.body)
			for beats := 0; beats < 4; {
				line, err := lines.ReadString('\n')
				require.NoError(t, err, "the idle stream ended after %d keep-alives", beats)
				if strings.Contains(line, pingOnTheWire) || strings.HasPrefix(line, ": keep-alive") {
					beats++
				}
			}
			kind.notify(t, s, 0, 10)
			events := readSSE(t, lines, func(e sseEvent) bool { return notificationNumber(e) == 0 })
			require.NotEmpty(t, events)
			assert.Equal(t, 0, notificationNumber(events[len(events)-1]), "a notification after the idle time arrives")
			kind.waitServed(t, s, 1)
		})
		t.Run(kind.name+", behind", func(t *testing.T) {
			s := newServer(t, Options{HTTPMiddleware: kind.middleware})
			s.streamWriteTimeout = 20 * time.Second // far above how long the test takes to read on
			stream := kind.open(t, serve(t, s))
			sent := 0
			require.Eventually(t, func() bool {
				kind.notify(t, s, sent, 16<<10)
				sent++
				return writeBlocked(t, "(*keepAliveWriter).bounded") || writeBlocked(t, "(*parkedStream).write")
			}, 20*time.Second, time.Millisecond, "the stream's writes never blocked")

			// The client reads on; a notification sent now arrives after all that was stored up.
			arrived := make(chan int, 1024)
			go func() {
				readSSE(t, stream.body, func(e sseEvent) bool {
					if n := notificationNumber(e); n >= 0 {
						arrived <- n
					}
					return false
				})
				close(arrived)
			}()
			const marker = 1 << 20
			var got []int
			ended := false
			require.Eventually(t, func() bool {
				notify(s, marker, 10) // until one is taken: while the stream catches up, some are dropped
				for {
					select {
					case n, ok := <-arrived:
						if !ok {
							ended = true
							return true
						}
						got = append(got, n)
						continue
					default:
					}
					return slices.Contains(got, marker)
				}
			}, 20*time.Second, 10*time.Millisecond, "the stream never carried the notification sent after the client caught up")
			require.False(t, ended, "the stream ended; the client got %v", got)
			assert.True(t, slices.IsSorted(got), "notifications arrive in order")
			kind.waitServed(t, s, 1) // the stream is still served
		})
	}
}
