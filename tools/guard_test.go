package tools

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/audit"
)

func TestParseConfirmMode(t *testing.T) {
	for in, want := range map[string]ConfirmMode{"": ConfirmAuto, "auto": ConfirmAuto, " Token ": ConfirmToken, "elicitation": ConfirmElicitation} {
		got, err := ParseConfirmMode(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := ParseConfirmMode("form")
	assert.ErrorContains(t, err, "use auto, elicitation or token")
}

func TestFormCapability(t *testing.T) {
	assert.False(t, formCapable(nil))
	assert.False(t, formCapable(&mcp.ClientCapabilities{}))
	assert.True(t, formCapable(&mcp.ClientCapabilities{Elicitation: &mcp.ElicitationCapability{}}), "an empty capability means forms")
	assert.True(t, formCapable(&mcp.ClientCapabilities{Elicitation: &mcp.ElicitationCapability{Form: &struct{}{}}}))
	assert.False(t, formCapable(&mcp.ClientCapabilities{Elicitation: &mcp.ElicitationCapability{URL: &struct{}{}}}), "URL-only clients cannot show a form")
}

func TestConfirmPathFollowsModeAndClient(t *testing.T) {
	modern := func(caps *mcp.ClientCapabilities) context.Context {
		return server.WithRequestProtocolInfo(context.Background(), &server.RequestProtocolInfo{Modern: true,
			ProtocolVersion: mcp.ProtocolVersion20260728, ClientCapabilities: caps})
	}
	withForms := modern(&mcp.ClientCapabilities{Elicitation: &mcp.ElicitationCapability{}})
	withoutForms := modern(&mcp.ClientCapabilities{})
	cases := []struct {
		mode ConfirmMode
		ctx  context.Context
		want confirmPath
	}{
		{ConfirmAuto, withForms, pathElicit},
		{ConfirmAuto, withoutForms, pathToken},
		{ConfirmAuto, context.Background(), pathToken}, // no session: nothing can be asked
		{ConfirmToken, withForms, pathToken},
		{ConfirmElicitation, withForms, pathElicit},
		{ConfirmElicitation, withoutForms, pathUnavailable},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, (&Call{ConfirmWith: tc.mode}).confirmPath(tc.ctx), "%s", tc.mode)
	}
}

// auditRun sends one call through AuditMiddleware around handler and returns the line written.
func auditRun(t *testing.T, tool string, args map[string]any, handler server.ToolHandlerFunc) []audit.Entry {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	log, err := audit.Open(path)
	require.NoError(t, err)
	log.AddSecrets("hf_literalTOKEN")
	mw := AuditMiddleware(log, nil, All())
	var req mcp.CallToolRequest
	req.Params.Name, req.Params.Arguments = tool, args
	_, _ = mw(handler)(context.Background(), req)
	require.NoError(t, log.Close())
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []audit.Entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e audit.Entry
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		out = append(out, e)
	}
	return out
}

func TestAuditMiddlewareOutcomes(t *testing.T) {
	okResult := func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("fine"), nil
	}
	cases := []struct {
		name    string
		handler server.ToolHandlerFunc
		outcome string
		errText string
	}{
		{"ok", okResult, audit.OutcomeOK, ""},
		{"tool error", func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultError("delete_endpoint failed: 404"), nil
		}, audit.OutcomeError, "delete_endpoint failed: 404"},
		{"protocol error", func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return nil, errors.New("boom")
		}, audit.OutcomeError, "boom"},
		{"form pending", func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return server.NewInputRequestBuilder("s").Elicit(confirmKey, mcp.ElicitationParams{Message: "m", RequestedSchema: map[string]any{}}).ToolResult(), nil
		}, audit.OutcomeConfirmationRequired, ""},
		{"refusal noted by the handler", func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			noteOutcome(ctx, audit.OutcomeRefused, "the user declined")
			noteTarget(ctx, "acme", "ep")
			return mcp.NewToolResultText("declined"), nil
		}, audit.OutcomeRefused, "the user declined"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := auditRun(t, "delete_endpoint", map[string]any{"endpoint_name": "ep", "confirmation_token": "tok.abc"}, tc.handler)
			require.Len(t, got, 1)
			e := got[0]
			assert.Equal(t, "delete_endpoint", e.Tool)
			assert.Equal(t, tc.outcome, e.Outcome)
			assert.Equal(t, tc.errText, e.Error)
			assert.Equal(t, "ep", e.Endpoint)
			assert.Equal(t, audit.Redacted, e.Arguments["confirmation_token"])
		})
	}
}

