package e2e

// A hung upstream — one that accepts connections and never answers — must never wedge the server:
// calls beyond the concurrency cap are refused as busy at once, ping is answered, and a cancelled
// call frees its slot and its upstream connection. Driven over stdio and streamable HTTP against
// the built binary.

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/mcpserver"
)

// hungUpstream accepts connections and never answers. It counts the connections it accepted and
// those the server closed (a cancelled or timed-out request).
type hungUpstream struct {
	ln               net.Listener
	accepted, closed atomic.Int64
	wg               sync.WaitGroup
}

func newHungUpstream(t *testing.T) *hungUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h := &hungUpstream{ln: ln}
	var mu sync.Mutex
	var conns []net.Conn
	h.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			h.wg.Go(func() {
				_, _ = io.Copy(io.Discard, c) // reads the request, answers nothing, until the peer closes
				h.closed.Add(1)
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		h.wg.Wait()
	})
	return h
}

func (h *hungUpstream) env() []string {
	base := "http://" + h.ln.Addr().String()
	return []string{"HF_TOKEN=hf_hungUpstreamTestToken0123456789", "HF_ENDPOINTS_API_URL=" + base + "/v2",
		"HF_ENDPOINT=" + base, "HF_ENDPOINTS_CATALOG_URL=" + base + "/api/catalog", authOff}
}

func TestE2EHungUpstreamNeverWedgesTheServer(t *testing.T) {
	const calls = 140
	cap := mcpserver.DefaultMaxConcurrentCalls
	for _, transport := range []string{"stdio", "http"} {
		t.Run(transport, func(t *testing.T) {
			up := newHungUpstream(t)
			stderr := &lockedBuffer{}
			var tr sdk.Transport
			version := "" // stdio: the SDK's default era (2026-07-28)
			if transport == "stdio" {
				tr = &sdk.CommandTransport{Command: serverCommand(t, stderr, []string{"serve"}, up.env()...), TerminateDuration: 5 * time.Second}
			} else {
				var base string
				_, base, stderr = startBinary(t, up.env(), "serve", "--transport", "http", "--addr", "127.0.0.1:0")
				tr = &sdk.StreamableClientTransport{Endpoint: base + mcpserver.PathStreamable, MaxRetries: -1}
				// A session, so that ping and notifications/cancelled travel apart from the calls.
				version = "2025-11-25"
			}
			cs, err := sdk.NewClient(&sdk.Implementation{Name: "hung", Version: "1"}, nil).Connect(t.Context(), tr,
				&sdk.ClientSessionOptions{ProtocolVersion: version})
			require.NoError(t, err, "stderr:\n%s", stderr)
			t.Cleanup(func() { _ = cs.Close() })

			// 140 calls at once: the first 64 reach the hung upstream, the rest are told "busy".
			var busy, answered atomic.Int64
			cancels := make([]context.CancelFunc, calls)
			results := make([]chan error, calls)
			for i := range calls {
				ctx, cancel := context.WithCancel(t.Context())
				cancels[i], results[i] = cancel, make(chan error, 1)
				go func() {
					res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "get_endpoint",
						Arguments: map[string]any{"namespace": "acme", "endpoint_name": "ep"}})
					if err == nil {
						answered.Add(1)
						if res.IsError && strings.Contains(textOf(res), "busy") {
							busy.Add(1)
						}
					}
					results[i] <- err
				}()
			}
			t.Cleanup(func() {
				for _, c := range cancels {
					c()
				}
			})
			require.Eventually(t, func() bool {
				return busy.Load() == int64(calls-cap) && up.accepted.Load() == int64(cap)
			}, 60*time.Second, 10*time.Millisecond, "busy %d, upstream requests %d; stderr:\n%s", busy.Load(), up.accepted.Load(), stderr)
			t.Logf("%s: %d of %d calls answered at once (%d busy), %d waiting on the hung upstream",
				transport, answered.Load(), calls, busy.Load(), up.accepted.Load())

			// ping is answered while every slot waits on the upstream.
			pingCtx, stop := context.WithTimeout(t.Context(), 30*time.Second)
			defer stop()
			require.NoError(t, cs.Ping(pingCtx, nil), "ping with the upstream hung")

			// Cancel every call still waiting: the server ends their upstream requests and frees their slots.
			for _, c := range cancels {
				c()
			}
			require.Eventually(t, func() bool { return up.closed.Load() == int64(cap) }, 60*time.Second, 10*time.Millisecond,
				"the cancelled calls' upstream requests were ended: %d of %d", up.closed.Load(), cap)
			for i := range calls {
				select {
				case <-results[i]:
				case <-time.After(30 * time.Second):
					t.Fatalf("call %d did not return after its cancellation", i)
				}
			}

			// The slots are free again: a new call reaches the upstream instead of being told "busy".
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = cs.CallTool(ctx, &sdk.CallToolParams{Name: "get_endpoint", Arguments: map[string]any{"namespace": "acme", "endpoint_name": "ep"}})
			}()
			require.Eventually(t, func() bool { return up.accepted.Load() == int64(cap+1) }, 30*time.Second, 10*time.Millisecond,
				"a call after the cancellations runs")
			cancel()
			<-done
			assert.Equal(t, int64(calls-cap), busy.Load())
		})
	}
}
