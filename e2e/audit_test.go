package e2e

// Write-ahead audit: no change is sent that the audit log could not record
// first, and a change whose answer was lost is recorded by what happened.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/audit"
)

// stdioSession starts the binary over stdio with env and returns the session and its process.
func stdioSession(t *testing.T, env []string, args ...string) (*session, *exec.Cmd) {
	t.Helper()
	stderr := &lockedBuffer{}
	cmd := serverCommand(t, stderr, append([]string{"serve"}, args...), env...)
	client := sdk.NewClient(&sdk.Implementation{Name: "e2e-audit-ahead", Version: "1"}, nil)
	cs, err := client.Connect(t.Context(), &sdk.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, nil)
	require.NoError(t, err, "stderr:\n%s", stderr)
	t.Cleanup(func() { closeSession(t, cs, stderr) })
	return &session{ClientSession: cs, stderr: stderr, progress: map[string][]*sdk.ProgressNotificationParams{}, arrived: make(chan struct{}, 1)}, cmd
}

// changes counts the requests of the emulator that change something.
func changes(emu *emulator.Server) int64 {
	var n int64
	for _, r := range emu.Routes() {
		if method, route, _ := strings.Cut(r, " "); method != http.MethodGet {
			n += emu.Requests(method, route)
		}
	}
	return n
}

// TestE2ECancelledDeleteIsRecordedAsDeleted: the API carries out a DELETE and
// its answer never comes back; the client gives up and cancels the call. The
// endpoint is gone, so the audit log records the delete as done (with what the
// re-read found), not as cancelled.
func TestE2ECancelledDeleteIsRecordedAsDeleted(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	target, err := url.Parse(emu.URL)
	require.NoError(t, err)
	deleted := make(chan struct{}, 1)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method != http.MethodDelete {
			return nil
		}
		deleted <- struct{}{}
		<-resp.Request.Context().Done() // the answer is held until the server gives up on it
		return resp.Request.Context().Err()
	}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	env := append(backendEnv(t, emu), "HF_ENDPOINTS_API_URL="+front.URL+"/v2")
	auditPath := filepath.Join(t.TempDir(), "audit.jsonl")
	s, _ := stdioSession(t, env, "--audit-log", auditPath)

	ok(t, s, emu, "create_endpoint", cpuSpec("doomed", "openai-community/gpt2", "text-generation"))
	tok := ok(t, s, emu, "delete_endpoint", map[string]any{"endpoint_name": "doomed"})["confirmation_token"]
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		select {
		case <-deleted:
			cancel()
		case <-ctx.Done():
		}
	}()
	_, err = s.CallTool(ctx, &sdk.CallToolParams{Name: "delete_endpoint",
		Arguments: map[string]any{"endpoint_name": "doomed", "confirmation_token": tok}})
	require.Error(t, err, "the client cancelled the call")
	assert.EqualValues(t, 1, emu.Requests("DELETE", routeEndpoint))

	var outcome *audit.Entry
	require.Eventually(t, func() bool {
		for _, e := range readAudit(t, auditPath) {
			if e.Tool == "delete_endpoint" && e.Outcome != audit.OutcomeIntent && e.Outcome != audit.OutcomeConfirmationRequired {
				outcome = &e
				return true
			}
		}
		return false
	}, 30*time.Second, 10*time.Millisecond, "the delete's outcome line")
	assert.Equal(t, audit.OutcomeOK, outcome.Outcome, "%+v", outcome)
	assert.Contains(t, outcome.Note, "context canceled")
	assert.Contains(t, outcome.Note, "the endpoint no longer exists: it was deleted")
	assert.Empty(t, outcome.Error)
	failing(t, s, emu, "get_endpoint", map[string]any{"endpoint_name": "doomed"})
}
