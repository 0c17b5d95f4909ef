package cli

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWhenServeGeneratesAToken(t *testing.T) {
	const secret = "0123456789abcdef0123"
	for _, tc := range []struct {
		name     string
		args     []string
		generate bool
	}{
		{"http on loopback", []string{"--transport", "http"}, true},
		{"sse on loopback", []string{"--transport", "sse", "--addr", "localhost:9000"}, true},
		{"stdio", nil, false},
		{"a token of one's own", []string{"--transport", "http", "--auth-token", secret}, false},
		{"explicitly off", []string{"--transport", "http", "--auth-token", "off"}, false},
		{"pass-through", []string{"--transport", "http", "--hf-token-passthrough"}, false},
		{"oauth", []string{"--transport", "http", "--oauth"}, false},
		{"emulator", []string{"--transport", "http", "--emulator"}, false},
		{"a non-loopback address, which is refused without auth", []string{"--transport", "http", "--addr", "0.0.0.0:8080"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{envAuthToken, envPassThrough, envOAuth, envEmulator, envTransport, envAddr} {
				t.Setenv(k, "")
			}
			cfg, _, err := parseServeFlags(tc.args, io.Discard)
			require.NoError(t, err)
			assert.Equal(t, tc.generate, cfg.http.needsLocalToken(cfg.transport, cfg.addr, cfg.emulator))
		})
	}
}

var bannerToken = regexp.MustCompile(`Authorization: Bearer ([0-9a-f]{64})`)

// serveWithLocalToken runs serve --transport http on a free port with state in state, and returns
// its base URL and the token its banner printed.
func serveWithLocalToken(t *testing.T, state string) (base, token string) {
	t.Helper()
	t.Setenv("XDG_STATE_HOME", state)
	for _, k := range []string{envAuthToken, envPassThrough, envOAuth, envEmulator, envTransport, envAddr, envStateDir} {
		t.Setenv(k, "")
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--transport", "http", "--addr", "127.0.0.1:0", "--audit-log", "off"}, io.Discard, pw)
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		_ = pw.Close()
	})
	sc := bufio.NewScanner(pr)
	for sc.Scan() && (base == "" || token == "") {
		line := sc.Text()
		if m := bannerToken.FindStringSubmatch(line); m != nil {
			token = m[1]
		}
		if _, after, ok := strings.Cut(line, "to http://"); ok && base == "" {
			base = "http://" + strings.Fields(after)[0]
			base = strings.TrimSuffix(base, "/mcp")
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	require.NotEmpty(t, base)
	require.NotEmpty(t, token)
	return base, token
}

func healthAndMCP(t *testing.T, base, token string) (health, mcp int) {
	t.Helper()
	get := func(path string) int {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+path, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	return get("/healthz"), get("/mcp")
}

func TestLoopbackHTTPNeedsTheGeneratedTokenAcrossRestarts(t *testing.T) {
	state := t.TempDir()
	var first string
	t.Run("first start", func(t *testing.T) {
		base, token := serveWithLocalToken(t, state)
		first = token
		_, status := healthAndMCP(t, base, "")
		assert.Equal(t, http.StatusUnauthorized, status, "a local user without the token is refused")
		_, status = healthAndMCP(t, base, strings.Repeat("0", 64))
		assert.Equal(t, http.StatusUnauthorized, status)
		_, status = healthAndMCP(t, base, token)
		assert.NotEqual(t, http.StatusUnauthorized, status, "the printed header lets a client in")
	})
	info, err := os.Stat(filepath.Join(state, "hf-endpoints-mcp", "http-token"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	t.Run("restart", func(t *testing.T) {
		_, token := serveWithLocalToken(t, state)
		assert.Equal(t, first, token, "clients configured once keep working")
	})
}

func TestAuthTokenOffIsForLoopbackOnly(t *testing.T) {
	for _, k := range []string{envAuthToken, envPassThrough, envOAuth, envEmulator, envTransport, envAddr, envStateDir} {
		t.Setenv(k, "")
	}
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	err := runServe(context.Background(), []string{"--transport", "http", "--addr", "0.0.0.0:0", "--auth-token", "off", "--audit-log", "off"},
		io.Discard, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `refusing to listen on "0.0.0.0:0"`)
}
