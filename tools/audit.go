package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/audit"
)

// auditNote is what a handler tells the audit record beyond its result: the
// resolved target and, for confirmations, the outcome.
type auditNote struct {
	mu                  sync.Mutex
	outcome, reason     string
	namespace, endpoint string
	defaultNamespace    string            // the namespace a call without one acts in, for calls that fail early
	settled             *hfapi.Settlement // what a re-read found after a change got no answer
}

type auditKey struct{}

// noteOutcome records the outcome of a guarded step (refused, confirmation_required).
func noteOutcome(ctx context.Context, outcome, reason string) {
	if n, ok := ctx.Value(auditKey{}).(*auditNote); ok {
		n.mu.Lock()
		n.outcome, n.reason = outcome, reason
		n.mu.Unlock()
	}
}

// noteTarget records the endpoint a call acts on, with its resolved namespace.
func noteTarget(ctx context.Context, namespace, endpoint string) {
	if n, ok := ctx.Value(auditKey{}).(*auditNote); ok {
		n.mu.Lock()
		n.namespace, n.endpoint = namespace, endpoint
		n.mu.Unlock()
	}
}

// targeted is an input that names the endpoint a call acts on.
type targeted interface {
	target() (namespace, endpoint string)
}

func (t Target) target() (string, string)        { return t.Namespace, t.EndpointName }
func (in CreateInput) target() (string, string)  { return in.Namespace, in.EndpointName }
func (in CatalogInput) target() (string, string) { return in.Namespace, in.EndpointName }

// noteDefaultNamespace records, for an audited call that gives no namespace,
// the namespace it acts in, so that a call failing before any result still
// has its full target on record.
func noteDefaultNamespace(ctx context.Context, call *Call, in any) {
	n, ok := ctx.Value(auditKey{}).(*auditNote)
	t, isTargeted := in.(targeted)
	if !ok || !isTargeted {
		return
	}
	if ns, _ := t.target(); ns != "" {
		return
	}
	ns := namespaceFor(ctx, call, "")
	n.mu.Lock()
	n.defaultNamespace = ns
	n.mu.Unlock()
}

// AuditMiddleware appends one line to log for every call of a mutating tool
// among tools (refused and failed calls included), after the call and before
// its result is returned: a result the client saw is on disk. A call that
// asks for a confirmation and its confirmed retry are two lines. Before the
// call sends a change upstream, an intent line is written and fsynced; when
// that fails, the change is not sent and the call fails (write-ahead, so a
// crash between the two still leaves the intent on record). logger receives
// failures to write the line after the call.
func AuditMiddleware(log *audit.Log, logger *slog.Logger, tools []Tool) server.ToolHandlerMiddleware {
	mutating := map[string]bool{}
	for _, t := range tools {
		mutating[t.Name] = !t.Hints.ReadOnly
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return func(next server.ToolHandlerFunc) server.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if !log.Enabled() || !mutating[req.Params.Name] {
				return next(ctx, req)
			}
			ctx, ids := hfapi.WithRequestIDs(ctx)
			note := &auditNote{}
			ahead := hfapi.WithWriteAhead(ctx, &auditAhead{log: log, req: req, note: note})
			res, err := next(context.WithValue(ahead, auditKey{}, note), req)
			entry := auditEntry(ctx, req, note, res, err)
			entry.RequestID = strings.Join(ids.IDs(), ",")
			if aerr := log.Append(entry); aerr != nil {
				logger.Error("audit log write failed", "tool", req.Params.Name, "err", aerr)
			}
			return res, err
		}
	}
}

// auditAhead writes a call's intent lines and hears how lost answers settled.
type auditAhead struct {
	log  *audit.Log
	req  mcp.CallToolRequest
	note *auditNote
}

// Intent writes the intent line of a change about to be sent; an error stops the change.
func (a *auditAhead) Intent(ctx context.Context, in hfapi.Intent) error {
	e := auditEntry(ctx, a.req, a.note, nil, nil)
	e.Outcome, e.Action, e.Error = audit.OutcomeIntent, in.Op, ""
	e.Namespace = in.Namespace
	if in.Name != "" {
		e.Endpoint = in.Name
	}
	if err := a.log.Append(e); err != nil {
		return fmt.Errorf("the audit log cannot be written: %w; free or fix it (--audit-log), or run with --audit-log off to act unaudited", err)
	}
	return nil
}

// Settled keeps what a re-read found, for the call's line.
func (a *auditAhead) Settled(_ context.Context, s hfapi.Settlement) {
	a.note.mu.Lock()
	a.note.settled = &s
	a.note.mu.Unlock()
}

