package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/audit"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/httpsec"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/rawmcp"
)

// modernMeta is the _meta member of an ordinary 2026-07-28 request, with its comma.
const modernMeta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",` +
	`"io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}},`

// modernCase is one POST to /mcp: the body and the headers besides Content-Type and
// Mcp-Protocol-Version (2026-07-28 unless set here; an empty value removes a header).
type modernCase struct {
	name   string
	body   string
	header []string
	host   string
	fast   bool // answered by the fast path
}

// modernCases are ordinary requests, which the fast path serves, and every kind of unusual
// one, which it leaves to mcp-go.
var modernCases = []modernCase{
	{name: "get_endpoint", fast: true,
		body:   `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{` + modernMeta + `"name":"get_endpoint","arguments":{"endpoint_name":"same"}}}`,
		header: []string{"Mcp-Method", "tools/call", "Mcp-Name", "get_endpoint"}},
	{name: "a string id and a charset", fast: true,
		body:   `{"jsonrpc":"2.0","id":"a-7","method":"tools/call","params":{` + modernMeta + `"name":"get_endpoint","arguments":{"endpoint_name":"same"}}}`,
		header: []string{"Mcp-Method", "tools/call", "Mcp-Name", "get_endpoint", "Content-Type", "application/json; charset=utf-8"}},
	{name: "tools/list", fast: true,
		body:   `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{` + strings.TrimSuffix(modernMeta, ",") + `}}`,
		header: []string{"Mcp-Method", "tools/list"}},
	{name: "a tool error", fast: true,
		body:   `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{` + modernMeta + `"name":"get_endpoint","arguments":{"endpoint_name":"nope"}}}`,
		header: []string{"Mcp-Method", "tools/call", "Mcp-Name", "get_endpoint"}},
	{name: "bad arguments", fast: true,
		body:   `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{` + modernMeta + `"name":"get_endpoint","arguments":{"endpoint":"typo"}}}`,
		header: []string{"Mcp-Method", "tools/call", "Mcp-Name", "get_endpoint"}},
	{name: "an unknown method (404)", fast: true,
		body:   `{"jsonrpc":"2.0","id":4,"method":"nothing/here","params":{` + strings.TrimSuffix(modernMeta, ",") + `}}`,
		header: []string{"Mcp-Method", "nothing/here"}},
	{name: "logging/setLevel, removed in this version", fast: true,
		body:   `{"jsonrpc":"2.0","id":4,"method":"logging/setLevel","params":{` + modernMeta + `"level":"debug"}}`,
		header: []string{"Mcp-Method", "logging/setLevel"}},
	{name: "no client capabilities (400)", fast: true,
		body:   `{"jsonrpc":"2.0","id":5,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
		header: []string{"Mcp-Method", "tools/list"}},
	{name: "a resource that does not exist", fast: true,
		body:   `{"jsonrpc":"2.0","id":6,"method":"resources/read","params":{` + modernMeta + `"uri":"hf-endpoint://emulator-user/nope"}}`,
		header: []string{"Mcp-Method", "resources/read", "Mcp-Name", "hf-endpoint://emulator-user/nope"}},

	{name: "Mcp-Method mismatch",
		body:   `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{` + modernMeta + `"name":"get_endpoint","arguments":{"endpoint_name":"same"}}}`,
		header: []string{"Mcp-Method", "tools/list", "Mcp-Name", "get_endpoint"}},
	{name: "no Mcp-Method",
		body:   `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{` + modernMeta + `"name":"get_endpoint","arguments":{"endpoint_name":"same"}}}`,
		header: []string{"Mcp-Name", "get_endpoint"}},
	{name: "no Mcp-Name",
		body:   `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{` + modernMeta + `"name":"get_endpoint","arguments":{"endpoint_name":"same"}}}`,
		header: []string{"Mcp-Method", "tools/call"}},
	{name: "Mcp-Name mismatch",
		body:   `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{` + modernMeta + `"name":"get_endpoint","arguments":{"endpoint_name":"same"}}}`,
		header: []string{"Mcp-Method", "tools/call", "Mcp-Name", "list_endpoints"}},
	{name: "an unknown tool",
		body:   `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{` + modernMeta + `"name":"no_such_tool","arguments":{}}}`,
		header: []string{"Mcp-Method", "tools/call", "Mcp-Name", "no_such_tool"}},
	{name: "Last-Event-ID",
		body:   `{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{` + strings.TrimSuffix(modernMeta, ",") + `}}`,
		header: []string{"Mcp-Method", "tools/list", "Last-Event-ID", "1"}},
	{name: "an Mcp-Session-Id",
		body:   `{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{` + strings.TrimSuffix(modernMeta, ",") + `}}`,
		header: []string{"Mcp-Method", "tools/list", "Mcp-Session-Id", "stale"}},
	{name: "a response",
		body:   `{"jsonrpc":"2.0","id":7,"result":{"content":[]}}`,
		header: []string{"Mcp-Method", "tools/list"}},
	{name: "an empty response", body: `{"jsonrpc":"2.0","id":7,"result":{}}`},
	{name: "a notification",
		body:   `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99}}`,
		header: []string{"Mcp-Method", "notifications/cancelled"}},
	{name: "initialize",
		body:   `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{` + modernMeta + `"protocolVersion":"2026-07-28","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`,
		header: []string{"Mcp-Method", "initialize"}},
	{name: "an unsupported version",
		body:   strings.ReplaceAll(`{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{`+strings.TrimSuffix(modernMeta, ",")+`}}`, "2026-07-28", "2099-01-01"),
		header: []string{"Mcp-Method", "tools/list", "Mcp-Protocol-Version", "2099-01-01"}},
	{name: "header and body versions differ",
		body:   `{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25"}}}`,
		header: []string{"Mcp-Method", "tools/list"}},
	{name: "no version in the body",
		body:   `{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{}}`,
		header: []string{"Mcp-Method", "tools/list"}},
	{name: "no version header",
		body:   `{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{` + strings.TrimSuffix(modernMeta, ",") + `}}`,
		header: []string{"Mcp-Method", "tools/list", "Mcp-Protocol-Version", ""}},
	{name: "wrong content type",
		body:   `{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{` + strings.TrimSuffix(modernMeta, ",") + `}}`,
		header: []string{"Mcp-Method", "tools/list", "Content-Type", "text/plain"}},
	{name: "not JSON", body: `{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{`, header: []string{"Mcp-Method", "tools/list"}},
	{name: "a batch",
		body:   `[{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{` + strings.TrimSuffix(modernMeta, ",") + `}}]`,
		header: []string{"Mcp-Method", "tools/list"}},
	{name: "JSON-RPC 1.0",
		body:   `{"jsonrpc":"1.0","id":7,"method":"tools/list","params":{` + strings.TrimSuffix(modernMeta, ",") + `}}`,
		header: []string{"Mcp-Method", "tools/list"}},
	{name: "Params in another case",
		body:   `{"jsonrpc":"2.0","id":7,"method":"tools/list","Params":{` + strings.TrimSuffix(modernMeta, ",") + `}}`,
		header: []string{"Mcp-Method", "tools/list"}},
	{name: "a duplicate params",
		body:   `{"jsonrpc":"2.0","id":7,"method":"tools/list","params":[],"params":{` + strings.TrimSuffix(modernMeta, ",") + `}}`,
		header: []string{"Mcp-Method", "tools/list"}},
	{name: "an escaped method",
		body:   `{"jsonrpc":"2.0","id":7,"method":"tools\/list","params":{` + strings.TrimSuffix(modernMeta, ",") + `}}`,
		header: []string{"Mcp-Method", "tools/list"}},
	{name: "a null id",
		body:   `{"jsonrpc":"2.0","id":null,"method":"tools/list","params":{` + strings.TrimSuffix(modernMeta, ",") + `}}`,
		header: []string{"Mcp-Method", "tools/list"}},
	{name: "a foreign Host on loopback",
		body:   `{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{` + strings.TrimSuffix(modernMeta, ",") + `}}`,
		header: []string{"Mcp-Method", "tools/list"}, host: "evil.example"},
}

