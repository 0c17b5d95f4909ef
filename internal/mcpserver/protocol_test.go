package mcpserver

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawStdio is a client that writes raw lines to ServeStdio and reads its answers.
type rawStdio struct {
	t   *testing.T
	in  *io.PipeWriter
	out *bufio.Reader
}

func newRawStdio(t *testing.T) *rawStdio {
	t.Helper()
	return newRawStdioWith(t, newServer(t, Options{}))
}

// newRawStdioWith serves s to a raw client; the test ends by closing the input
// and checking that ServeStdio returned cleanly.
func newRawStdioWith(t *testing.T, s *Server) *rawStdio {
	t.Helper()
	clientToServer, serverIn := io.Pipe()
	serverOut, serverToClient := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- s.ServeStdio(context.Background(), clientToServer, serverToClient)
		_ = serverToClient.Close()
	}()
	c := &rawStdio{t: t, in: serverIn, out: bufio.NewReader(serverOut)}
	t.Cleanup(func() {
		_ = serverIn.Close()
		go func() { _, _ = io.Copy(io.Discard, c.out) }() // what calls still running answer
		assert.NoError(t, <-done, "stdio ends cleanly")
	})
	return c
}

func (c *rawStdio) send(line string) {
	c.t.Helper()
	_, err := io.WriteString(c.in, line+"\n")
	require.NoError(c.t, err)
}

// next returns the next message the server writes (deadline: the test's).
func (c *rawStdio) next() string {
	c.t.Helper()
	got := make(chan string, 1)
	go func() {
		line, _ := c.out.ReadString('\n')
		got <- line
	}()
	select {
	case line := <-got:
		require.NotEmpty(c.t, line, "the server closed its output")
		return strings.TrimSpace(line)
	case <-time.After(30 * time.Second):
		c.t.Fatal("no answer from the server")
		return ""
	}
}

// answer reads messages until the response to id (its raw JSON text).
func (c *rawStdio) answer(id string) map[string]json.RawMessage {
	c.t.Helper()
	for {
		line := c.next()
		var msg map[string]json.RawMessage
		require.NoError(c.t, json.Unmarshal([]byte(line), &msg), line)
		if string(msg["id"]) == id {
			return msg
		}
	}
}

const initializeParams = `"params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}`

