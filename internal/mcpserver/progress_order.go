package mcpserver

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/progress"
)

// A call's progress notifications and its result are written by different goroutines: over stdio
// the session's writer (stdioConn.writeNotifications) writes the notifications and the goroutine
// serving the call its result; over 2026-07-28 streamable HTTP, mcp-go's forwarder and the POST's
// handler. Left alone, a call's last progress could reach the client after its result, and be
// dropped there ("unknown progress token"). So a call carries a progress.Delivery, which counts
// the notifications it queued and those written, and flushProgress holds its result until all are
// out. Over HTTP trackProgressDelivery attaches and counts it (mcpgo_progress_delivery.go), for
// the 2026-07-28 POSTs mcp-go's transport serves: the ordinary ones served beside it
// (mcpgo_modern_post.go) write a call's queued notifications before its result themselves; over
// stdio flushProgress attaches it to a call with a progress token, and the writer counts each
// progress notification for the call whose token it carries (stdioProgress). A call without one
// waits for nothing.

// progressFlushLimit bounds how long a result waits for its progress
// notifications to be written.
const progressFlushLimit = 2 * time.Second

// flushProgress holds a tool result until the progress notifications the call
// queued were written (where trackProgressDelivery or stdioProgress count them).
func flushProgress(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if stdio, ok := server.ClientSessionFromContext(ctx).(*stdioClient); ok {
			var untrack func()
			ctx, untrack = stdio.progress.track(ctx, req)
			defer untrack()
		}
		res, err := next(ctx, req)
		progress.DeliveryFrom(ctx).Flush(ctx, progressFlushLimit)
		return res, err
	}
}

// stdioProgress routes the progress notifications the stdio writer wrote to the Delivery of
// the call they belong to, by progress token (unique among a client's running requests).
type stdioProgress struct {
	mu    sync.Mutex
	calls map[any]*progress.Delivery // by progress token, as the request decoded it
}

// track gives the call of req a Delivery under its progress token, until untrack. A call
// without a token, with one no other call is using, or with one that is not a string or a
// number (not valid JSON-RPC; the notifications go out all the same) gets none.
func (p *stdioProgress) track(ctx context.Context, req mcp.CallToolRequest) (_ context.Context, untrack func()) {
	if req.Params.Meta == nil || !usableToken(req.Params.Meta.ProgressToken) {
		return ctx, func() {}
	}
	token := req.Params.Meta.ProgressToken
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, taken := p.calls[token]; taken {
		return ctx, func() {}
	}
	if p.calls == nil {
		p.calls = map[any]*progress.Delivery{}
	}
	d := progress.NewDelivery()
	p.calls[token] = d
	return progress.WithDelivery(ctx, d), func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.calls, token)
	}
}

// usableToken reports whether token can key the map: what a JSON-RPC progress token decodes to.
func usableToken(token mcp.ProgressToken) bool {
	switch token.(type) {
	case string, float64, int, int64, json.Number:
		return true
	}
	return false
}

// written counts n, just written (or failed to be: the result will not get further), for the
// call whose progress it reports.
func (p *stdioProgress) written(n mcp.JSONRPCNotification) {
	if n.Method != progress.Method {
		return
	}
	token := n.Params.AdditionalFields["progressToken"]
	if !usableToken(token) {
		return
	}
	p.mu.Lock()
	d := p.calls[token]
	p.mu.Unlock()
	d.Written()
}
