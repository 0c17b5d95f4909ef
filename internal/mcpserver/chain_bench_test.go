package mcpserver

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/httpsec"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/rawmcp"
)

// BenchmarkSecurityChain: a tools/call of get_endpoint over streamable HTTP
// (2025-11-25 session, plain HTTP client) with and without the httpsec chain
// that serve puts in front (request log, allowlist, query-token check, rate
// limit, body limit; the log goes to a discarded text handler). The difference
// is the chain's cost per request. The rate limit counts but never refuses:
// the benchmark calls far more than 100 times a second.
//
//	go test -run '^$' -bench SecurityChain -benchtime 2000x ./internal/mcpserver/
func BenchmarkSecurityChain(b *testing.B) {
	for _, secured := range []bool{false, true} {
		b.Run(map[bool]string{false: "bare", true: "secured"}[secured], func(b *testing.B) {
			emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Timings: emulator.Timings{Deploy: time.Millisecond, IdleMinute: time.Hour}})
			require.NoError(b, err)
			defer emu.Close()
			client := emuClient(b, emu, emu.Token())
			createEndpoint(b, client, "load")
			s, err := New(Options{Client: client})
			require.NoError(b, err)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(b, err)
			var h http.Handler = s.Handler()
			if secured {
				s.opts.HTTP.Security = &httpsec.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RequestRate: 1e9}
				h, err = s.secureHandler(ln.Addr().String())
				require.NoError(b, err)
			}
			srv := &http.Server{Handler: h}
			go func() { _ = srv.Serve(ln) }()
			defer srv.Close()
			base := "http://" + ln.Addr().String()
			c, err := rawmcp.Open(context.Background(), &http.Client{}, base+"/mcp", rawmcp.Legacy)
			require.NoError(b, err)
			for b.Loop() {
				_, err := c.CallTool(context.Background(), "get_endpoint", `{"endpoint_name":"load"}`)
				require.NoError(b, err)
			}
		})
	}
}