// emulatorRequestIDs are the request ids the emulator's errors carry, different in each answer.
var emulatorRequestIDs = regexp.MustCompile(`emu-[0-9a-f]+-[0-9a-f]+`)

// modernPair serves one emulator account twice: with the fast path, and through mcp-go alone.
func modernPair(t *testing.T) (fast, mcpgo *Server, fastURL, mcpgoURL string) {
	t.Helper()
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Timings: emulator.Timings{Deploy: time.Millisecond, IdleMinute: time.Hour}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	client, err := hfapi.New(emuConfig(emu, emu.Token()))
	require.NoError(t, err)
	createEndpoint(t, client, "same")
	_, err = client.Wait(t.Context(), "", "same", hfapi.WaitOptions{Timeout: 10 * time.Second, Poll: time.Millisecond})
	require.NoError(t, err)
	fast, mcpgo = newServer(t, Options{Client: client}), newServer(t, Options{Client: client})
	mcpgo.modernPostsOff = true
	fast.HTTPHandler() // built before the test reads its fast path
	return fast, mcpgo, serve(t, fast), serve(t, mcpgo)
}

// postCase posts c to base's /mcp and returns the answer with its body read.
func postCase(t *testing.T, base string, c modernCase) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+PathStreamable, strings.NewReader(c.body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(mcp.HeaderProtocolVersion, "2026-07-28")
	for i := 0; i+1 < len(c.header); i += 2 {
		if c.header[i+1] == "" {
			req.Header.Del(c.header[i])
		} else {
			req.Header.Set(c.header[i], c.header[i+1])
		}
	}
	if c.host != "" {
		req.Host = c.host
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// TestModernPostsAnswerAsMCPGoDoes: every request gets, byte for byte, the answer mcp-go's
// transport gives it (status, headers, body); ordinary ones are served by the fast path, the
// unusual ones are not.
func TestModernPostsAnswerAsMCPGoDoes(t *testing.T) {
	fast, _, fastURL, mcpgoURL := modernPair(t)
	for _, c := range modernCases {
		t.Run(c.name, func(t *testing.T) {
			before := fast.modernPosts.served.Load()
			got, gotBody := postCase(t, fastURL, c)
			assert.Equal(t, c.fast, fast.modernPosts.served.Load() > before, "served by the fast path")
			want, wantBody := postCase(t, mcpgoURL, c)
			assert.Equal(t, want.StatusCode, got.StatusCode, "status")
			assert.Equal(t, emulatorRequestIDs.ReplaceAllString(string(wantBody), "emu-…"),
				emulatorRequestIDs.ReplaceAllString(string(gotBody), "emu-…"), "body")
			got.Header.Del("Date")
			want.Header.Del("Date")
			assert.Equal(t, want.Header, got.Header, "headers")
			if c.fast {
				assert.NotEmpty(t, gotBody)
			}
		})
	}
}

// TestModernPostsLeaveListenStreamsToMCPGo: subscriptions/listen needs mcp-go's registry of
// listening sessions, so the fast path never takes it.
func TestModernPostsLeaveListenStreamsToMCPGo(t *testing.T) {
	fast, _, fastURL, _ := modernPair(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fastURL+PathStreamable, strings.NewReader(
		`{"jsonrpc":"2.0","id":9,"method":"subscriptions/listen","params":{`+modernMeta+`"notifications":{"toolsListChanged":true}}}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(mcp.HeaderProtocolVersion, "2026-07-28")
	req.Header.Set(mcp.HeaderMethod, "subscriptions/listen")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"), "a listen stream is open")
	assert.Zero(t, fast.modernPosts.served.Load(), "not served by the fast path")
}

// TestModernPostsDeliverProgressBeforeTheResult: a wait over the fast path writes every
// progress notification it sends, the ready state last, on its response before the result,
// as an event stream; and the official SDK receives them.
func TestModernPostsDeliverProgressBeforeTheResult(t *testing.T) {
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Timings: emulator.Timings{Deploy: 30 * time.Millisecond, IdleMinute: time.Hour}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	client, err := hfapi.New(emuConfig(emu, emu.Token()))
	require.NoError(t, err)
	s := newServer(t, Options{Client: client, WaitPoll: 5 * time.Millisecond, Heartbeat: time.Hour})
	s.HTTPHandler()
	base := serve(t, s)

	t.Run("on the wire", func(t *testing.T) {
		through := newServer(t, Options{Client: client, WaitPoll: 5 * time.Millisecond, Heartbeat: time.Hour})
		through.modernPostsOff = true
		var headers []http.Header
		for i, url := range []string{base, serve(t, through)} {
			name := fmt.Sprintf("wire%d", i)
			createEndpoint(t, client, name)
			rc, err := rawmcp.Open(t.Context(), http.DefaultClient, url+PathStreamable, rawmcp.Modern)
			require.NoError(t, err)
			resp, body, err := rc.Post(t.Context(), `{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"_meta":{"progressToken":"w",`+
				strings.TrimPrefix(modernMeta, `"_meta":{`)+`"name":"wait_for_endpoint","arguments":{"endpoint_name":"`+name+`","poll_seconds":0.01}}}`,
				"Mcp-Method", "tools/call", "Mcp-Name", "wait_for_endpoint")
			require.NoError(t, err)
			resp.Header.Del("Date")
			headers = append(headers, resp.Header)
			events := sseData(t, body)
			require.GreaterOrEqual(t, len(events), 3, "progress, then the result: %s", body)
			last := events[len(events)-1]
			assert.Contains(t, string(last), `"id":11`, "the result is the last event")
			assert.Contains(t, string(last), `"ready":true`)
			var lastProgress string
			for _, ev := range events[:len(events)-1] {
				var n struct {
					Method string `json:"method"`
					Params struct {
						ProgressToken string `json:"progressToken"`
						Message       string `json:"message"`
					} `json:"params"`
				}
				require.NoError(t, json.Unmarshal(ev, &n))
				assert.Equal(t, "notifications/progress", n.Method)
				assert.Equal(t, "w", n.Params.ProgressToken)
				lastProgress = n.Params.Message
			}
			assert.Contains(t, lastProgress, "running — 1/1 replicas ready", "the ready state is reported before the result")
		}
		assert.Positive(t, s.modernPosts.served.Load(), "the first was served by the fast path")
		assert.Equal(t, headers[1], headers[0], "the event stream's headers are mcp-go's")
	})

	t.Run("official SDK", func(t *testing.T) {
		createEndpoint(t, client, "sdk")
		var mu sync.Mutex
		var notes []string
		arrived := make(chan struct{}, 100)
		c := sdk.NewClient(&sdk.Implementation{Name: "progress-test", Version: "1"}, &sdk.ClientOptions{
			ProgressNotificationHandler: func(_ context.Context, req *sdk.ProgressNotificationClientRequest) {
				mu.Lock()
				notes = append(notes, req.Params.Message)
				mu.Unlock()
				arrived <- struct{}{}
			}})
		cs, err := c.Connect(t.Context(), &sdk.StreamableClientTransport{Endpoint: base + PathStreamable, MaxRetries: -1},
			&sdk.ClientSessionOptions{ProtocolVersion: rawmcp.Modern})
		require.NoError(t, err)
		t.Cleanup(func() { _ = cs.Close() })
		before := s.modernPosts.served.Load()
		params := &sdk.CallToolParams{Name: "wait_for_endpoint", Arguments: map[string]any{"endpoint_name": "sdk", "poll_seconds": 0.01}}
		params.SetProgressToken("sdk")
		res, err := cs.CallTool(t.Context(), params)
		require.NoError(t, err)
		require.False(t, res.IsError)
		assert.Greater(t, s.modernPosts.served.Load(), before, "served by the fast path")
		deadline := time.After(10 * time.Second)
		for {
			mu.Lock()
			got := slices.Clone(notes)
			mu.Unlock()
			if slices.ContainsFunc(got, func(m string) bool { return strings.Contains(m, "running — 1/1 replicas ready") }) {
				break
			}
			select {
			case <-arrived:
			case <-deadline:
				t.Fatalf("the ready state never arrived: %q", got)
			}
		}
	})
}

// sseData returns the data of each event in an SSE body.
func sseData(t *testing.T, body []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for _, ev := range bytes.Split(bytes.TrimSpace(body), []byte("\n\n")) {
		lines := bytes.Split(ev, []byte("\n"))
		require.Len(t, lines, 2, "an event: %q", ev)
		assert.Equal(t, "event: message", string(lines[0]))
		data, ok := bytes.CutPrefix(lines[1], []byte("data: "))
		require.True(t, ok, "%q", lines[1])
		out = append(out, data)
	}
	return out
}

// TestModernPostsStayBehindTheHTTPMiddleware: the fast path is inside the HTTP protections:
// auth refuses a call without a token before it (TestTokenReachesNoClientInAnyEncoding shows
// its answers scrubbed).
func TestModernPostsStayBehindTheHTTPMiddleware(t *testing.T) {
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Timings: emulator.Timings{Deploy: time.Millisecond}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	const authToken = "mcp-auth-token-0123456789abcdef"
	s := newServer(t, Options{Client: emuClient(t, emu, emu.Token()),
		HTTP: HTTPOptions{Security: &httpsec.Config{Auth: httpsec.AuthOptions{Token: authToken}}}})
	require.NoError(t, s.RegisterTools())
	s.HTTPHandler()
	base := serve(t, s)
	call := modernCases[0]

	resp, _ := postCase(t, base, call)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no token, no call")
	assert.Zero(t, s.modernPosts.served.Load())

	call.header = append(slices.Clone(call.header), "Authorization", "Bearer "+authToken)
	resp, body := postCase(t, base, call)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Equal(t, int64(1), s.modernPosts.served.Load(), "served by the fast path")
}

// TestModernPostsCheckDeclaredParamHeaders: a tool that binds an argument to an Mcp-Param-*
// header has it checked as mcp-go does; a call whose header disagrees is left to mcp-go.
func TestModernPostsCheckDeclaredParamHeaders(t *testing.T) {
	s := newServer(t, Options{})
	s.mcp.AddTool(mcp.NewToolWithRawSchema("region_echo", "echoes",
		json.RawMessage(`{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"}}}`)),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(req.GetString("region", "")), nil
		})
	s.HTTPHandler()
	base := serve(t, s)
	call := func(header string) modernCase {
		return modernCase{body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{` + modernMeta + `"name":"region_echo","arguments":{"region":"eu"}}}`,
			header: []string{"Mcp-Method", "tools/call", "Mcp-Name", "region_echo", "Mcp-Param-Region", header}}
	}
	resp, body := postCase(t, base, call("eu"))
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Equal(t, int64(1), s.modernPosts.served.Load(), "a matching header: served by the fast path")

	resp, body = postCase(t, base, call("us"))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, string(body), "Mcp-Param-Region", "mcp-go names the header that disagrees")
	assert.Equal(t, int64(1), s.modernPosts.served.Load(), "a mismatch is left to mcp-go")

	// The tool is replaced by one without bindings: the header is no longer checked.
	s.mcp.AddTool(mcp.NewToolWithRawSchema("region_echo", "echoes",
		json.RawMessage(`{"type":"object","properties":{"region":{"type":"string"}}}`)),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("x"), nil
		})
	resp, body = postCase(t, base, call("us"))
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Equal(t, int64(2), s.modernPosts.served.Load())
}

// FuzzModernPostConditions: whatever the fast path takes, mcp-go's transport would hand to
// HandleMessage with headers that pass its check, read as mcp-go reads them (encoding/json).
func FuzzModernPostConditions(f *testing.F) {
	for _, c := range modernCases {
		f.Add(c.body, headerValue(c.header, "Mcp-Method"), headerValue(c.header, "Mcp-Name"))
	}
	s, err := New(Options{NewClient: noToken})
	require.NoError(f, err)
	require.NoError(f, s.RegisterTools())
	s.HTTPHandler()
	posts := s.modernPosts
	f.Fuzz(func(t *testing.T, body, method, name string) {
		r, err := http.NewRequest(http.MethodPost, PathStreamable, nil)
		require.NoError(t, err)
		r.Body = httpsec.NewBufferedBody([]byte(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set(mcp.HeaderProtocolVersion, "2026-07-28")
		r.Header.Set(mcp.HeaderMethod, method)
		r.Header.Set(mcp.HeaderName, name)
		var msg struct {
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		if json.Unmarshal([]byte(body), &msg) == nil && msg.Method != "" && bytes.HasPrefix(msg.Params, []byte("{")) {
			want := mcp.ValidateStandardHeaders(r.Header.Get, "2026-07-28", mcp.MCPMethod(msg.Method), msg.Params)
			assert.Equal(t, want == nil, standardHeadersMatch(r.Header, "2026-07-28", mcp.MCPMethod(msg.Method), msg.Params),
				"standardHeadersMatch agrees with mcp.ValidateStandardHeaders (%v)", want)
		}
		if _, ok := posts.ordinary(r); !ok {
			return
		}
		// handlePost's reading.
		var head struct {
			ID     json.RawMessage `json:"id"`
			Result json.RawMessage `json:"result,omitempty"`
			Error  json.RawMessage `json:"error,omitempty"`
			Method mcp.MCPMethod   `json:"method,omitempty"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &head))
		require.NotEmpty(t, head.Method)
		require.NotEqual(t, mcp.MethodSubscriptionsListen, head.Method)
		require.NotEqual(t, mcp.MethodInitialize, head.Method)
		var era struct {
			Params struct {
				Meta *mcp.Meta `json:"_meta"`
			} `json:"params"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &era))
		require.Equal(t, "2026-07-28", era.Params.Meta.ProtocolVersion())
		// HandleMessage's reading.
		var base struct {
			JSONRPC string        `json:"jsonrpc"`
			Method  mcp.MCPMethod `json:"method"`
			ID      any           `json:"id,omitempty"`
			Result  any           `json:"result,omitempty"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &base))
		require.Equal(t, mcp.JSONRPC_VERSION, base.JSONRPC)
		require.NotNil(t, base.ID)
		require.Nil(t, base.Result)
		var wrapper struct {
			Params json.RawMessage `json:"params"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &wrapper))
		require.NoError(t, mcp.ValidateStandardHeaders(r.Header.Get, "2026-07-28", base.Method, wrapper.Params))
		if base.Method == mcp.MethodToolsCall {
			var call struct {
				Name string `json:"name"`
			}
			require.NoError(t, json.Unmarshal(wrapper.Params, &call))
			tool := s.mcp.GetTool(call.Name)
			require.NotNil(t, tool, "a tool the server has")
			require.NoError(t, mcp.ValidateParamHeadersLookup(func(h string) (string, bool) {
				v := r.Header.Values(h)
				if len(v) == 0 {
					return "", false
				}
				return v[0], true
			}, &tool.Tool, wrapper.Params))
		}
	})
}

func headerValue(header []string, name string) string {
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == name {
			return header[i+1]
		}
	}
	return ""
}

// TestModernPostsCancelCalls: a call on the fast path is cancelled when its client goes away, and
// by notifications/cancelled naming its id (which mcp-go's transport serves), as before.
func TestModernPostsCancelCalls(t *testing.T) {
	for _, how := range []string{"client goes", "notifications/cancelled"} {
		t.Run(how, func(t *testing.T) {
			s := newServer(t, Options{})
			started, cancelled := make(chan struct{}), make(chan struct{})
			s.mcp.AddTool(mcp.NewToolWithRawSchema("block", "blocks", json.RawMessage(`{"type":"object","properties":{}}`)),
				func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
					close(started)
					<-ctx.Done()
					close(cancelled)
					return nil, ctx.Err()
				})
			s.HTTPHandler()
			base := serve(t, s)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+PathStreamable, strings.NewReader(
				`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{`+modernMeta+`"name":"block","arguments":{}}}`))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(mcp.HeaderProtocolVersion, "2026-07-28")
			req.Header.Set(mcp.HeaderMethod, "tools/call")
			req.Header.Set(mcp.HeaderName, "block")
			answered := make(chan error, 1)
			go func() {
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					_, err = io.ReadAll(resp.Body)
					_ = resp.Body.Close()
				}
				answered <- err
			}()
			select {
			case <-started:
			case <-time.After(10 * time.Second):
				t.Fatal("the call never started")
			}
			assert.Equal(t, int64(1), s.modernPosts.served.Load(), "served by the fast path")
			if how == "client goes" {
				cancel()
			} else {
				resp, _ := postCase(t, base, modernCase{
					body:   `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":42}}`,
					header: []string{"Mcp-Method", "notifications/cancelled"}})
				assert.Equal(t, http.StatusAccepted, resp.StatusCode)
			}
			select {
			case <-cancelled:
			case <-time.After(10 * time.Second):
				t.Fatal("the call was not cancelled")
			}
			if how == "client goes" {
				assert.ErrorIs(t, <-answered, context.Canceled)
			} else {
				assert.NoError(t, <-answered, "the call is answered")
			}
		})
	}
}

