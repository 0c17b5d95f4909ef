package mcpserver

// Workaround for mcp-go v1.2.1: in the initialize era it serves a tools/call (or any request) sent
// before initialize, which the protocol's lifecycle forbids. It can go when mcp-go refuses such
// requests itself (server/request_handler.go): TestRequestsBeforeInitializeAreRefused then passes
// without refuseBeforeInitialize.

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// errNotInitialized answers a request sent before initialize.
var errNotInitialized = errors.New("the session is not initialized: send initialize first (then " +
	"notifications/initialized); until then only initialize and ping are served")

// refuseBeforeInitialize is a request hook: in the initialize era (up to
// 2025-11-25) a session serves nothing but initialize and ping until it is
// initialized, as the protocol's lifecycle requires; mcp-go v1.2.1 would serve
// a tools/call sent first. Modern (2026-07-28) requests carry their protocol
// version in _meta and have no initialize: they pass. mcp-go answers the
// error as a JSON-RPC -32600 (invalid request) carrying the request's id.
// Stdio's session is one per stream and serves initialize as it reads it
// (stdio.go), so a request read after initialize finds it initialized.
func refuseBeforeInitialize(ctx context.Context, _ any, message any) error {
	session := server.ClientSessionFromContext(ctx)
	if session == nil || session.Initialized() {
		return nil
	}
	if raw, ok := message.(json.RawMessage); ok && lifecycleStep(raw) == stepRefused {
		return errNotInitialized
	}
	return nil
}

// What a message is to a session that is not initialized yet.
const (
	stepOther      = iota // a notification, a response, or unreadable (mcp-go answers that)
	stepInitialize        // initialize itself
	stepAllowed           // ping, or a modern request (no initialize in that era)
	stepRefused           // any other request
)

func lifecycleStep(raw []byte) int {
	var head struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			Meta *mcp.Meta `json:"_meta"`
		} `json:"params"`
	}
	if json.Unmarshal(raw, &head) != nil || len(head.ID) == 0 || string(head.ID) == "null" || head.Method == "" {
		return stepOther
	}
	switch mcp.MCPMethod(head.Method) {
	case mcp.MethodInitialize:
		return stepInitialize
	case mcp.MethodPing:
		return stepAllowed
	}
	if mcp.IsModernProtocol(head.Params.Meta.ProtocolVersion()) {
		return stepAllowed
	}
	return stepRefused
}
