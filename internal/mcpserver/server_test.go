package mcpserver

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/tools"
)

// noToken is a client provider in the state of a machine without a token:
// every tool call must come back as an isError result naming where to put one.
func noToken(context.Context) (*hfapi.Client, error) { return nil, hfapi.ErrNoToken }

func newServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.NewClient == nil && opts.Client == nil {
		opts.NewClient = noToken
	}
	s, err := New(opts)
	require.NoError(t, err)
	return s
}

// eras are the two ways a client connects: the SDK default (server/discover,
// 2026-07-28) and one pinned to the last initialize-based version.
var eras = []struct {
	name    string
	version string // "" = the SDK's default
	want    string // negotiated version
}{
	{"discover-2026-07-28", "", "2026-07-28"},
	{"initialize-2025-11-25", "2025-11-25", "2025-11-25"},
}

func connect(t *testing.T, transport sdk.Transport, version string) *sdk.ClientSession {
	t.Helper()
	// The SSE transport ties its event stream to this context: it must outlive connect.
	ctx := t.Context()
	client := sdk.NewClient(&sdk.Implementation{Name: "mcpserver-test", Version: "1"}, nil)
	cs, err := client.Connect(ctx, transport, &sdk.ClientSessionOptions{ProtocolVersion: version})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func toolNames(t *testing.T, cs *sdk.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	require.NoError(t, err)
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	return names
}

func text(res *sdk.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// exercise checks what every transport must do in every era.
func exercise(t *testing.T, cs *sdk.ClientSession, wantVersion string) {
	t.Helper()
	ctx := context.Background()
	assert.Equal(t, wantVersion, cs.InitializeResult().ProtocolVersion)
	assert.Len(t, toolNames(t, cs), len(tools.All()))

	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
	require.NoError(t, err)
	assert.True(t, res.IsError)
	assert.Contains(t, text(res), "HF_TOKEN", "a missing token is a tool result naming where to set it")

	res, err = cs.CallTool(ctx, &sdk.CallToolParams{Name: "get_endpoint", Arguments: map[string]any{"endpoint_name": "x", "nme": "y"}})
	require.NoError(t, err)
	assert.True(t, res.IsError)
	assert.Contains(t, text(res), `unknown argument "nme"`)
}

func TestStreamableHTTPInBothEras(t *testing.T) {
	s := newServer(t, Options{})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { s.HTTPHandler().CloseSessions(context.Background()); ts.Close() })
	for _, era := range eras {
		t.Run(era.name, func(t *testing.T) {
			cs := connect(t, &sdk.StreamableClientTransport{Endpoint: ts.URL + PathStreamable, MaxRetries: -1}, era.version)
			exercise(t, cs, era.want)
		})
	}
}

func TestLegacySSEInBothEras(t *testing.T) {
	s := newServer(t, Options{})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { s.HTTPHandler().CloseSessions(context.Background()); ts.Close() })
	for _, era := range eras {
		t.Run(era.name, func(t *testing.T) {
			cs := connect(t, &sdk.SSEClientTransport{Endpoint: ts.URL + PathSSE}, era.version)
			exercise(t, cs, era.want)
		})
	}
}

func TestStdioInBothEras(t *testing.T) {
	for _, era := range eras {
		t.Run(era.name, func(t *testing.T) {
			s := newServer(t, Options{})
			clientToServer, serverIn := io.Pipe()
			serverOut, serverToClient := io.Pipe()
			done := make(chan error, 1)
			go func() {
				done <- s.ServeStdio(context.Background(), clientToServer, serverToClient)
				_ = serverToClient.Close()
			}()
			cs := connect(t, &sdk.IOTransport{Reader: serverOut, Writer: serverIn}, era.version)
			exercise(t, cs, era.want)
			require.NoError(t, cs.Close())
			_ = serverIn.Close()
			require.NoError(t, <-done, "stdio ends cleanly when its input ends")
		})
	}
}

func TestToolsAreRegisteredOnFirstNeedNotAtStart(t *testing.T) {
	s := newServer(t, Options{})
	assert.Empty(t, s.MCP().ListTools(), "no schema work before a client asks")
	require.NoError(t, s.RegisterTools())
	assert.Len(t, s.MCP().ListTools(), len(tools.All()))
	require.NoError(t, s.RegisterTools(), "idempotent")
}

func TestReadOnlyServesNoMutatingTool(t *testing.T) {
	s := newServer(t, Options{ReadOnly: true})
	require.NoError(t, s.RegisterTools())
	served := s.MCP().ListTools()
	require.NotEmpty(t, served)
	for name, st := range served {
		require.NotNil(t, st.Tool.Annotations.ReadOnlyHint, name)
		assert.True(t, *st.Tool.Annotations.ReadOnlyHint, "%s is served in read-only mode", name)
	}
	for _, tool := range tools.WriteTools() {
		assert.NotContains(t, served, tool.Name)
	}
}

