package mcpserver

// Workaround for mcp-go v1.2.1: its streamable HTTP transport forwards a request's notifications
// from a goroutine and drops one it took off the queue just as the result is being written, so a
// wait's last progress could be lost. trackProgressDelivery counts what reaches a 2026-07-28
// response and flushProgress holds the result until the call's progress is out (legacy sessions
// rely on the event store instead, replay.go). It can go when mcp-go writes every notification a
// request queued before its result (server/streamable_http.go, the POST's notification
// forwarder): TestE2EConcurrentCallsKeepTheirProgressApart then passes without
// trackProgressDelivery. flushProgress (progress_order.go) stays: stdio needs it too.

import (
	"bytes"
	"net/http"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/progress"
)

// progressOnTheWire identifies a progress notification in a written SSE event.
var progressOnTheWire = []byte(`"method":"` + progress.Method + `"`)

// trackProgressDelivery counts the progress notifications written to the
// response of a modern (2026-07-28) streamable HTTP POST. Such a response
// carries its own request's messages only, so flushProgress can hold the
// result until all of the call's notifications are out; mcp-go v1.2.1 would
// otherwise drop one picked up just as the result was being written.
// (Legacy sessions share streams between requests; their event store keeps
// such notifications instead, see replayLog.)
func trackProgressDelivery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion)) {
			next.ServeHTTP(w, r)
			return
		}
		d := progress.NewDelivery()
		next.ServeHTTP(&deliveryWriter{ResponseWriter: w, delivery: d}, r.WithContext(progress.WithDelivery(r.Context(), d)))
	})
}

// deliveryWriter reports each progress notification written through it.
type deliveryWriter struct {
	http.ResponseWriter
	delivery *progress.Delivery
}

func (w *deliveryWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	if err == nil && bytes.Contains(p, progressOnTheWire) {
		w.delivery.Written()
	}
	return n, err
}

// Flush keeps the response streamable.
func (w *deliveryWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap lets http.ResponseController reach the connection (write deadlines).
func (w *deliveryWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
