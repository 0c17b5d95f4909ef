package httpsec

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for the server goroutines and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startSecured serves h behind Config.Handler on a loopback listener and returns the base URL.
func startSecured(t *testing.T, h http.Handler, cfg Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg.Addr = ln.Addr().String()
	wrapped, err := cfg.Handler(h)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(wrapped)
	require.NoError(t, srv.Listener.Close())
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestConfigHandlerRefusesExposedAddrWithoutAuth(t *testing.T) {
	_, err := Config{Addr: "0.0.0.0:8080"}.Handler(http.NotFoundHandler())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "MCP_AUTH_TOKEN")
	_, err = Config{Addr: "0.0.0.0:8080", Auth: AuthOptions{Token: secret}}.Handler(http.NotFoundHandler())
	assert.NoError(t, err)
}

func TestRequestLogHasNoSecrets(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "accepted")
	})
	base := startSecured(t, h, Config{Auth: AuthOptions{Token: secret}, Logger: logger})

	code, _, _ := do(t, http.MethodPost, base+"/message?sessionId=sess-42&cursor=q-secret",
		strings.NewReader(`{"params":{"password":"body-secret"}}`), map[string]string{"Authorization": "Bearer " + secret})
	require.Equal(t, http.StatusAccepted, code)
	code, _, _ = do(t, http.MethodGet, base+"/mcp", nil, map[string]string{"Authorization": "Bearer wrong-" + secret})
	require.Equal(t, http.StatusUnauthorized, code)

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 2, "one line per request")
	for _, l := range lines {
		for _, leak := range []string{secret, "sess-42", "q-secret", "body-secret", "?"} {
			assert.NotContains(t, l, leak)
		}
	}
	var first struct {
		Method, Path, Remote string
		Status, Bytes        int
		Duration             int64
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	assert.Equal(t, "POST", first.Method)
	assert.Equal(t, "/message", first.Path)
	assert.Equal(t, http.StatusAccepted, first.Status)
	assert.Equal(t, len("accepted"), first.Bytes)
	assert.True(t, strings.HasPrefix(first.Remote, "127.0.0.1:"), first.Remote)
	assert.Contains(t, lines[1], `"status":401`)
}

// TestSSEFlushesThroughChain sends one event, then waits until the client has read it before sending
// the next: without working Flush through every wrapper the client would never see the first event.
func TestSSEFlushesThroughChain(t *testing.T) {
	readFirst := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			http.Error(w, "no flusher", http.StatusInternalServerError)
			return
		}
		rc := http.NewResponseController(w)
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 2 {
			_, _ = fmt.Fprintf(w, "event: endpoint\ndata: /message?sessionId=%d\n\n", i)
			if err := rc.Flush(); err != nil {
				return
			}
			if i == 0 {
				select {
				case <-readFirst:
				case <-r.Context().Done():
					return
				}
			}
		}
	})
	base := startSecured(t, h, Config{Auth: AuthOptions{Token: secret}, Logger: slog.New(slog.DiscardHandler)})

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/sse", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sc := bufio.NewScanner(resp.Body)
	var data []string
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = append(data, d)
			if len(data) == 1 {
				close(readFirst)
			}
		}
	}
	assert.Equal(t, []string{"/message?sessionId=0", "/message?sessionId=1"}, data)
}

// TestPublicPathsSkipTheAllowlist: a probe that addresses the server by IP
// reaches /healthz; the MCP paths still refuse a foreign Host.
func TestPublicPathsSkipTheAllowlist(t *testing.T) {
	h := &reached{}
	base := startSecured(t, h, Config{Auth: AuthOptions{Token: secret, PublicPaths: []string{"/healthz"}},
		Logger: slog.New(slog.DiscardHandler)})
	probe := map[string]string{"Host": "10.1.2.3:8080", "Origin": "https://evil.example.com"}
	code, _, _ := do(t, http.MethodGet, base+"/healthz", nil, probe)
	assert.Equal(t, http.StatusOK, code)
	probe["Authorization"] = "Bearer " + secret
	code, _, _ = do(t, http.MethodPost, base+"/mcp", nil, probe)
	assert.Equal(t, http.StatusForbidden, code, "only the public path is exempt")
	code, _, _ = do(t, http.MethodPost, base+"/healthz/x", nil, probe)
	assert.Equal(t, http.StatusForbidden, code, "exact paths only")
	assert.Equal(t, int32(1), h.n.Load())
}

// TestQueryValuesShapedLikeHFTokensAreRefused: whatever a parameter is
// called, a value (or name) that looks like an HF token, as is or encoded, is
// refused before auth and never written to the log or the answer.
func TestQueryValuesShapedLikeHFTokensAreRefused(t *testing.T) {
	const hfTok = "hf_QUERYqueryQUERYquery0123456789"
	var logs syncBuffer
	h := &reached{}
	base := startSecured(t, h, Config{Auth: AuthOptions{Token: secret}, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	auth := map[string]string{"Authorization": "Bearer " + secret}
	for _, q := range []string{
		"sessionId=" + hfTok, "x=" + hfTok, "cursor=abc&q=Bearer%20" + hfTok, "x=" + url.QueryEscape("%68%66%5f") + "QUERYqueryQUERYquery0123456789",
		"x=%68%66%5FQUERYqueryQUERYquery0123456789", hfTok + "=1", "x=\\u0068f_QUERYqueryQUERYquery0123456789",
	} {
		code, _, body := do(t, http.MethodPost, base+"/message?"+q, nil, auth)
		assert.Equal(t, http.StatusBadRequest, code, "?%s", q)
		assert.Contains(t, body, "looks like a Hugging Face token")
		assert.Contains(t, body, "Authorization: Bearer")
		assert.NotContains(t, body, "QUERYquery", "the answer does not repeat it")
	}
	assert.Zero(t, h.n.Load(), "no refused request reaches the server")
	assert.NotContains(t, logs.String(), "QUERYquery", "nor the log")
	assert.Contains(t, logs.String(), `"status":400`)

	code, _, _ := do(t, http.MethodPost, base+"/message?sessionId=0f5e7c2a-hf_short&cursor=hf_abc", nil, auth)
	assert.Equal(t, http.StatusOK, code, "ordinary parameters pass")
}
