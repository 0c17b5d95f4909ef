package mcpserver

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/tools"
)

type askArgs struct {
	Question string `json:"question"`
}

type askResult struct {
	Answer string `json:"answer"`
}

func (askResult) Summary() string { return "answered" }

// testTool is a read-only tool of the endpoints toolset running fn.
func testTool[In any, Out tools.Result](name string, fn func(context.Context, *tools.Call, In) (Out, error)) tools.Tool {
	return tools.Tool{Name: name, Title: name, Description: "Example: {}", Toolset: tools.EndpointsRead,
		Hints:   tools.Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false},
		Handler: tools.Handle(fn)}
}

// stdioServerWith is a server with the given extra tools and hooks, whose tools need no API.
func stdioServerWith(t *testing.T, hooks *server.Hooks, extra ...tools.Tool) *Server {
	return newServer(t, Options{NewClient: func(context.Context) (*hfapi.Client, error) { return &hfapi.Client{}, nil },
		ExtraTools: extra, Hooks: hooks})
}

// initialize opens a 2025-11-25 session that can answer forms.
func (c *rawStdio) initialize() {
	c.t.Helper()
	c.send(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25",` +
		`"capabilities":{"elicitation":{"form":{}}},"clientInfo":{"name":"raw","version":"1"}}}`)
	c.answer(`0`)
	c.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
}

// message is the next message the server writes, decoded.
func (c *rawStdio) message() map[string]json.RawMessage {
	c.t.Helper()
	line := c.next()
	var msg map[string]json.RawMessage
	require.NoError(c.t, json.Unmarshal([]byte(line), &msg), line)
	return msg
}

func TestStdioRoutesEachAnswerToTheRequestWaitingForIt(t *testing.T) {
	ask := testTool("ask_test", func(ctx context.Context, _ *tools.Call, in askArgs) (askResult, error) {
		res, err := server.ServerFromContext(ctx).RequestElicitation(ctx, mcpgo.ElicitationRequest{Params: mcpgo.ElicitationParams{
			Message:         in.Question,
			RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{"answer": map[string]any{"type": "string"}}},
		}})
		if err != nil {
			return askResult{}, err
		}
		content, _ := res.Content.(map[string]any)
		answer, _ := content["answer"].(string)
		return askResult{Answer: string(res.Action) + ":" + answer}, nil
	})
	c := newRawStdioWith(t, stdioServerWith(t, nil, ask))
	c.initialize()

	c.send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"ask_test","arguments":{"question":"two?"}}}`)
	c.send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"ask_test","arguments":{"question":"three?"}}}`)
	asked := map[string]string{} // question → the id the server gave its request
	for range 2 {
		msg := c.message()
		require.Equal(t, `"elicitation/create"`, string(msg["method"]), "the server asks the client")
		var params struct {
			Message string `json:"message"`
		}
		require.NoError(t, json.Unmarshal(msg["params"], &params))
		asked[params.Message] = string(msg["id"])
	}
	require.Len(t, asked, 2)
	require.NotEqual(t, asked["two?"], asked["three?"], "each request has an id of its own")

	// Answers to requests nobody waits for are ignored, results and errors alike: nothing is written back.
	c.send(`{"jsonrpc":"2.0","id":999,"result":{"action":"accept","content":{"answer":"stray"}}}`)
	c.send(`{"jsonrpc":"2.0","id":998,"error":{"code":-32600,"message":"stray"}}`)
	c.send(`{"jsonrpc":"2.0","id":"not-ours","result":{}}`)
	c.send(`{"jsonrpc":"2.0","id":4,"method":"ping"}`)
	assert.Equal(t, `4`, string(c.message()["id"]), "the next message is the ping's answer")

	// Answered in the other order, each call gets its own answer.
	c.send(`{"jsonrpc":"2.0","id":` + asked["three?"] + `,"result":{"action":"accept","content":{"answer":"3"}}}`)
	c.send(`{"jsonrpc":"2.0","id":` + asked["two?"] + `,"result":{"action":"accept","content":{"answer":"2"}}}`)
	results := map[string]string{}
	for range 2 {
		msg := c.message()
		results[string(msg["id"])] = string(msg["result"])
	}
	assert.Contains(t, results[`2`], `"answer":"accept:2"`)
	assert.Contains(t, results[`3`], `"answer":"accept:3"`)

	// A client's error answers the request with that error.
	c.send(`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"ask_test","arguments":{"question":"five?"}}}`)
	msg := c.message()
	require.Equal(t, `"elicitation/create"`, string(msg["method"]))
	c.send(`{"jsonrpc":"2.0","id":` + string(msg["id"]) + `,"error":{"code":-32601,"message":"forms are off"}}`)
	assert.Contains(t, string(c.answer(`5`)["result"]), "forms are off")
}

