// Package httpsec hardens the MCP server's HTTP listener: loopback-by-default binding, bearer auth (and the
// OAuth 2.0 protected resource metadata that points clients to an authorization server),
// Host/Origin allowlists, body limits, request logging and server timeouts, as composable middleware.
package httpsec

import (
	"encoding/json"
	"net/http"
)

// Middleware wraps an http.Handler with one concern.
type Middleware func(http.Handler) http.Handler

// Chain wraps h so that mws[0] is the outermost middleware: Chain(h, a, b) == a(b(h)).
func Chain(h http.Handler, mws ...Middleware) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// writeError sends a JSON body {"error": msg} with the given status. The message must never contain a
// token, a query string or request data.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{msg})
}