func auditEntry(ctx context.Context, req mcp.CallToolRequest, note *auditNote, res *mcp.CallToolResult, err error) audit.Entry {
	var args map[string]any
	if jerr := json.Unmarshal(rawArguments(req), &args); jerr != nil {
		args = map[string]any{"unparsed": "arguments were not a JSON object"}
	}
	e := audit.Entry{Client: clientName(ctx), Caller: audit.CallerFrom(ctx), Transport: transportName(ctx), Tool: req.Params.Name, Arguments: args}
	e.Namespace, _ = args["namespace"].(string)
	e.Endpoint, _ = args["endpoint_name"].(string)
	if ns, name := targetOf(res); ns != "" {
		e.Namespace, e.Endpoint = ns, name
	}
	note.mu.Lock()
	defer note.mu.Unlock()
	if note.namespace != "" {
		e.Namespace, e.Endpoint = note.namespace, note.endpoint
	}
	if e.Namespace == "" {
		e.Namespace = note.defaultNamespace
	}
	switch {
	case err != nil:
		e.Outcome, e.Error = audit.OutcomeError, err.Error()
	case note.outcome != "":
		e.Outcome, e.Error = note.outcome, note.reason
	case res != nil && res.ResultType == mcp.ResultTypeInputRequired:
		e.Outcome = audit.OutcomeConfirmationRequired
	case res != nil && res.IsError:
		e.Outcome, e.Error = audit.OutcomeError, auditText(res)
	default:
		e.Outcome = audit.OutcomeOK
	}
	if s := note.settled; s != nil {
		// The change got no answer: the record says what the re-read found, whatever the call
		// returned (a cancelled call whose delete went through deleted the endpoint).
		e.Note = s.Text()
		if s.Done {
			e.Outcome, e.Error = audit.OutcomeOK, ""
		} else if e.Outcome == audit.OutcomeError {
			e.Outcome = audit.OutcomeUnknown
		}
	}
	return e
}

// targetOf reads the resolved namespace and endpoint name from a result's
// structured content ({"endpoint": {"namespace", "name"}}), when it has them.
func targetOf(res *mcp.CallToolResult) (namespace, name string) {
	if res == nil || len(res.RawStructuredContent) == 0 {
		return "", ""
	}
	var doc struct {
		Endpoint *struct {
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		} `json:"endpoint"`
	}
	if json.Unmarshal(res.RawStructuredContent, &doc) != nil || doc.Endpoint == nil {
		return "", ""
	}
	return doc.Endpoint.Namespace, doc.Endpoint.Name
}

func auditText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if t, ok := c.(mcp.TextContent); ok {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, " ")
}

// clientName is the client's name/version from this request (2026-07-28) or
// from initialize.
func clientName(ctx context.Context) string {
	var info *mcp.Implementation
	if pi := server.RequestProtocolInfoFromContext(ctx); pi != nil && pi.ClientInfo != nil {
		info = pi.ClientInfo
	} else if s, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo); ok {
		ci := s.GetClientInfo()
		info = &ci
	}
	if info == nil || info.Name == "" {
		return ""
	}
	if info.Version == "" {
		return info.Name
	}
	return info.Name + "/" + info.Version
}

// transportName names the session's transport and, when known, the protocol version.
func transportName(ctx context.Context) string {
	name := "unknown"
	session := server.ClientSessionFromContext(ctx)
	switch named, ok := session.(interface{ TransportName() string }); {
	case ok: // a session of the server's own (internal/mcpserver serves stdio itself)
		name = named.TransportName()
	default:
		switch fmt.Sprintf("%T", session) {
		case "*server.sseSession":
			name = "sse"
		case "*server.streamableHttpSession":
			name = "streamable-http"
		case "*server.InProcessSession":
			name = "in-process"
		}
	}
	if v := server.RequestProtocolVersion(ctx); v != "" {
		name += " " + v
	}
	return name
}

// AuditUnservedCalls returns an mcp-go error hook that records, as refused,
// calls to mutating tools this server does not serve (removed by --read-only,
// --disable-destructive or --toolsets): an agent trying them is worth a line.
// mcp-go rejects such calls before any tool middleware runs.
func AuditUnservedCalls(log *audit.Log, logger *slog.Logger, served []Tool) server.OnErrorHookFunc {
	servedNames := map[string]bool{}
	for _, t := range served {
		servedNames[t.Name] = true
	}
	mutating := map[string]bool{}
	for _, t := range All() {
		mutating[t.Name] = !t.Hints.ReadOnly
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return func(ctx context.Context, _ any, method mcp.MCPMethod, message any, err error) {
		req, ok := message.(*mcp.CallToolRequest)
		if !log.Enabled() || method != mcp.MethodToolsCall || !ok || !errors.Is(err, server.ErrToolNotFound) ||
			!mutating[req.Params.Name] || servedNames[req.Params.Name] {
			return
		}
		e := auditEntry(ctx, *req, &auditNote{}, nil, nil)
		e.Outcome = audit.OutcomeRefused
		e.Error = req.Params.Name + " is not served by this server (--read-only, --disable-destructive or --toolsets)"
		if aerr := log.Append(e); aerr != nil {
			logger.Error("audit log write failed", "tool", req.Params.Name, "err", aerr)
		}
	}
}