func TestToolsetsSelect(t *testing.T) {
	s := newServer(t, Options{Toolsets: []string{"inference"}})
	assert.Len(t, s.Tools(), len(tools.InferenceTools()))
	_, err := New(Options{NewClient: noToken, Toolsets: []string{"bogus"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "valid toolsets are")
}

func TestNewNeedsAClient(t *testing.T) {
	_, err := New(Options{})
	require.Error(t, err)
}

type pingResult struct {
	Pong bool `json:"pong"`
}

func (pingResult) Summary() string { return "pong" }

func TestExtensionPoints(t *testing.T) {
	var mu sync.Mutex
	var order []string
	record := func(name string) server.ToolHandlerMiddleware {
		return func(next server.ToolHandlerFunc) server.ToolHandlerFunc {
			return func(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
				return next(ctx, req)
			}
		}
	}
	mutating := tools.Tool{Name: "ping_write", Title: "Ping", Description: "Example: {}", Toolset: tools.EndpointsWrite,
		Hints: tools.Hints{ReadOnly: false, Destructive: true, Idempotent: false, OpenWorld: false},
		Handler: tools.Handle(func(context.Context, *tools.Call, tools.NoArgs) (pingResult, error) {
			return pingResult{Pong: true}, nil
		})}
	configured := false
	var clientCalls int
	hooks := &server.Hooks{}
	var listed bool
	hooks.AddBeforeListTools(func(context.Context, any, *mcpgo.ListToolsRequest) { listed = true })
	s := newServer(t, Options{
		Hooks: hooks,
		ClientMiddleware: func(next ClientFunc) ClientFunc {
			return func(ctx context.Context) (*hfapi.Client, error) {
				clientCalls++
				return next(ctx)
			}
		},
		NewClient:      func(context.Context) (*hfapi.Client, error) { return &hfapi.Client{}, nil },
		ExtraTools:     []tools.Tool{mutating},
		ToolMiddleware: []server.ToolHandlerMiddleware{record("outer"), record("inner")},
		Configure:      func(*server.MCPServer) error { configured = true; return nil },
		HTTPMiddleware: []func(http.Handler) http.Handler{func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Wrapped", "yes")
				next.ServeHTTP(w, r)
			})
		}},
	})
	assert.True(t, configured)
	assert.Len(t, s.Tools(), len(tools.All())+1)
	replacement := mutating
	replacement.Name = "create_endpoint"
	replaced := newServer(t, Options{ExtraTools: []tools.Tool{replacement}})
	assert.Len(t, replaced.Tools(), len(tools.All()), "an extra tool named like a built-in replaces it")
	readOnly := newServer(t, Options{ReadOnly: true, ExtraTools: []tools.Tool{mutating}})
	for _, tool := range readOnly.Tools() {
		assert.NotEqual(t, "ping_write", tool.Name, "extra tools are filtered like the rest")
	}

	resp := s.MCP().HandleMessage(context.Background(), []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ping_write","arguments":{}}}`))
	b, err := json.Marshal(resp)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"structuredContent":{"pong":true}`)
	assert.Equal(t, []string{"outer", "inner"}, order, "the first middleware is the outermost")
	assert.Equal(t, 1, clientCalls, "the client middleware sees each tool call")
	s.MCP().HandleMessage(context.Background(), []byte(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`))
	assert.True(t, listed, "hooks given in Options run")

	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, PathHealth, nil))
	assert.Equal(t, "yes", rec.Header().Get("X-Wrapped"))
}

func TestHealthz(t *testing.T) {
	s := newServer(t, Options{Version: "1.2.3"})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, PathHealth, nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	assert.Equal(t, "ok", body["status"])
	assert.Equal(t, "1.2.3", body["version"])
}

func TestServeShutsDownGracefullyWithOpenStreams(t *testing.T) {
	s := newServer(t, Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()

	// Long-lived streams of both HTTP transports are open when shutdown starts.
	sse := connect(t, &sdk.SSEClientTransport{Endpoint: base + PathSSE}, "2025-11-25")
	streamable := connect(t, &sdk.StreamableClientTransport{Endpoint: base + PathStreamable, MaxRetries: -1}, "2025-11-25")
	assert.NotEmpty(t, toolNames(t, sse))
	assert.NotEmpty(t, toolNames(t, streamable))

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return after cancellation")
	}
	_, err = http.Get(base + PathHealth)
	assert.Error(t, err, "the listener is closed after shutdown")
}

func TestFreshConnectionsAreClosedAtShutdownAndOthersKept(t *testing.T) {
	var seen []http.ConnState
	srv := &http.Server{ConnState: func(_ net.Conn, st http.ConnState) { seen = append(seen, st) }}
	fresh := trackFreshConns(srv)
	idleA, idleB := net.Pipe()
	newA, newB := net.Pipe()
	t.Cleanup(func() { _ = idleB.Close(); _ = newB.Close() })
	srv.ConnState(idleA, http.StateNew)
	srv.ConnState(idleA, http.StateActive)
	srv.ConnState(idleA, http.StateIdle)
	srv.ConnState(newA, http.StateNew)
	fresh.closeAll()

	_, err := newB.Write([]byte("x"))
	assert.Error(t, err, "a connection that never carried a request is closed")
	go func() { _, _ = idleB.Write([]byte("x")) }()
	buf := make([]byte, 1)
	_, err = idleA.Read(buf)
	assert.NoError(t, err, "a connection that served requests is left to http.Server")
	assert.Len(t, seen, 4, "a ConnState hook set before is kept")
}

