package e2e

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
)

// rpcCode is the JSON-RPC error code of err, which must be a protocol error.
func rpcCode(t *testing.T, err error) int64 {
	t.Helper()
	var wire *jsonrpc.Error
	require.True(t, errors.As(err, &wire), "want a JSON-RPC error, got %v", err)
	return wire.Code
}

// TestE2EProtocolErrorsCarryTheirCodes: an unknown resource is -32002 (-32602 from
// 2026-07-28 on, as that revision specifies) and bad prompt or completion parameters are
// -32602, over every transport in both eras; never -32603, which says the server failed.
func TestE2EProtocolErrorsCarryTheirCodes(t *testing.T) {
	forEachTransportAndEra(t, fastTimings, func(t *testing.T, emu *emulator.Server, s *session, era string) {
		wantNotFound := int64(-32002)
		if era == "discover" {
			wantNotFound = jsonrpc.CodeInvalidParams
		}
		_, err := s.ReadResource(t.Context(), &sdk.ReadResourceParams{URI: "hf-endpoints://emulator-user/no-such-endpoint"})
		require.Error(t, err)
		assert.Equal(t, wantNotFound, rpcCode(t, err), "unknown endpoint: %v", err)
		assert.Contains(t, err.Error(), "list_endpoints", "the message says where to look")

		_, err = s.ReadResource(t.Context(), &sdk.ReadResourceParams{URI: "hf-endpoints://not a uri"})
		require.Error(t, err)
		assert.Equal(t, wantNotFound, rpcCode(t, err), "malformed URI: %v", err)

		_, err = s.GetPrompt(t.Context(), &sdk.GetPromptParams{Name: "deploy_model",
			Arguments: map[string]string{"repository": "openai-community/gpt2", "colour": "blue"}})
		require.Error(t, err)
		assert.Equal(t, int64(jsonrpc.CodeInvalidParams), rpcCode(t, err), "unknown prompt argument: %v", err)
		assert.Contains(t, err.Error(), `no argument "colour"`)

		_, err = s.GetPrompt(t.Context(), &sdk.GetPromptParams{Name: "deploy_model", Arguments: map[string]string{}})
		require.Error(t, err)
		assert.Equal(t, int64(jsonrpc.CodeInvalidParams), rpcCode(t, err), "missing prompt argument: %v", err)

		_, err = s.Complete(t.Context(), &sdk.CompleteParams{Ref: &sdk.CompleteReference{Type: "ref/prompt", Name: "no_such_prompt"},
			Argument: sdk.CompleteParamsArgument{Name: "namespace", Value: "e"}})
		require.Error(t, err)
		assert.Equal(t, int64(jsonrpc.CodeInvalidParams), rpcCode(t, err), "completion of an unknown prompt: %v", err)
	})
}

// TestE2EARequestWithoutASessionIsToldToInitialize: a 2025-11-25 client that skips
// initialize hears that it comes first (400 and a JSON-RPC error with its request id), not
// that a session is invalid; the stateless 2026-07-28 form needs no session.
func TestE2EARequestWithoutASessionIsToldToInitialize(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	srv := startServe(t, emu, emu.Token(), "--auth-token", e2eAuthToken)
	auth := "Bearer " + e2eAuthToken
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":7,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":"call-1","method":"tools/call","params":{"name":"whoami","arguments":{}}}`,
	} {
		status, hdr, resp := send(t, http.MethodPost, srv.base+"/mcp", body, map[string]string{"MCP-Protocol-Version": "2025-11-25", "Authorization": auth})
		assert.Equal(t, http.StatusBadRequest, status, resp)
		assert.Equal(t, "application/json", hdr.Get("Content-Type"))
		assert.Contains(t, resp, `"code":-32600`)
		assert.Contains(t, resp, "send initialize first")
		assert.Contains(t, resp, "Mcp-Session-Id")
		assert.NotContains(t, resp, "Invalid session ID")
		id := strings.SplitN(strings.SplitN(body, `"id":`, 2)[1], `,`, 2)[0]
		assert.Contains(t, resp, `"id":`+id, "the request's id comes back")
	}

	// The curl example in README.md: one stateless request, no session.
	status, _, resp := send(t, http.MethodPost, srv.base+"/mcp",
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{},`+
			`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`,
		map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "whoami", "Authorization": auth})
	assert.Equal(t, http.StatusOK, status, resp)
	assert.Contains(t, resp, `"structuredContent":{"name":"emulator-user"`)
}

// TestE2EHardwareThatIsNotOfferedIsAClearRefusal: create and update on an instance the catalog
// does not offer fail with the nearest offers and list_hardware, not with a cost confirmation,
// and nothing reaches the API.
func TestE2EHardwareThatIsNotOfferedIsAClearRefusal(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	s := connect(t, emu, "stdio", "2025-11-25", "--confirm-with", "token")
	spec := cpuSpec("typo", "openai-community/gpt2", "text-generation")
	spec["accelerator"], spec["instance_type"], spec["instance_size"] = "gpu", "nvidia-a100x", "x1"
	text := failing(t, s, emu, "create_endpoint", spec)
	assert.Contains(t, text, "no gpu instance nvidia-a100x x1 is offered in aws us-east-1")
	assert.Contains(t, text, "list_hardware")
	assert.Contains(t, text, "the nearest are gpu nvidia-a100 x1")
	assert.NotContains(t, text, "confirmation_token")
	assert.Zero(t, emu.Requests(http.MethodPost, "/v2/endpoint/{namespace}"))

	ok(t, s, emu, "create_endpoint", cpuSpec("fine", "openai-community/gpt2", "text-generation"))
	text = failing(t, s, emu, "update_endpoint", map[string]any{"endpoint_name": "fine", "instance_size": "x128"})
	assert.Contains(t, text, "instance intel-spr x128 is offered in aws us-east-1; list_hardware lists the offers; the nearest are cpu intel-spr")
	assert.NotContains(t, text, "confirmation_token")
	assert.Zero(t, emu.Requests(http.MethodPut, "/v2/endpoint/{namespace}/{name}"))
}
