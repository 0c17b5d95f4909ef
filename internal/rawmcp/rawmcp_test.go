package rawmcp_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/rawmcp"
)

// TestClientSpeaksBothEras: what the client sends in each era, against a
// server that records it.
func TestClientSpeaksBothEras(t *testing.T) {
	var seen []*http.Request
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		_, _ = b.ReadFrom(r.Body)
		seen, bodies = append(seen, r), append(bodies, b.String())
		if strings.Contains(b.String(), `"initialize"`) {
			w.Header().Set("Mcp-Session-Id", "s1")
		}
		if strings.Contains(b.String(), `"tools/call"`) && strings.Contains(b.String(), `"boom"`) {
			http.Error(w, `{"error":"no"}`, http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(`{"jsonrpc":"2.0","id":1,"result":{}}`))
	}))
	defer srv.Close()
	ctx := context.Background()

	legacy, err := rawmcp.Open(ctx, srv.Client(), srv.URL, rawmcp.Legacy)
	require.NoError(t, err)
	assert.Equal(t, "s1", legacy.Session())
	require.Len(t, bodies, 2)
	assert.Contains(t, bodies[0], `"method":"initialize"`)
	assert.Contains(t, bodies[1], `"notifications/initialized"`)
	_, err = legacy.CallTool(ctx, "get_endpoint", `{"endpoint_name":"x"}`)
	require.NoError(t, err)
	call := seen[2]
	assert.Equal(t, "s1", call.Header.Get("Mcp-Session-Id"))
	assert.Equal(t, "tools/call", call.Header.Get("Mcp-Method"))
	assert.Equal(t, "get_endpoint", call.Header.Get("Mcp-Name"))
	assert.Equal(t, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_endpoint","arguments":{"endpoint_name":"x"}}}`, bodies[2])

	modern, err := rawmcp.Open(ctx, srv.Client(), srv.URL, rawmcp.Modern)
	require.NoError(t, err)
	assert.Empty(t, modern.Session())
	require.Len(t, bodies, 3, "a modern client opens no session")
	_, err = modern.CallTool(ctx, "get_endpoint", `{}`)
	require.NoError(t, err)
	assert.Contains(t, bodies[3], `"params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"`)
	assert.Equal(t, rawmcp.Modern, seen[3].Header.Get("Mcp-Protocol-Version"))
	assert.Empty(t, seen[3].Header.Get("Mcp-Session-Id"))

	_, err = modern.CallTool(ctx, "boom", `{}`)
	require.ErrorContains(t, err, "HTTP 400")
}
