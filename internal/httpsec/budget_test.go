package httpsec

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSlowBodiesAreHeldWithinTheBudget: a client that sends part of a body and stalls holds only what
// it sent (in chunks), and bodies that would take the shared budget over are refused with 503 and
// Retry-After instead of being buffered; the budget comes back when the requests end.
func TestSlowBodiesAreHeldWithinTheBudget(t *testing.T) {
	budget := &bodyBudget{left: 3 * bodyChunk}
	var body atomic.Value
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body.Store(r.Body.(*BufferedBody).Bytes())
		_, _ = io.WriteString(w, "ok")
	})
	url := serve(t, Chain(h, LogRequests(slog.New(slog.DiscardHandler)), limitBodies(BodyLimits{Max: 1 << 20, ReadTimeout: time.Minute}, budget)))

	// A slow sender: 20 KiB of a declared 1 MiB, then nothing.
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(t.Context())
	slowDone := make(chan struct{})
	go func() {
		defer close(slowDone)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/mcp", pr)
		req.ContentLength = 1 << 20
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	go func() { _, _ = pw.Write(make([]byte, 20<<10)) }()
	require.Eventually(t, func() bool { return atomic.LoadInt64(&budget.left) == bodyChunk }, 10*time.Second, time.Millisecond,
		"the slow sender holds two chunks for its 20 KiB, not its declared MiB")

	// Another body of 20 KiB needs two chunks; one is left.
	code, hdr, resp := do(t, http.MethodPost, url+"/mcp", bytes.NewReader(make([]byte, 20<<10)), nil)
	require.Equal(t, http.StatusServiceUnavailable, code, resp)
	assert.Equal(t, "2", hdr.Get("Retry-After"))
	assert.Contains(t, jsonError(t, resp), "server busy receiving other requests")
	assert.Equal(t, int64(bodyChunk), atomic.LoadInt64(&budget.left), "the refused body gave back what it took")

	// A small body still fits, and reaches the handler whole.
	code, _, resp = do(t, http.MethodPost, url+"/mcp", bytes.NewReader([]byte(`{"jsonrpc":"2.0"}`)), nil)
	require.Equal(t, http.StatusOK, code, resp)
	assert.Equal(t, `{"jsonrpc":"2.0"}`, string(body.Load().([]byte)))

	cancel()
	_ = pw.Close()
	<-slowDone
	require.Eventually(t, func() bool { return atomic.LoadInt64(&budget.left) == 3*bodyChunk }, 10*time.Second, time.Millisecond,
		"the stalled request's chunks are given back when it ends")
}

// TestBodiesAreReadWholeAcrossChunks: bodies of every size around the chunk size arrive intact.
func TestBodiesAreReadWholeAcrossChunks(t *testing.T) {
	budget := &bodyBudget{left: DefaultBodyBudget}
	var got atomic.Value
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(b)
	})
	url := serve(t, limitBodies(BodyLimits{Max: 1 << 20, ReadTimeout: time.Minute}, budget)(h))
	for _, n := range []int{1, bodyChunk - 1, bodyChunk, bodyChunk + 1, 3 * bodyChunk, 1 << 20} {
		want := bytes.Repeat([]byte("abcdefg"), n/7+1)[:n]
		code, _, resp := do(t, http.MethodPost, url, onlyReader{bytes.NewReader(want)}, nil)
		require.Equal(t, http.StatusOK, code, resp)
		require.Equal(t, want, got.Load().([]byte), "a body of %d bytes", n)
		require.Eventually(t, func() bool { return atomic.LoadInt64(&budget.left) == DefaultBodyBudget }, 10*time.Second, time.Millisecond)
	}
}
