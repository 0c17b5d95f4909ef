package mcpserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/rawmcp"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/tools"
)

// floodResult is the result of the test tools below.
type floodResult struct {
	Data string `json:"data"`
}

func (floodResult) Summary() string { return "flooded" }

// floodArgs are the test tools' arguments.
type floodArgs struct {
	Count int `json:"count,omitempty"` // progress_test's notifications
	Size  int `json:"size,omitempty"`  // big_test's result
}

// postFlood is a server whose test tools write much to a POST's response, and what they did.
type postFlood struct {
	s        *Server
	base     string
	inFlight atomic.Int32 // POSTs being served (their handlers have not returned)
	conns    atomic.Int32 // connections accepted
	closed   sync.Map     // the client addresses of the connections closed

	more      chan struct{} // progress_test sends one more notification for each
	bigCalled chan struct{} // big_test was called
	cancelled chan struct{} // closed when progress_test's context ends
}

// Sizes of what the tools write: each notification carries noteSize bytes; big_test's result is
// bigResult bytes, many times what the sockets' buffers hold (see newPostFlood).
const (
	noteSize  = 64 << 10
	bigResult = 4 << 20
)

// newPostFlood serves a server with two tools: progress_test sends a progress notification of
// noteSize bytes for each value on more until its context ends (with count > 0: count
// notifications, then its result); big_test answers with a result of bigResult bytes (or size). Its
// connections' send buffers are kept small (the kernel would otherwise let them grow to 4 MiB),
// so that a few hundred KiB fill them. With h2c it serves HTTP/2 without TLS as well.
func newPostFlood(t *testing.T, writeTimeout time.Duration, h2c bool) *postFlood {
	f := &postFlood{more: make(chan struct{}), bigCalled: make(chan struct{}, 1), cancelled: make(chan struct{})}
	flood := testTool("progress_test", func(ctx context.Context, call *tools.Call, in floodArgs) (floodResult, error) {
		for i := 0; in.Count == 0 || i < in.Count; i++ {
			if in.Count == 0 {
				select {
				case <-f.more:
				case <-ctx.Done():
					close(f.cancelled)
					return floodResult{}, ctx.Err()
				}
			}
			call.Progress.Report(fmt.Sprintf("n=%d;%s", i, strings.Repeat("x", noteSize)))
		}
		return floodResult{Data: "done"}, nil
	})
	big := testTool("big_test", func(_ context.Context, _ *tools.Call, in floodArgs) (floodResult, error) {
		if in.Size == 0 {
			f.bigCalled <- struct{}{}
			in.Size = bigResult
		}
		return floodResult{Data: strings.Repeat("y", in.Size)}, nil
	})
	f.s = newServer(t, Options{
		NewClient:  func(context.Context) (*hfapi.Client, error) { return &hfapi.Client{}, nil },
		ExtraTools: []tools.Tool{flood, big},
		HTTPMiddleware: []func(http.Handler) http.Handler{func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					f.inFlight.Add(1)
					defer f.inFlight.Add(-1)
				}
				next.ServeHTTP(w, r)
			})
		}},
		ConfigureHTTPServer: func(srv *http.Server) {
			srv.ConnState = func(c net.Conn, state http.ConnState) {
				if tcp, ok := c.(*net.TCPConn); ok && state == http.StateNew {
					f.conns.Add(1)
					_ = tcp.SetWriteBuffer(128 << 10)
				}
				if state == http.StateClosed {
					f.closed.Store(c.RemoteAddr().String(), true)
				}
			}
			if h2c {
				srv.Protocols = new(http.Protocols)
				srv.Protocols.SetHTTP1(true)
				srv.Protocols.SetUnencryptedHTTP2(true)
			}
		},
	})
	f.s.streamWriteTimeout = writeTimeout
	f.s.HTTPHandler() // built before the test reads its fast path
	f.base = serve(t, f.s)
	return f
}

// postCall is one way a tools/call reaches the server over a streamable HTTP POST.
type postCall struct {
	name      string
	version   string
	fastPath  bool   // served by the 2026-07-28 fast path (mcpgo_modern_post.go), else by mcp-go
	forwarder string // the function that starts the goroutine writing the call's notifications
}

