package mcpserver

// Workaround for mcp-go v1.2.1: a 2025-11-25 POST to /mcp without an Mcp-Session-Id header
// (a client that skipped initialize) is answered 404 "Invalid session ID", in plain text,
// which reads as if a session had expired. The transport spec asks for 400 Bad Request
// there, and a client deserves to hear that initialize comes first (or that the stateless
// 2026-07-28 form needs no session). It can go when mcp-go answers such a request with 400
// and a JSON-RPC error (server/streamable_http.go, handlePost, the Validate(sessionID) branch).

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// missingSessionMessage tells a client without a session what to send instead.
const missingSessionMessage = "no session: send initialize first (protocol 2025-11-25) and carry the " +
	server.HeaderKeySessionID + " header of its response on every later request; or use the stateless " +
	mcp.ProtocolVersion20260728 + " form, which needs no session: params._meta[\"" + mcp.MetaKeyProtocolVersion +
	"\"] with the " + mcp.HeaderProtocolVersion + ", " + mcp.HeaderMethod + " and " + mcp.HeaderName + " headers"

// explainMissingSession answers a sessionless 2025-11-25 POST other than initialize.
func explainMissingSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get(server.HeaderKeySessionID) != "" ||
			mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion)) {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body) // bounded by the body limit outside
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				Meta *mcp.Meta `json:"_meta"`
			} `json:"params"`
		}
		if json.Unmarshal(body, &msg) != nil || msg.Method == "" || msg.Method == string(mcp.MethodInitialize) ||
			mcp.IsModernProtocol(msg.Params.Meta.ProtocolVersion()) {
			next.ServeHTTP(w, r) // mcp-go reports what else is wrong
			return
		}
		id := msg.ID
		if len(id) == 0 {
			id = json.RawMessage("null")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": mcp.JSONRPC_VERSION, "id": id,
			"error": map[string]any{"code": mcp.INVALID_REQUEST, "message": missingSessionMessage}})
	})
}
