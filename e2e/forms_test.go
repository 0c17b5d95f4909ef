package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/audit"
)

// stdioFormClient spawns the binary over stdio with an mcp-go client whose forms
// are answered by form. Unlike the official SDK, mcp-go sends a form's answer as
// given, without checking it against the requested schema: what a careless or
// hostile client can send.
func stdioFormClient(t *testing.T, env []string, form *scriptedForm, args ...string) *mcpclient.Client {
	t.Helper()
	stderr := &lockedBuffer{}
	tr := transport.NewStdioWithOptions(binPath, env, append([]string{"serve"}, args...),
		transport.WithCommandFunc(func(ctx context.Context, command string, env, args []string) (*exec.Cmd, error) {
			cmd := serverCommand(t, stderr, args, env...)
			return cmd, nil
		}))
	c := mcpclient.NewClient(tr, mcpclient.WithElicitationHandler(form))
	require.NoError(t, c.Start(context.Background()))
	t.Cleanup(func() { _ = c.Close() })
	var init mcp.InitializeRequest
	init.Params.ProtocolVersion = "2025-11-25"
	init.Params.ClientInfo = mcp.Implementation{Name: "careless-forms", Version: "1"}
	_, err := c.Initialize(context.Background(), init)
	require.NoError(t, err, "stderr:\n%s", stderr)
	return c
}

// callStructured calls a tool and returns its structured content, text and isError.
func callStructured(t testing.TB, c *mcpclient.Client, name string, args map[string]any) (map[string]any, string, bool) {
	t.Helper()
	var req mcp.CallToolRequest
	req.Params.Name, req.Params.Arguments = name, args
	res, err := c.CallTool(context.Background(), req)
	require.NoError(t, err, "%s %v: protocol error", name, args)
	var text []string
	for _, ct := range res.Content {
		if tc, ok := ct.(mcp.TextContent); ok {
			text = append(text, tc.Text)
		}
	}
	var out map[string]any
	if res.StructuredContent != nil {
		b, err := json.Marshal(res.StructuredContent)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &out))
	}
	return out, strings.Join(text, "\n"), res.IsError
}

// readAudit parses every line of an audit log.
func readAudit(t *testing.T, path string) []audit.Entry {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var got []audit.Entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e audit.Entry
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e), "line %q", sc.Text())
		got = append(got, e)
	}
	return got
}

// TestE2EApprovalFormsFailClosed: a client answers the spend-approval form
// "accept" with approve as "false", "true" (strings), 0, 1, "yes", null, or
// without it; and the delete form with confirm as a number, a boolean or a list.
// None of these approve: nothing is sent upstream, the result says not
// confirmed, and the audit log records each as refused, not approved. Only
// approve: true goes ahead.
func TestE2EApprovalFormsFailClosed(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	auditPath := filepath.Join(t.TempDir(), "audit.jsonl")
	form := &scriptedForm{}
	c := stdioFormClient(t, backendEnv(t, emu), form, "--audit-log", auditPath)

	wrong := map[string]map[string]any{
		`"false"`:  {"approve": "false"},
		`"true"`:   {"approve": "true"},
		`0`:        {"approve": 0},
		`1`:        {"approve": 1},
		`"yes"`:    {"approve": "yes"},
		`null`:     {"approve": nil},
		`missing`:  {},
		`[true]`:   {"approve": []any{true}},
		`{object}`: {"approve": map[string]any{"value": true}},
	}
	for what, content := range wrong {
		form.answer(formAnswer(mcp.ElicitationResponseActionAccept, content))
		out, text, isErr := callStructured(t, c, "create_endpoint", h100x8("big"))
		require.False(t, isErr, text)
		assert.Equal(t, "not_confirmed", out["status"], "approve %s: %s", what, text)
		assert.Contains(t, text, "not approved", "approve %s", what)
		assert.Nil(t, out["endpoint"], "approve %s", what)
		assert.Zero(t, emu.Requests("POST", routeCreate), "approve %s: nothing was sent", what)
	}
	form.answer(formAnswer(mcp.ElicitationResponseActionAccept, map[string]any{"approve": true}))
	out, text, isErr := callStructured(t, c, "create_endpoint", h100x8("big"))
	require.False(t, isErr, text)
	assert.Equal(t, "big", endpointOf(out)["name"], text)
	assert.EqualValues(t, 1, emu.Requests("POST", routeCreate))

	for _, confirm := range []any{12, true, []any{"emulator-user/big"}, nil} {
		form.answer(formAnswer(mcp.ElicitationResponseActionAccept, map[string]any{"confirm": confirm}))
		out, text, isErr := callStructured(t, c, "delete_endpoint", map[string]any{"endpoint_name": "big"})
		require.False(t, isErr, text)
		assert.Equal(t, "not_confirmed", out["status"], "confirm %v: %s", confirm, text)
		assert.Equal(t, false, out["deleted"])
	}
	assert.Zero(t, emu.Requests("DELETE", routeEndpoint))

	var refusedCreates, refusedDeletes int
	for _, e := range readAudit(t, auditPath) {
		if e.Outcome != audit.OutcomeRefused {
			continue
		}
		switch e.Tool {
		case "create_endpoint":
			refusedCreates++
			assert.Contains(t, e.Error, "not approved")
		case "delete_endpoint":
			refusedDeletes++
			assert.Contains(t, e.Error, "not confirmed")
		}
	}
	assert.Equal(t, len(wrong), refusedCreates, "each wrong answer is on record as refused")
	assert.Equal(t, 4, refusedDeletes)
}