func TestAuditMiddlewareSkipsReadToolsAndRedacts(t *testing.T) {
	handler := func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("x"), nil
	}
	assert.Empty(t, auditRun(t, "get_endpoint", map[string]any{"endpoint_name": "ep"}, handler), "read-only tools are not audited")

	got := auditRun(t, "create_endpoint", map[string]any{"endpoint_name": "ep", "namespace": "acme",
		"secrets": map[string]any{"API_KEY": "s3cr3t"}, "env": map[string]any{"MODE": "quiet"}, "tags": []any{"hf_literalTOKEN"}}, handler)
	require.Len(t, got, 1)
	b, err := json.Marshal(got[0])
	require.NoError(t, err)
	for _, leak := range []string{"s3cr3t", "quiet", "hf_literalTOKEN"} {
		assert.NotContains(t, string(b), leak)
	}
	assert.Equal(t, "acme", got[0].Namespace)
	assert.Contains(t, got[0].Arguments["env"], "MODE", "names of env variables are kept, values are not")
}

func TestApprovedNeedsAnAcceptedForm(t *testing.T) {
	answer := func(action mcp.ElicitationResponseAction, content any) *mcp.ElicitationResult {
		return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: action, Content: content}}
	}
	assert.True(t, approved(answer(mcp.ElicitationResponseActionAccept, map[string]any{"approve": true})))
	for _, content := range []any{
		map[string]any{}, map[string]any{"approve": false}, map[string]any{"approve": "true"}, map[string]any{"approve": "false"},
		map[string]any{"approve": 0}, map[string]any{"approve": 1.0}, map[string]any{"approve": "yes"}, map[string]any{"approve": nil},
		map[string]any{"approve": []any{true}}, nil, "approve", map[string]any{"Approve": true},
	} {
		answer := answer(mcp.ElicitationResponseActionAccept, content)
		assert.False(t, approved(answer), "only approve: true approves, not %#v", content)
		status, note := notApprovedNote(answer)
		assert.Equal(t, statusNotConfirmed, status)
		assert.Contains(t, note, "not approved")
	}
	assert.False(t, approved(answer(mcp.ElicitationResponseActionDecline, map[string]any{"approve": true})))
	assert.False(t, approved(answer(mcp.ElicitationResponseActionCancel, nil)))
	assert.False(t, approved(nil))
}

func TestPreviewTextCarriesTheToken(t *testing.T) {
	r := DeleteResult{EndpointName: "ep", Status: statusConfirmationRequired, ConfirmationToken: "tok.sig",
		Preview: &Preview{Summary: "Delete endpoint acme/ep permanently"}, Note: "nothing was deleted"}
	assert.Equal(t, "Delete endpoint acme/ep permanently\nnothing was deleted\nconfirmation_token: tok.sig", r.Summary())
	assert.Equal(t, "the user declined; nothing was deleted", DeleteResult{Note: "the user declined; nothing was deleted"}.Summary())
}

// TestAuditRecordsIntentsAndSettlements: the write-ahead side of the audit
// middleware writes an intent line naming the change, and a call whose change
// got no answer is recorded by what the re-read found: ok when it took effect
// (whatever the call returned), unknown when it could not be shown.
func TestAuditRecordsIntentsAndSettlements(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	log, err := audit.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = log.Close() })
	var req mcp.CallToolRequest
	req.Params.Name, req.Params.Arguments = "delete_endpoint", map[string]any{"endpoint_name": "ep", "confirmation_token": "tok.sig"}
	note := &auditNote{}
	ahead := &auditAhead{log: log, req: req, note: note}
	in := hfapi.Intent{Op: "delete endpoint acme/ep", Method: "DELETE", Namespace: "acme", Name: "ep"}
	require.NoError(t, ahead.Intent(context.Background(), in))
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var intent audit.Entry
	require.NoError(t, json.Unmarshal(raw, &intent))
	assert.Equal(t, audit.OutcomeIntent, intent.Outcome)
	assert.Equal(t, "delete endpoint acme/ep", intent.Action)
	assert.Equal(t, "acme", intent.Namespace)
	assert.Equal(t, audit.Redacted, intent.Arguments["confirmation_token"])

	cancelled := errors.New("delete_endpoint was cancelled before it finished")
	for _, tc := range []struct {
		done    bool
		outcome string
	}{{true, audit.OutcomeOK}, {false, audit.OutcomeUnknown}} {
		note := &auditNote{}
		(&auditAhead{log: log, req: req, note: note}).Settled(context.Background(),
			hfapi.Settlement{Intent: in, Lost: "context canceled", Found: "what was found", Done: tc.done})
		e := auditEntry(context.Background(), req, note, nil, cancelled)
		assert.Equal(t, tc.outcome, e.Outcome)
		assert.Equal(t, "no answer (context canceled); re-read: what was found", e.Note)
	}

	require.NoError(t, log.Close())
	err = ahead.Intent(context.Background(), in)
	assert.ErrorContains(t, err, "the audit log cannot be written", "a closed log refuses the change")
}
