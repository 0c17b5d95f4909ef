package e2e

// Loopback HTTP is not open to every local account: without any authentication configured, the
// binary generates a bearer token, keeps it private in its state directory, prints the header to
// configure, and reuses it across restarts.

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/mcpserver"
)

var printedHeader = regexp.MustCompile(`Authorization: Bearer ([0-9a-f]{64})`)

func TestE2ELoopbackHTTPNeedsTheGeneratedToken(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	state := t.TempDir()
	env := append(backendEnv(t, emu), "HF_MCP_STATE_DIR="+state)
	start := func() (base, token string) {
		cmd, base, stderr := startBinary(t, env, "serve", "--transport", "http", "--addr", "127.0.0.1:0")
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		require.Eventually(t, func() bool { return printedHeader.MatchString(stderr.String()) }, 30*time.Second, 10*time.Millisecond,
			"the header to configure is printed; stderr:\n%s", stderr)
		m := printedHeader.FindStringSubmatch(stderr.String())
		assert.Contains(t, stderr.String(), base+mcpserver.PathStreamable, "and the URL")
		return base, m[1]
	}
	connect := func(base, token string) (*sdk.ClientSession, error) {
		hc := http.DefaultClient
		if token != "" {
			hc = &http.Client{Transport: headerTransport{"Authorization": "Bearer " + token}}
		}
		return sdk.NewClient(&sdk.Implementation{Name: "local", Version: "1"}, nil).Connect(context.Background(),
			&sdk.StreamableClientTransport{Endpoint: base + mcpserver.PathStreamable, MaxRetries: -1, HTTPClient: hc}, nil)
	}

	base, token := start()
	_, err := connect(base, "")
	require.Error(t, err, "another local account, without the token, is refused")
	cs, err := connect(base, token)
	require.NoError(t, err)
	res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
	require.NoError(t, err)
	assert.False(t, res.IsError, textOf(res))
	_ = cs.Close()

	info, err := os.Stat(filepath.Join(state, "http-token"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the token file is the owner's alone")

	_, again := start()
	assert.Equal(t, token, again, "a restart keeps the token, so configured clients keep working")
}

// headerTransport adds headers to every request.
type headerTransport map[string]string

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return http.DefaultTransport.RoundTrip(r)
}