func TestAToolCallBeforeAnyListRegistersTheTools(t *testing.T) {
	s := newServer(t, Options{})
	resp := s.MCP().HandleMessage(context.Background(), []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`))
	b, err := json.Marshal(resp)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"isError":true`, "the call reached the tool (which reports the missing token)")
	assert.Contains(t, string(b), "HF_TOKEN")
}

// TestStdioServesQuickCallsWhileManyWaitsRun: long calls (waits) must not
// starve a quick one on stdio.
func TestStdioServesQuickCallsWhileManyWaitsRun(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 16)
	hints := tools.Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}
	block := tools.Tool{Name: "block_test", Title: "Block", Description: "Example: {}", Toolset: tools.EndpointsRead, Hints: hints,
		Handler: tools.Handle(func(ctx context.Context, _ *tools.Call, _ tools.NoArgs) (pingResult, error) {
			started <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
			return pingResult{Pong: true}, nil
		})}
	quick := block
	quick.Name, quick.Handler = "quick_test", tools.Handle(func(context.Context, *tools.Call, tools.NoArgs) (pingResult, error) {
		return pingResult{Pong: true}, nil
	})
	s := newServer(t, Options{NewClient: func(context.Context) (*hfapi.Client, error) { return &hfapi.Client{}, nil },
		ExtraTools: []tools.Tool{block, quick}})
	clientToServer, serverIn := io.Pipe()
	serverOut, serverToClient := io.Pipe()
	go func() {
		_ = s.ServeStdio(context.Background(), clientToServer, serverToClient)
		_ = serverToClient.Close()
	}()
	t.Cleanup(func() { _ = serverIn.Close() })
	cs := connect(t, &sdk.IOTransport{Reader: serverOut, Writer: serverIn}, "2025-11-25")

	const blocked = 8
	var wg sync.WaitGroup
	for range blocked {
		wg.Go(func() {
			_, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "block_test", Arguments: map[string]any{}})
			assert.NoError(t, err)
		})
	}
	for range blocked {
		<-started // every long call is running
	}
	res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "quick_test", Arguments: map[string]any{}})
	require.NoError(t, err)
	assert.False(t, res.IsError)
	close(release)
	wg.Wait()
}

// TestWaitSendsHeartbeatsBetweenPolls: while nothing changes between two
// polls, the progress heartbeat keeps notifications coming.
func TestWaitSendsHeartbeatsBetweenPolls(t *testing.T) {
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Timings: emulator.Timings{Deploy: time.Hour}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	client, err := hfapi.New(hfapi.Config{Token: emu.Token(), APIBase: emu.APIBase(), HubBase: emu.HubBase(), CatalogBase: emu.CatalogBase()})
	require.NoError(t, err)
	_, err = client.Create(context.Background(), "", hfapi.CreateSpec{Name: "slow", Repository: "openai-community/gpt2",
		Framework: "pytorch", Accelerator: "cpu", InstanceSize: "x2", InstanceType: "intel-spr", Region: "us-east-1", Vendor: "aws"})
	require.NoError(t, err)

	s := newServer(t, Options{Client: client, Heartbeat: 20 * time.Millisecond})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { s.HTTPHandler().CloseSessions(context.Background()); ts.Close() })
	var mu sync.Mutex
	var notes []*sdk.ProgressNotificationParams
	enough := make(chan struct{})
	sdkClient := sdk.NewClient(&sdk.Implementation{Name: "hb", Version: "1"}, &sdk.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, req *sdk.ProgressNotificationClientRequest) {
			mu.Lock()
			defer mu.Unlock()
			notes = append(notes, req.Params)
			if len(notes) == 6 {
				close(enough)
			}
		}})
	cs, err := sdkClient.Connect(t.Context(), &sdk.StreamableClientTransport{Endpoint: ts.URL + PathStreamable, MaxRetries: -1}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		params := &sdk.CallToolParams{Name: "wait_for_endpoint", Arguments: map[string]any{"endpoint_name": "slow", "poll_seconds": 60, "timeout_seconds": 600}}
		params.SetProgressToken("hb")
		_, _ = cs.CallTool(ctx, params) // cancelled below
	}()
	select {
	case <-enough:
	case <-time.After(30 * time.Second):
		t.Fatal("no heartbeats while the endpoint stayed pending")
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(notes); i++ {
		assert.Greater(t, notes[i].Progress, notes[i-1].Progress)
	}
	assert.Contains(t, notes[len(notes)-1].Message, "pending", "a heartbeat repeats the state")
}
