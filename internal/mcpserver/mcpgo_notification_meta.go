package mcpserver

// Workaround for mcp-go v1.2.1: it refuses a 2026-07-28 client notification that lacks
// _meta.protocolVersion, which the official Go SDK does not send on notifications (see
// completeModernNotification). It can go when mcp-go accepts such notifications (its
// extractRequestProtocolInfo and header validation apply to requests only): unsubscribing and
// cancelling then work over 2026-07-28 without this rewrite.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// maxNotificationBytes bounds the notifications completeModernNotification rewrites; larger
// bodies pass through untouched (notifications are small: cancellations, progress).
const maxNotificationBytes = 64 << 10

// completeModernNotification adds _meta.protocolVersion, taken from the Mcp-Protocol-Version
// header, to client notifications of protocol version 2026-07-28 that lack it.
//
// The 2026-07-28 _meta triple is defined for requests only, and the official Go SDK sends
// notifications (notably notifications/cancelled, which ends a subscriptions/listen stream)
// without it. mcp-go v1.2.1 nevertheless answers such a POST with 400, which that client
// treats as a broken connection: unsubscribing, or cancelling any call, would end the session.
func completeModernNotification(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		version := r.Header.Get(mcp.HeaderProtocolVersion)
		// A request that names its method in Mcp-Method (required in this
		// version) and is not a notification passes without reading the body.
		method := r.Header.Get(mcp.HeaderMethod)
		if r.Method != http.MethodPost || !mcp.IsModernProtocol(version) || r.Body == nil ||
			(method != "" && !strings.HasPrefix(method, "notifications/")) {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxNotificationBytes+1))
		rest := r.Body
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), rest), rest}
		if err != nil || len(body) > maxNotificationBytes {
			next.ServeHTTP(w, r)
			return
		}
		if fixed, ok := withProtocolVersion(body, version); ok {
			r.Body = io.NopCloser(bytes.NewReader(fixed))
			r.ContentLength = int64(len(fixed))
			_ = rest.Close()
		}
		next.ServeHTTP(w, r)
	})
}

// withProtocolVersion returns body with params._meta.protocolVersion set to version when body
// is a single JSON-RPC notification without one.
func withProtocolVersion(body []byte, version string) ([]byte, bool) {
	var msg map[string]json.RawMessage
	if json.Unmarshal(body, &msg) != nil || msg["method"] == nil || msg["id"] != nil {
		return nil, false
	}
	params := map[string]json.RawMessage{}
	if raw := msg["params"]; raw != nil && json.Unmarshal(raw, &params) != nil {
		return nil, false
	}
	meta := map[string]json.RawMessage{}
	if raw := params["_meta"]; raw != nil && json.Unmarshal(raw, &meta) != nil {
		return nil, false
	}
	if meta[mcp.MetaKeyProtocolVersion] != nil {
		return nil, false
	}
	v, _ := json.Marshal(version)
	meta[mcp.MetaKeyProtocolVersion] = v
	var err error
	if params["_meta"], err = json.Marshal(meta); err != nil {
		return nil, false
	}
	if msg["params"], err = json.Marshal(params); err != nil {
		return nil, false
	}
	out, err := json.Marshal(msg)
	return out, err == nil
}