var postCalls = []postCall{
	{name: "2025-11-25 session, mcp-go", version: rawmcp.Legacy, forwarder: "(*StreamableHTTPServer).handlePost"},
	{name: "2026-07-28, fast path", version: rawmcp.Modern, fastPath: true, forwarder: "(*modernCall).NotificationChannel"},
}

// call is a tools/call of tool with arguments, asking for progress, as c sends it: its body and
// headers (a 2025-11-25 call in a session opened with hc).
func (f *postFlood) call(t *testing.T, hc *http.Client, c postCall, tool, arguments string) (string, http.Header) {
	t.Helper()
	rc, err := rawmcp.Open(t.Context(), hc, f.base+PathStreamable, c.version)
	require.NoError(t, err)
	meta := `"_meta":{"progressToken":"p"},`
	header := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json, text/event-stream"},
		"Mcp-Protocol-Version": {c.version}}
	if c.version == rawmcp.Modern {
		meta = `"_meta":{"progressToken":"p",` + strings.TrimPrefix(modernMeta, `"_meta":{`)
		header.Set("Mcp-Method", "tools/call")
		header.Set("Mcp-Name", tool)
	} else {
		header.Set("Mcp-Session-Id", rc.Session())
	}
	return `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{` + meta + `"name":"` + tool + `","arguments":` + arguments + `}}`, header
}

// post sends a tools/call of tool with arguments, asking for progress, over an HTTP/1.1
// connection of its own; nothing of the response is read.
func (f *postFlood) post(t *testing.T, c postCall, tool, arguments string) net.Conn {
	t.Helper()
	body, header := f.call(t, http.DefaultClient, c, tool, arguments)
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.base, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	req, err := http.NewRequest(http.MethodPost, f.base+PathStreamable, strings.NewReader(body))
	require.NoError(t, err)
	req.Header = header
	require.NoError(t, req.Write(conn))
	return conn
}

// response reads the head of the response on conn.
func response(t *testing.T, conn net.Conn) *http.Response {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 1<<10), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return resp
}

// ended waits until no POST is served any more.
func (f *postFlood) ended(t *testing.T, what string) {
	t.Helper()
	require.Eventually(t, func() bool { return f.inFlight.Load() == 0 }, 20*time.Second, time.Millisecond, what)
}

// floodUntilCut lets the progress_test call of c send notifications until the POST is no longer
// served, checks that the call was cancelled and its forwarder is gone, and returns how many it
// let the call send.
func (f *postFlood) floodUntilCut(t *testing.T, c postCall) (sent int) {
	t.Helper()
	require.Eventually(t, func() bool {
		select {
		case f.more <- struct{}{}:
			sent++
		case <-f.cancelled:
		}
		return f.inFlight.Load() == 0
	}, 20*time.Second, time.Millisecond, "the POST whose client stopped reading was still served")
	within(t, f.cancelled, "the call is cancelled")
	require.Eventually(t, func() bool { return countCreatedBy(goroutinesByCreator(t), c.forwarder) == 0 },
		10*time.Second, 5*time.Millisecond, "the call's notification forwarder still runs")
	return sent
}

// rest reads the response on conn, what the server sent of it before it closed the connection.
func rest(t *testing.T, conn net.Conn) (*http.Response, []byte) {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(20*time.Second)))
	resp := response(t, conn)
	got, err := io.ReadAll(resp.Body)
	require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "the connection was not closed")
	return resp, got
}