func TestStdioClientStopsWaitingWhenItsContextEnds(t *testing.T) {
	serverOut, serverToClient := io.Pipe()
	client := newStdioClient(&stdioOut{w: serverToClient, s: newServer(t, Options{})})
	written := make(chan string, 1)
	go func() {
		line, _ := readLine(serverOut)
		written <- line
	}()
	ctx, cancel := context.WithCancel(t.Context())
	asked := make(chan error, 1)
	go func() {
		_, err := client.RequestElicitation(ctx, mcpgo.ElicitationRequest{Params: mcpgo.ElicitationParams{Message: "sure?"}})
		asked <- err
	}()
	var req struct {
		ID json.RawMessage `json:"id"`
	}
	require.NoError(t, json.Unmarshal([]byte(<-written), &req))
	cancel()
	require.ErrorIs(t, <-asked, context.Canceled)
	assert.False(t, client.deliver(req.ID, json.RawMessage(`{"action":"accept"}`), nil), "an answer after the request gave up goes nowhere")
	assert.Empty(t, client.waiting, "nothing is left waiting")
}

// readLine reads one line from r, byte by byte (no read-ahead).
func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	one := make([]byte, 1)
	for {
		if _, err := r.Read(one); err != nil {
			return b.String(), err
		}
		if one[0] == '\n' {
			return b.String(), nil
		}
		b.WriteByte(one[0])
	}
}

func TestStdioAnswersAPanickingHandlerWithTheRequestsID(t *testing.T) {
	hooks := &server.Hooks{}
	hooks.AddBeforePing(func(context.Context, any, *mcpgo.PingRequest) { panic("boom") })
	c := newRawStdioWith(t, stdioServerWith(t, hooks))
	c.initialize()

	c.send(`{"jsonrpc":"2.0","id":"p-1","method":"ping"}`)
	answer := c.answer(`"p-1"`)
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	require.NoError(t, json.Unmarshal(answer["error"], &e), "a panic is answered as an error: %s", answer)
	assert.Equal(t, mcpgo.INTERNAL_ERROR, e.Code)
	assert.Contains(t, e.Message, "boom")
	c.send(`{"jsonrpc":"2.0","id":18446744073709551617,"method":"ping"}`)
	assert.NotNil(t, c.answer(`18446744073709551617`)["error"], "with its exact id")

	c.send(`{"jsonrpc":"2.0","id":6,"method":"tools/list"}`)
	assert.NotNil(t, c.answer(`6`)["result"], "the server goes on serving")
}

// blocker is a tool that reports its start, blocks until its context ends,
// reports that, and returns once proceed is closed.
type blocker struct {
	started, cancelled, proceed chan struct{}
	finished                    atomic.Int32
}

func newBlocker() *blocker {
	return &blocker{started: make(chan struct{}, 8), cancelled: make(chan struct{}, 8), proceed: make(chan struct{})}
}

func (b *blocker) tool() tools.Tool {
	return testTool("block_test", func(ctx context.Context, _ *tools.Call, _ tools.NoArgs) (pingResult, error) {
		defer b.finished.Add(1)
		b.started <- struct{}{}
		<-ctx.Done()
		b.cancelled <- struct{}{}
		<-b.proceed
		return pingResult{}, ctx.Err()
	})
}

// within waits for ch, failing the test if nothing comes for a long time.
func within(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: nothing after 30s", what)
	}
}