func TestRequestIDsAreEchoedExactly(t *testing.T) {
	ids := []string{`18446744073709551617`, `-9223372036854775809`, `1.50`, `1e3`, `12345678901234567890123`, `7`, `"abc"`, `"18446744073709551617"`}
	t.Run("stdio", func(t *testing.T) {
		c := newRawStdio(t)
		c.send(`{"jsonrpc":"2.0","id":18446744073709551617,"method":"initialize",` + initializeParams + `}`)
		init := c.answer(`18446744073709551617`)
		assert.Contains(t, string(init["result"]), `"protocolVersion":"2025-11-25"`)
		c.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
		for _, id := range ids {
			c.send(`{"jsonrpc":"2.0","id":` + id + `,"method":"ping"}`)
			assert.NotNil(t, c.answer(id)["result"], "ping %s", id)
		}
		c.send(`{"jsonrpc":"2.0","id":18446744073709551618,"method":"no/such/method"}`)
		assert.NotNil(t, c.answer(`18446744073709551618`)["error"], "errors carry the exact id too")
	})
	t.Run("streamable HTTP", func(t *testing.T) {
		s := newServer(t, Options{})
		ts := httptest.NewServer(s.Handler())
		t.Cleanup(func() { s.HTTPHandler().CloseSessions(context.Background()); ts.Close() })
		post := func(session, body string) (string, http.Header) {
			req, err := http.NewRequest(http.MethodPost, ts.URL+PathStreamable, strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if session != "" {
				req.Header.Set("Mcp-Session-Id", session)
				req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			return string(b), resp.Header
		}
		body, h := post("", `{"jsonrpc":"2.0","id":18446744073709551617,"method":"initialize",`+initializeParams+`}`)
		assert.Contains(t, body, `"id":18446744073709551617`)
		session := h.Get("Mcp-Session-Id")
		require.NotEmpty(t, session)
		post(session, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
		for _, id := range ids {
			body, _ := post(session, `{"jsonrpc":"2.0","id":`+id+`,"method":"ping"}`)
			assert.Contains(t, body, `"id":`+id+`,`, "ping %s: %s", id, body)
		}
	})
}

func TestRequestsBeforeInitializeAreRefused(t *testing.T) {
	c := newRawStdio(t)
	c.send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`)
	refused := c.answer(`1`)
	require.NotNil(t, refused["error"], "a tools/call before initialize is refused: %s", refused["result"])
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	require.NoError(t, json.Unmarshal(refused["error"], &e))
	assert.Equal(t, -32600, e.Code)
	assert.Contains(t, e.Message, "send initialize first")
	for id, method := range map[string]string{"2": "tools/list", "3": "resources/list", "4": "prompts/list"} {
		c.send(`{"jsonrpc":"2.0","id":` + id + `,"method":"` + method + `"}`)
		assert.NotNil(t, c.answer(id)["error"], method)
	}

	c.send(`{"jsonrpc":"2.0","id":5,"method":"ping"}`)
	assert.NotNil(t, c.answer(`5`)["result"], "ping is served before initialize")
	c.send(`{"jsonrpc":"2.0","id":6,"method":"initialize",` + initializeParams + `}`)
	assert.NotNil(t, c.answer(`6`)["result"])
	c.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	c.send(`{"jsonrpc":"2.0","id":7,"method":"tools/list"}`)
	assert.NotNil(t, c.answer(`7`)["result"], "served once initialized")
}

// streamLine streams one JSON-RPC line of n bytes without holding it in memory.

func streamLine(n int) io.Reader {
	head := `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"`
	tail := "\"}}\n"
	return io.MultiReader(strings.NewReader(head), io.LimitReader(repeatByte('a'), int64(n-len(head)-len(tail))), strings.NewReader(tail))
}

type repeatByte byte

func (r repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func TestStdioRefusesAnOverlongLineAndGoesOn(t *testing.T) {
	c := newRawStdio(t)
	c.send(`{"jsonrpc":"2.0","id":0,"method":"initialize",` + initializeParams + `}`)
	c.answer(`0`)
	c.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)

	const size = 128 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(c.in, streamLine(size))
		sent <- err
	}()
	refused := c.answer(`null`)
	require.NoError(t, <-sent)
	runtime.ReadMemStats(&after)
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	require.NoError(t, json.Unmarshal(refused["error"], &e))
	assert.Equal(t, -32600, e.Code)
	assert.Contains(t, e.Message, "larger than 4 MiB")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(32<<20), "a %d MiB line is not buffered", size>>20)

	c.send(`{"jsonrpc":"2.0","id":2,"method":"ping"}`)
	assert.NotNil(t, c.answer(`2`)["result"], "the server goes on serving")
	// A line just under the limit is served.
	go func() { _, _ = io.Copy(c.in, streamLine(4<<20-1)) }()
	assert.NotNil(t, c.answer(`1`)["result"])
}

// TestLegacySSERefusesRequestsBeforeInitialize: over a legacy SSE session, a
// tools/call posted before initialize is answered, on the stream, with an error.
func TestLegacySSERefusesRequestsBeforeInitialize(t *testing.T) {
	s := newServer(t, Options{})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { s.HTTPHandler().CloseSessions(context.Background()); ts.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+PathSSE, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	events := bufio.NewScanner(resp.Body)
	data := func() string {
		for events.Scan() {
			if d, ok := strings.CutPrefix(events.Text(), "data: "); ok {
				return strings.TrimSpace(d)
			}
		}
		t.Fatal("the stream ended")
		return ""
	}
	endpoint := data()
	require.Contains(t, endpoint, "sessionId=")
	post := func(body string) {
		resp, err := http.Post(ts.URL+endpoint, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusAccepted, resp.StatusCode)
	}
	post(`{"jsonrpc":"2.0","id":18446744073709551617,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`)
	refused := data()
	assert.Contains(t, refused, `"id":18446744073709551617`)
	assert.Contains(t, refused, `"code":-32600`)
	assert.Contains(t, refused, "send initialize first")
	post(`{"jsonrpc":"2.0","id":2,"method":"initialize",` + initializeParams + `}`)
	assert.Contains(t, data(), `"protocolVersion":"2025-11-25"`)
	post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	post(`{"jsonrpc":"2.0","id":3,"method":"tools/list"}`)
	assert.Contains(t, data(), `"tools":[`, "served once initialized")
}