// TestPostsOfClientsThatStopReadingEnd: a client that posts a call and stops reading the answer,
// keeping its connection open, does not hold the call once the socket's buffers are full. The
// write that waits times out, the call is cancelled, the handler and the forwarder of the call's
// notifications return, and the connection closes; the client reads what was sent, then the end.
func TestPostsOfClientsThatStopReadingEnd(t *testing.T) {
	for _, c := range postCalls {
		t.Run(c.name+", progress", func(t *testing.T) {
			f := newPostFlood(t, 200*time.Millisecond, false)
			conn := f.post(t, c, "progress_test", `{}`)
			sent := f.floodUntilCut(t, c)
			if c.fastPath {
				assert.EqualValues(t, 1, f.s.modernPosts.served.Load(), "the fast path served the call")
			}

			resp, got := rest(t, conn)
			assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
			events := readSSE(t, strings.NewReader(string(got)), func(sseEvent) bool { return false })
			notes := 0
			for _, e := range events {
				require.NotContains(t, e.data, `"result"`, "the call was not cut short")
				if strings.Contains(e.data, `"n=`+strconv.Itoa(notes)+`;`) {
					notes++
				}
			}
			assert.Positive(t, notes, "the client got none of the notifications")
			assert.Less(t, notes, sent, "the response ended before the client had everything")
		})
		t.Run(c.name+", large result", func(t *testing.T) {
			f := newPostFlood(t, 200*time.Millisecond, false)
			conn := f.post(t, c, "big_test", `{}`)
			within(t, f.bigCalled, "the call starts")
			f.ended(t, "the POST whose client stopped reading was still served")
			if c.fastPath {
				assert.EqualValues(t, 1, f.s.modernPosts.served.Load(), "the fast path served the call")
			}
			resp, got := rest(t, conn)
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			assert.NotEmpty(t, got, "the client got none of the result")
			assert.Less(t, len(got), bigResult, "the response ended before the client had everything")
		})
	}
}

// TestPostsOverHTTP2OfClientsThatStopReadingEnd: over HTTP/2 a client that stops reading a POST's
// answer spends the stream's flow-control window, and the server's write then waits; it times out
// as over HTTP/1.1. The stream is reset, the call cancelled, the handler and the forwarder return;
// the connection, which the client's other requests share, stays and serves the next call.
func TestPostsOverHTTP2OfClientsThatStopReadingEnd(t *testing.T) {
	for _, c := range postCalls {
		t.Run(c.name, func(t *testing.T) {
			f := newPostFlood(t, 200*time.Millisecond, true)
			var protocols http.Protocols
			protocols.SetUnencryptedHTTP2(true)
			tr := &http.Transport{Protocols: &protocols}
			t.Cleanup(tr.CloseIdleConnections)
			hc := &http.Client{Transport: tr}
			body, header := f.call(t, hc, c, "progress_test", `{}`)
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.base+PathStreamable, strings.NewReader(body))
			require.NoError(t, err)
			req.Header = header
			answered := make(chan *http.Response, 1)
			go func() {
				resp, err := hc.Do(req)
				assert.NoError(t, err)
				answered <- resp
			}()

			f.floodUntilCut(t, c)
			resp := <-answered
			require.NotNil(t, resp)
			assert.Equal(t, 2, resp.ProtoMajor)
			_, err = io.ReadAll(resp.Body)
			require.Error(t, err, "the stream was not reset")

			rc, err := rawmcp.Open(t.Context(), hc, f.base+PathStreamable, c.version)
			require.NoError(t, err)
			out, err := rc.CallTool(t.Context(), "progress_test", `{"count":1}`)
			require.NoError(t, err)
			assert.Contains(t, string(out), `"data":"done"`)
			assert.EqualValues(t, 1, f.conns.Load(), "every request went over the one connection")
		})
	}
}