func TestStdioReadsOnWhileCallsBlock(t *testing.T) {
	b := newBlocker()
	close(b.proceed)
	c := newRawStdioWith(t, stdioServerWith(t, nil, b.tool()))
	c.initialize()

	for _, id := range []string{"2", "3", "4"} {
		c.send(`{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"block_test","arguments":{}}}`)
	}
	for range 3 {
		within(t, b.started, "a call starts")
	}
	c.send(`{"jsonrpc":"2.0","id":5,"method":"ping"}`)
	assert.NotNil(t, c.answer(`5`)["result"], "ping is answered while every call blocks")
	c.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}`)
	within(t, b.cancelled, "the cancelled call ends")
	select {
	case <-b.cancelled:
		t.Fatal("a call that was not cancelled ended")
	default:
	}
}

func TestStdioEndsByCancellingAndWaitingForRunningCalls(t *testing.T) {
	for _, end := range []string{"input ends", "context cancelled"} {
		t.Run(end, func(t *testing.T) {
			b := newBlocker()
			s := stdioServerWith(t, nil, b.tool())
			clientToServer, serverIn := io.Pipe()
			serverOut, serverToClient := io.Pipe()
			go func() { _, _ = io.Copy(io.Discard, serverOut) }()
			t.Cleanup(func() { _ = serverIn.Close(); _ = serverToClient.Close() })
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- s.ServeStdio(ctx, clientToServer, serverToClient) }()
			for _, line := range []string{
				`{"jsonrpc":"2.0","id":0,"method":"initialize",` + initializeParams + `}`,
				`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
				`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"block_test","arguments":{}}}`,
			} {
				_, err := io.WriteString(serverIn, line+"\n")
				require.NoError(t, err)
			}
			within(t, b.started, "the call starts")
			if end == "input ends" {
				require.NoError(t, serverIn.Close())
			} else {
				cancel()
			}
			within(t, b.cancelled, "the running call is cancelled")
			select {
			case err := <-done:
				t.Fatalf("ServeStdio returned (%v) while a call was still running", err)
			default:
			}
			close(b.proceed)
			select {
			case err := <-done:
				assert.NoError(t, err)
			case <-time.After(30 * time.Second):
				t.Fatal("ServeStdio did not return once its calls ended")
			}
			assert.Equal(t, int32(1), b.finished.Load(), "the call ended before ServeStdio returned")
		})
	}
}

