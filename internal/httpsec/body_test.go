package httpsec

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// onlyReader hides the length of a reader so the client sends it chunked.
type onlyReader struct{ io.Reader }

func TestLimitBody(t *testing.T) {
	h := &reached{}
	var got int
	echoLen := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "handler read failed", http.StatusTeapot)
			return
		}
		got = len(b)
		h.ServeHTTP(w, r)
	})
	url := serve(t, Chain(echoLen, LogRequests(slog.New(slog.DiscardHandler)), LimitBody(0, 0)))
	const mib = 1 << 20

	tests := []struct {
		name    string
		body    func() io.Reader
		want    int
		wantLen int
	}{
		{"2 MiB with Content-Length", func() io.Reader { return bytes.NewReader(make([]byte, 2*mib)) }, 413, 0},
		{"2 MiB chunked", func() io.Reader { return onlyReader{bytes.NewReader(make([]byte, 2*mib))} }, 413, 0},
		{"limit+1 chunked", func() io.Reader { return onlyReader{bytes.NewReader(make([]byte, mib+1))} }, 413, 0},
		{"exactly 1 MiB", func() io.Reader { return bytes.NewReader(make([]byte, mib)) }, 200, mib},
		{"exactly 1 MiB chunked", func() io.Reader { return onlyReader{bytes.NewReader(make([]byte, mib))} }, 200, mib},
		{"small", func() io.Reader { return bytes.NewReader([]byte(`{"jsonrpc":"2.0"}`)) }, 200, 17},
		{"empty", func() io.Reader { return nil }, 200, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.n.Load()
			got = -1
			code, _, body := do(t, http.MethodPost, url+"/mcp", tt.body(), nil)
			require.Equal(t, tt.want, code, body)
			if tt.want == 413 {
				assert.Contains(t, jsonError(t, body), strconv.Itoa(mib))
				assert.Equal(t, before, h.n.Load(), "handler must not run")
				return
			}
			assert.Equal(t, tt.wantLen, got)
		})
	}
}

// TestLimitBodyStalledClient pins the read deadline: a client that stops sending mid-body gets an error
// response instead of holding the handler forever.
func TestLimitBodyStalledClient(t *testing.T) {
	h := &reached{}
	url := serve(t, Chain(h, LogRequests(slog.New(slog.DiscardHandler)), LimitBody(0, 50*time.Millisecond)))
	pr, pw := io.Pipe()
	t.Cleanup(func() { _ = pw.Close() })
	go func() { _, _ = pw.Write([]byte(`{"jsonrpc":`)) }() // then nothing more until cleanup
	code, _, body := do(t, http.MethodPost, url+"/mcp", pr, nil)
	require.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, jsonError(t, body), "timed out")
	assert.Zero(t, h.n.Load())
}

// TestLimitBodyLiftsDeadline pins that the body deadline does not outlive the body: a request that keeps
// running past it (a progress stream) is not cancelled by a connection read timing out.
func TestLimitBodyLiftsDeadline(t *testing.T) {
	const timeout = 20 * time.Millisecond
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			http.Error(w, "request context cancelled", http.StatusInternalServerError)
		case <-time.After(5 * timeout): // outlive the body deadline, as a progress stream would
			_, _ = io.WriteString(w, "still alive")
		}
	})
	url := serve(t, Chain(h, LogRequests(slog.New(slog.DiscardHandler)), LimitBody(0, timeout)))
	code, _, body := do(t, http.MethodPost, url+"/mcp", strings.NewReader(`{"jsonrpc":"2.0"}`), nil)
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "still alive", body)
}
