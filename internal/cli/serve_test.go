package cli

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServeFlagsDefaultsEnvironmentAndErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want serveConfig
		err  string
	}{
		{name: "defaults", want: serveConfig{transport: "stdio", addr: "127.0.0.1:8080", toolsets: "all", logLevel: slog.LevelInfo}},
		{name: "flags", args: []string{"--transport", "http", "--addr", "127.0.0.1:9", "--emulator", "--toolsets", "inference", "--read-only", "--log-level", "debug"},
			want: serveConfig{transport: "http", addr: "127.0.0.1:9", emulator: true, toolsets: "inference", readOnly: true, logLevel: slog.LevelDebug}},
		{name: "environment", env: map[string]string{envTransport: "sse", envAddr: "127.0.0.1:7", envEmulator: "1", envToolsets: "endpoints_read",
			envReadOnly: "true", envLogLevel: "warn", envWaitPoll: "250ms"},
			want: serveConfig{transport: "sse", addr: "127.0.0.1:7", emulator: true, toolsets: "endpoints_read", readOnly: true,
				logLevel: slog.LevelWarn, waitPoll: 250 * time.Millisecond}},
		{name: "flags win over environment", env: map[string]string{envTransport: "sse"}, args: []string{"--transport", "stdio"},
			want: serveConfig{transport: "stdio", addr: "127.0.0.1:8080", toolsets: "all", logLevel: slog.LevelInfo}},
		{name: "unknown transport", args: []string{"--transport", "websocket"}, err: `unknown transport "websocket"; use stdio, sse or http`},
		{name: "unknown level", args: []string{"--log-level", "loud"}, err: `unknown log level "loud"`},
		{name: "stray argument", args: []string{"extra"}, err: `unexpected argument "extra"`},
		{name: "bad wait poll", env: map[string]string{envWaitPoll: "soon"}, err: "HF_MCP_WAIT_POLL=\"soon\" is not a positive duration"},
		{name: "unknown flag", args: []string{"--port", "1"}, err: "unknown flag --port (run 'hf-endpoints-mcp serve --help' for the flags)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{envTransport, envAddr, envEmulator, envToolsets, envReadOnly, envLogLevel, envWaitPoll} {
				t.Setenv(k, tc.env[k])
			}
			got, _, err := parseServeFlags(tc.args, io.Discard)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			got.guard = guardConfig{}   // the guardrail flags: TestGuardFlags
			got.http = httpConfig{}     // the HTTP flags: TestHTTPFlags
			got.bounds = boundsConfig{} // the caps: TestBoundsFlags
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestRunServeRejectsBadConfigurationBeforeServing(t *testing.T) {
	err := runServe(context.Background(), []string{"--toolsets", "everything"}, io.Discard, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "valid toolsets are endpoints_read, endpoints_write, inference")
	err = runServe(context.Background(), []string{"--transport", "http", "--addr", "256.0.0.1:http"}, io.Discard, io.Discard)
	require.Error(t, err, "an address that cannot be listened on is an error")
}

// TestServeStdioInProcessWithEmulator runs the serve command itself (not the
// binary) over stdio with --emulator, and checks it stops the emulator and
// returns once the input ends.
func TestServeStdioInProcessWithEmulator(t *testing.T) {
	clientToServer, serverIn := io.Pipe()
	serverOut, serverToClient := io.Pipe()
	saved := serveStdin
	serveStdin = clientToServer
	t.Cleanup(func() { serveStdin = saved })
	stderr := &syncWriter{}
	done := make(chan error, 1)
	go func() {
		done <- runServe(context.Background(), []string{"--emulator", "--log-level", "debug"}, serverToClient, stderr)
		_ = serverToClient.Close()
	}()

	client := sdk.NewClient(&sdk.Implementation{Name: "cmd-test", Version: "1"}, nil)
	cs, err := client.Connect(t.Context(), &sdk.IOTransport{Reader: serverOut, Writer: serverIn}, nil)
	require.NoError(t, err)
	res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
	require.NoError(t, err)
	require.Len(t, res.Content, 1)
	text := res.Content[0].(*sdk.TextContent).Text
	require.False(t, res.IsError, text)
	assert.Contains(t, text, "emulator-user")
	require.NoError(t, cs.Close())
	_ = serverIn.Close()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not return after its input ended")
	}
	assert.Contains(t, stderr.String(), "emulator started")
	assert.False(t, bytes.Contains([]byte(stderr.String()), []byte("hf_emulator")), "the token is never logged")
}

// TestServeReleasesTheChartFontsOnceAClientIsInitialized: the chart fonts'
// pages are handed back once a client is initialized, or once a 2026-07-28
// client (which sends no initialize) makes its first request other than ping;
// not during start-up, and once only.
func TestServeReleasesTheChartFontsOnceAClientIsInitialized(t *testing.T) {
	const modernMeta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",` +
		`"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}`
	for _, tc := range []struct {
		era, first, then string
	}{
		{"2025-11-25",
			`{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
			`{"jsonrpc":"2.0","id":3,"method":"tools/list"}`},
		{"2026-07-28",
			`{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{` + modernMeta + `}}`,
			`{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{` + modernMeta + `}}`},
	} {
		t.Run(tc.era, func(t *testing.T) {
			var released atomic.Int32
			saved := releaseChartFonts
			releaseChartFonts = func() { released.Add(1) }
			t.Cleanup(func() { releaseChartFonts = saved })
			clientToServer, serverIn := io.Pipe()
			serverOut, serverToClient := io.Pipe()
			savedStdin := serveStdin
			serveStdin = clientToServer
			t.Cleanup(func() { serveStdin = savedStdin })
			done := make(chan error, 1)
			go func() {
				done <- runServe(context.Background(), []string{"--emulator", "--log-level", "error"}, serverToClient, io.Discard)
				_ = serverToClient.Close()
			}()

			out := bufio.NewReader(serverOut)
			ask := func(line, want string) {
				t.Helper()
				_, err := io.WriteString(serverIn, line+"\n")
				require.NoError(t, err)
				answer, err := out.ReadString('\n')
				require.NoError(t, err)
				require.Contains(t, answer, want)
			}
			ask(`{"jsonrpc":"2.0","id":1,"method":"ping"}`, `"id":1`)
			assert.Zero(t, released.Load(), "nothing is released before a client's first request")

			ask(tc.first, `"id":2,"result"`)
			assert.Eventually(t, func() bool { return released.Load() == 1 }, 10*time.Second, time.Millisecond,
				"the fonts are released after the client's first request")
			ask(tc.then, `"id":3,"result"`)

			require.NoError(t, serverIn.Close())
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(20 * time.Second):
				t.Fatal("serve did not return after its input ended")
			}
			assert.EqualValues(t, 1, released.Load(), "released once")
		})
	}
}

// syncWriter collects what a server writes from several goroutines.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