// TestModernPostsKeepTheToolMiddleware: calls on the fast path pass the tool middleware as any
// other: the audit log names their transport and client, and the call cap answers "busy".
func TestModernPostsKeepTheToolMiddleware(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	log, err := audit.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = log.Close() })
	s := newServer(t, Options{Audit: log, MaxConcurrentCalls: 1})
	require.NoError(t, s.RegisterTools())
	started, release := make(chan struct{}), make(chan struct{})
	s.mcp.AddTool(mcp.NewToolWithRawSchema("block", "blocks", json.RawMessage(`{"type":"object","properties":{}}`)),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			close(started)
			<-release
			return mcp.NewToolResultText("released"), nil
		})
	s.HTTPHandler()
	base := serve(t, s)
	call := func(name, args string) string {
		_, body := postCase(t, base, modernCase{
			body:   `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{` + modernMeta + `"name":"` + name + `","arguments":` + args + `}}`,
			header: []string{"Mcp-Method", "tools/call", "Mcp-Name", name}})
		return string(body)
	}

	assert.Contains(t, call("delete_endpoint", `{"endpoint_name":"ep"}`), `"isError":true`)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var e audit.Entry
	require.NoError(t, json.Unmarshal(bytes.TrimSpace(raw), &e), "one line: %s", raw)
	assert.Equal(t, "delete_endpoint", e.Tool)
	assert.Equal(t, "streamable-http 2026-07-28", e.Transport)
	assert.Equal(t, "raw/1", e.Client)

	blocked := make(chan string, 1)
	go func() { blocked <- call("block", `{}`) }()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the blocking call never started")
	}
	assert.Contains(t, call("get_endpoint", `{"endpoint_name":"ep"}`), "server busy", "the call cap holds")
	close(release)
	assert.Contains(t, <-blocked, "released")
	assert.Equal(t, int64(3), s.modernPosts.served.Load(), "all served by the fast path")
}
