package mcpserver

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/rawmcp"
)

const (
	benchInitialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`
	benchInitalized = `{"jsonrpc":"2.0","method":"notifications/initialized"}`
	benchGet        = `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_endpoint","arguments":{"endpoint_name":"load"}}}`
)

// overheadClient is an API client for an emulator holding one running endpoint ("load").
func overheadClient(b *testing.B) *hfapi.Client {
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Timings: emulator.Timings{Deploy: time.Millisecond, IdleMinute: time.Hour}})
	require.NoError(b, err)
	b.Cleanup(func() { _ = emu.Close() })
	cfg := emuConfig(emu, emu.Token())
	cfg.HTTPClient = &http.Client{Transport: pooledTransport(b)}
	client, err := hfapi.New(cfg)
	require.NoError(b, err)
	createEndpoint(b, client, "load")
	_, err = client.Wait(context.Background(), "", "load", hfapi.WaitOptions{Timeout: 10 * time.Second, Poll: time.Millisecond})
	require.NoError(b, err)
	return client
}

// BenchmarkGetEndpointOverhead times get_endpoint through the server in this process with a raw
// JSON-RPC client, over stdio and over streamable HTTP in both eras, beside the direct call it
// wraps; "handle" is the server's own work without a transport (mcp-go's HandleMessage and the
// response's encoding). Profile the server's share with -cpuprofile:
//
//	go test -run '^$' -bench GetEndpointOverhead -count 6 -cpuprofile cpu.out ./internal/mcpserver/
func BenchmarkGetEndpointOverhead(b *testing.B) {
	client := overheadClient(b)
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			_, err := client.Get(context.Background(), "", "load")
			require.NoError(b, err)
		}
	})
	b.Run("handle", func(b *testing.B) { // the server's own work, no transport: HandleMessage and the response's encoding
		s, err := New(Options{Client: client})
		require.NoError(b, err)
		ctx := context.Background()
		require.NotNil(b, s.MCP().HandleMessage(ctx, []byte(benchInitialize)))
		for b.Loop() {
			raw, err := json.Marshal(s.MCP().HandleMessage(ctx, []byte(benchGet)))
			require.NoError(b, err)
			if !strings.Contains(string(raw), `"state"`) {
				b.Fatalf("unexpected answer %s", raw)
			}
		}
	})
	b.Run("stdio", func(b *testing.B) {
		s, err := New(Options{Client: client})
		require.NoError(b, err)
		clientIn, serverOut := io.Pipe()
		serverIn, clientOut := io.Pipe()
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- s.ServeStdio(ctx, serverIn, serverOut) }()
		defer func() {
			_ = clientOut.Close()
			cancel()
			<-served
		}()
		out := bufio.NewReader(clientIn)
		send := func(line string, answer bool) string {
			_, err := io.WriteString(clientOut, line+"\n")
			require.NoError(b, err)
			if !answer {
				return ""
			}
			res, err := out.ReadString('\n')
			require.NoError(b, err)
			return res
		}
		send(benchInitialize, true)
		send(benchInitalized, false)
		for b.Loop() {
			if res := send(benchGet, true); !strings.Contains(res, `"state"`) {
				b.Fatalf("unexpected answer %s", res)
			}
		}
	})
	// http-2026-07-28-mcpgo is the 2026-07-28 call through mcp-go's transport (mcpgo_modern_post.go off).
	for _, row := range []struct{ name, version string }{
		{"http-2025-11-25", "2025-11-25"}, {"http-2026-07-28", "2026-07-28"}, {"http-2026-07-28-mcpgo", "2026-07-28"},
	} {
		version := row.version
		b.Run(row.name, func(b *testing.B) {
			s, err := New(Options{Client: client})
			require.NoError(b, err)
			s.modernPostsOff = strings.HasSuffix(row.name, "-mcpgo")
			c, err := rawmcp.Open(context.Background(), &http.Client{Transport: pooledTransport(b)}, serve(b, s)+PathStreamable, version)
			require.NoError(b, err)
			for b.Loop() {
				res, err := c.CallTool(context.Background(), "get_endpoint", `{"endpoint_name":"load"}`)
				require.NoError(b, err)
				if !strings.Contains(string(res), `"state"`) {
					b.Fatalf("unexpected answer %s", res)
				}
			}
		})
	}
}