func TestEncodeResponseWritesWhatJSONMarshalWrites(t *testing.T) {
	structured := &mcpgo.CallToolResult{Content: []mcpgo.Content{mcpgo.NewTextContent("a <b> & \"c\" \u2028 é")},
		StructuredContent: map[string]any{"endpoint": map[string]any{"name": "x<y", "replicas": 2, "tags": []string{"a&b"}}}}
	refused := mcpgo.NewToolResultError("busy, retry")
	modern := &mcpgo.CallToolResult{Result: mcpgo.Result{Meta: mcpgo.NewMetaFromMap(map[string]any{"b": 1, "a<": "x&y"}),
		ResultType: mcpgo.ResultTypeComplete}, Content: []mcpgo.Content{mcpgo.NewTextContent("one"), mcpgo.NewTextContent("two")},
		RawStructuredContent: json.RawMessage("{ \"endpoint\" : {\"name\": \"<x>\", \"n\": [1, 2.50]} }\n"), IsError: true}
	asking := &mcpgo.CallToolResult{MultiRoundTripResult: mcpgo.MultiRoundTripResult{RequestState: "state&1",
		InputRequests: mcpgo.InputRequests{"q": mcpgo.NewElicitationInputRequest(mcpgo.ElicitationParams{Message: "sure?"})}},
		StructuredContent: json.RawMessage(`{"a": 1}`)}
	raw := func(structured string) *mcpgo.CallToolResult {
		return &mcpgo.CallToolResult{Content: []mcpgo.Content{mcpgo.NewTextContent("x")}, RawStructuredContent: json.RawMessage(structured)}
	}
	deep := strings.Repeat("[", maxCompactDepth+2) + strings.Repeat("]", maxCompactDepth+2)
	cases := map[string]mcpgo.JSONRPCMessage{
		"raw structured content as tools write it": mcpgo.NewJSONRPCResultResponse(mcpgo.NewRequestId(10),
			raw(`{"endpoint":{"name":"ep","state":"running","message":"é — \u003cok\u003e \"q\" \\ \u2028","ready_replica":1,"n":-0.5e+3,"tags":["a","b"],"x":null,"t":true,"f":false,"o":{},"l":[]}}`)),
		"raw structured content with <, > and &": mcpgo.NewJSONRPCResultResponse(mcpgo.NewRequestId(11), raw(`{"a":"<b>&c"}`)),
		"raw structured content with U+2028":     mcpgo.NewJSONRPCResultResponse(mcpgo.NewRequestId(12), raw("{\"a\":\"x\u2028y\u2029\"}")),
		"raw structured content with whitespace": mcpgo.NewJSONRPCResultResponse(mcpgo.NewRequestId(13), raw(" [1, {\"a\" :2}]\n")),
		"raw structured content nested deeply":   mcpgo.NewJSONRPCResultResponse(mcpgo.NewRequestId(14), raw(deep)),
		"raw structured content, a bare string":  mcpgo.NewJSONRPCResultResponse(mcpgo.NewRequestId(15), raw(`"s"`)),
		"tool result, every member":              mcpgo.NewJSONRPCResultResponse(mcpgo.NewRequestId(5), modern),
		"tool result asking for more":            mcpgo.NewJSONRPCResultResponse(mcpgo.NewRequestId(6), asking),
		"tool result, no content at all":         mcpgo.NewJSONRPCResultResponse(mcpgo.NewRequestId(8), &mcpgo.CallToolResult{}),
		"tool result, raw and structured":        mcpgo.NewJSONRPCResultResponse(mcpgo.NewRequestId(9), &mcpgo.CallToolResult{Content: []mcpgo.Content{}, RawStructuredContent: json.RawMessage(`{"raw":1}`), StructuredContent: map[string]int{"typed": 2}}),
		"tool result, numeric id":                mcpgo.NewJSONRPCResultResponse(mcpgo.NewRequestId(float64(3)), structured),
		"tool result, string id":                 mcpgo.NewJSONRPCResultResponse(mcpgo.NewRequestId("a<&>b"), structured),
		"tool error result":                      mcpgo.NewJSONRPCResultResponse(mcpgo.NewRequestId(int64(7)), refused),
		"tool result by value":                   mcpgo.NewJSONRPCResultResponse(mcpgo.NewRequestId(1), *structured),
		"nil tool result":                        mcpgo.NewJSONRPCResultResponse(mcpgo.NewRequestId(1), (*mcpgo.CallToolResult)(nil)),
		"other result":                           mcpgo.NewJSONRPCResultResponse(mcpgo.NewRequestId(2), mcpgo.EmptyResult{}),
		"error":                                  mcpgo.NewJSONRPCError(mcpgo.NewRequestId(4), mcpgo.INTERNAL_ERROR, "x", nil),
		"exact id stand-in, result":              mcpgo.NewJSONRPCResultResponse(mcpgo.NewRequestId(exactIDPrefix+"1.50"), refused),
	}
	for name, resp := range cases {
		t.Run(name, func(t *testing.T) {
			want, err := json.Marshal(resp)
			require.NoError(t, err)
			got, err := encodeResponse(resp)
			require.NoError(t, err)
			assert.Equal(t, string(want)+"\n", string(got))
		})
	}
	for _, invalid := range []string{`{"a":}`, `{"a":1} x`, "\"\x01\"", `[1,]`, `01`, `"\q"`} {
		resp := mcpgo.NewJSONRPCResultResponse(mcpgo.NewRequestId(16), raw(invalid))
		_, wantErr := json.Marshal(resp)
		require.Error(t, wantErr, invalid)
		_, err := encodeResponse(resp)
		assert.Error(t, err, "structured content %q is not JSON: encoding it fails, as json.Marshal does", invalid)
	}
	unencodable := mcpgo.NewJSONRPCResultResponse(mcpgo.NewRequestId(17), &mcpgo.CallToolResult{
		Result: mcpgo.Result{Meta: mcpgo.NewMetaFromMap(map[string]any{"x": math.Inf(1)})}})
	_, wantErr := json.Marshal(unencodable)
	require.Error(t, wantErr)
	_, err := encodeResponse(unencodable)
	assert.Error(t, err, "a _meta json.Marshal cannot encode fails here too")
}