// TestPipelinedPostsOfClientsThatStopReadingEnd: a client that sends request after request on
// one connection and reads no answer fills the socket's buffers with answers that net/http writes
// once each handler returned (each under 2 KiB, which it holds until then; a legacy /message POST
// is answered 202 without a body); that write times out as well, and the server closes the
// connection rather than wait for the client for good.
func TestPipelinedPostsOfClientsThatStopReadingEnd(t *testing.T) {
	type pipelined struct {
		name    string
		request func(t *testing.T, f *postFlood) *http.Request
	}
	var cases []pipelined
	for _, c := range postCalls {
		cases = append(cases, pipelined{c.name, func(t *testing.T, f *postFlood) *http.Request {
			body, header := f.call(t, http.DefaultClient, c, "big_test", `{"size":1000}`)
			req, err := http.NewRequest(http.MethodPost, f.base+PathStreamable, strings.NewReader(body))
			require.NoError(t, err)
			req.Header = header
			return req
		}})
	}
	cases = append(cases, pipelined{"legacy SSE /message", func(t *testing.T, f *postFlood) *http.Request {
		stream := openSSE(t, f.base)
		req, err := http.NewRequest(http.MethodPost, f.base+PathMessage+"?sessionId="+stream.session,
			strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"ping"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		return req
	}})
	// Answers that are not a POST's: ones that need no credentials, and a refusal.
	for _, c := range []struct{ name, method, path, version string }{
		{"GET /healthz", http.MethodGet, PathHealth, ""},
		{"a path that does not exist", http.MethodGet, "/nothing-here", ""},
		{"DELETE of a session that does not exist", http.MethodDelete, PathStreamable, ""},
		{"GET stream refused: a protocol version not served", http.MethodGet, PathStreamable, "1999-01-01"},
	} {
		cases = append(cases, pipelined{c.name, func(t *testing.T, f *postFlood) *http.Request {
			req, err := http.NewRequest(c.method, f.base+c.path, nil)
			require.NoError(t, err)
			req.Header.Set("Mcp-Session-Id", "made-up")
			if c.version != "" {
				req.Header.Set("Mcp-Protocol-Version", c.version)
			}
			return req
		}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newPostFlood(t, 200*time.Millisecond, false)
			var raw bytes.Buffer
			require.NoError(t, c.request(t, f).Write(&raw))
			conn, err := net.Dial("tcp", strings.TrimPrefix(f.base, "http://"))
			require.NoError(t, err)
			sending := make(chan struct{})
			go func() {
				defer close(sending)
				for {
					if _, err := conn.Write(raw.Bytes()); err != nil {
						return
					}
				}
			}()
			t.Cleanup(func() {
				_ = conn.Close()
				<-sending
			})
			require.Eventually(t, func() bool {
				_, closed := f.closed.Load(conn.LocalAddr().String())
				return closed
			}, 20*time.Second, time.Millisecond, "the connection whose client read no answer was kept")
			assert.Zero(t, f.inFlight.Load())
		})
	}
}

// TestPostsOfSlowClientsAreNotCut: the write deadline bounds each write, not the response. A
// client that falls behind and then reads slowly gets the whole answer, though that takes many
// times the deadline: every notification, then the result; a result far larger than what the
// client reads in one deadline.
func TestPostsOfSlowClientsAreNotCut(t *testing.T) {
	const events = 32 // fewer than a call may queue (modernNotificationBuffer)
	for _, c := range postCalls {
		for _, tool := range []string{"progress_test", "big_test"} {
			t.Run(c.name+", "+tool, func(t *testing.T) {
				f := newPostFlood(t, 250*time.Millisecond, false)
				args := `{}`
				if tool == "progress_test" {
					args = `{"count":` + strconv.Itoa(events) + `}`
				}
				conn := f.post(t, c, tool, args)
				require.NoError(t, conn.SetReadDeadline(time.Now().Add(60*time.Second)))
				resp := response(t, conn)
				got := readSlowly(t, resp)
				f.ended(t, "the POST was still served after its answer")

				if tool == "big_test" {
					assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
					var answer struct {
						ID     int `json:"id"`
						Result struct {
							StructuredContent floodResult `json:"structuredContent"`
						} `json:"result"`
					}
					require.NoError(t, json.Unmarshal(got, &answer), "the whole result arrived")
					assert.Equal(t, 7, answer.ID)
					assert.Len(t, answer.Result.StructuredContent.Data, bigResult)
					return
				}
				assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
				all := readSSE(t, strings.NewReader(string(got)), func(sseEvent) bool { return false })
				require.Len(t, all, events+1, "every notification, then the result")
				for i, e := range all[:events] {
					assert.Contains(t, e.data, `"n=`+strconv.Itoa(i)+`;`, "the notifications arrive in order")
				}
				assert.Contains(t, all[events].data, `"result"`)
				assert.Contains(t, all[events].data, `done`)
			})
		}
	}
}

// readSlowly waits until the server's write to resp waits for the client (the socket's buffers
// full), then reads resp's body to its end, 16 KiB every 5 ms (3.2 MB/s): a 64 KiB write waits
// about 20 ms for it, a write of all of bigResult would wait over a second.
func readSlowly(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	require.Eventually(t, func() bool { return writeBlocked(t, "(*keepAliveWriter).bounded") }, 20*time.Second, time.Millisecond,
		"the server's writes never waited for the client")
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var got []byte
	buf := make([]byte, 16<<10)
	for range tick.C {
		n, err := resp.Body.Read(buf)
		got = append(got, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return got
		}
		require.NoError(t, err, "after %d bytes", len(got))
	}
	return got
}
