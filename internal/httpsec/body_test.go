package httpsec

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"testing"

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
