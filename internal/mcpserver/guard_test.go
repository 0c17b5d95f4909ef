package mcpserver

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mcpclient "github.com/mark3labs/mcp-go/client"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/audit"
)

func servedNames(s *Server) []string {
	var names []string
	for _, t := range s.Tools() {
		names = append(names, t.Name)
	}
	return names
}

func TestDisableDestructiveRemovesDeleteOnly(t *testing.T) {
	all := servedNames(newServer(t, Options{}))
	assert.Contains(t, all, "delete_endpoint")

	safe := servedNames(newServer(t, Options{DisableDestructive: true}))
	assert.NotContains(t, safe, "delete_endpoint")
	assert.Contains(t, safe, "update_endpoint", "updates are reversible and stay")
	assert.Len(t, safe, len(all)-1)

	assert.NotContains(t, servedNames(newServer(t, Options{ReadOnly: true})), "delete_endpoint")
}

// TestAuditRecordsEveryMutatingCall: the audit middleware is installed when a
// log is given, records failed mutating calls too, and skips reads.
func TestAuditRecordsEveryMutatingCall(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	log, err := audit.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = log.Close() })
	s := newServer(t, Options{Audit: log})
	c, err := mcpclient.NewInProcessClient(s.MCP())
	require.NoError(t, err)
	require.NoError(t, c.Start(t.Context()))
	t.Cleanup(func() { _ = c.Close() })
	var init mcpgo.InitializeRequest
	init.Params.ProtocolVersion = "2025-11-25"
	init.Params.ClientInfo = mcpgo.Implementation{Name: "audit-test", Version: "2"}
	_, err = c.Initialize(context.Background(), init)
	require.NoError(t, err)

	for _, name := range []string{"get_endpoint", "delete_endpoint"} {
		var req mcpgo.CallToolRequest
		req.Params.Name = name
		req.Params.Arguments = map[string]any{"endpoint_name": "ep", "confirmation_token": "secret-ish"}
		res, err := c.CallTool(context.Background(), req)
		require.NoError(t, err)
		assert.True(t, res.IsError, "no token configured: %s", name)
	}
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	require.Len(t, lines, 1, "only the mutating call is audited:\n%s", raw)
	var e audit.Entry
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &e))
	assert.Equal(t, "delete_endpoint", e.Tool)
	assert.Equal(t, audit.OutcomeError, e.Outcome)
	assert.Contains(t, e.Error, "HF_TOKEN")
	assert.Equal(t, "audit-test/2", e.Client)
	assert.Equal(t, "in-process 2025-11-25", e.Transport)
	assert.Equal(t, audit.Redacted, e.Arguments["confirmation_token"])
}

// TestAuditRecordsCallsToRemovedTools: a call to a mutating tool this server
// does not serve is refused by mcp-go and still leaves a line.
func TestAuditRecordsCallsToRemovedTools(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	log, err := audit.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = log.Close() })
	s := newServer(t, Options{Audit: log, DisableDestructive: true})
	c, err := mcpclient.NewInProcessClient(s.MCP())
	require.NoError(t, err)
	require.NoError(t, c.Start(t.Context()))
	t.Cleanup(func() { _ = c.Close() })
	var init mcpgo.InitializeRequest
	init.Params.ProtocolVersion = "2025-11-25"
	_, err = c.Initialize(context.Background(), init)
	require.NoError(t, err)

	for _, name := range []string{"delete_endpoint", "no_such_tool"} {
		var req mcpgo.CallToolRequest
		req.Params.Name = name
		req.Params.Arguments = map[string]any{"endpoint_name": "ep"}
		_, err := c.CallTool(context.Background(), req)
		require.Error(t, err, "%s is not served", name)
	}
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	require.Len(t, lines, 1, "only the known mutating tool is recorded:\n%s", raw)
	var e audit.Entry
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &e))
	assert.Equal(t, "delete_endpoint", e.Tool)
	assert.Equal(t, audit.OutcomeRefused, e.Outcome)
	assert.Contains(t, e.Error, "--disable-destructive")
	assert.Equal(t, "ep", e.Endpoint)
}
