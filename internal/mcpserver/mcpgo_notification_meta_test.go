package mcpserver

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompleteModernNotification(t *testing.T) {
	const modern = "2026-07-28"
	tests := []struct {
		name, version, body string
		wantMeta            string // the protocolVersion the handler sees; "" = body untouched
		method              string // the Mcp-Method header, if any
	}{
		{"cancelled without _meta", modern, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}`, modern, ""},
		{"no params", modern, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, modern, ""},
		{"other _meta kept", modern, `{"jsonrpc":"2.0","method":"notifications/progress","params":{"_meta":{"x":1},"progress":1}}`, modern, ""},
		{"already set", modern, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`, "", ""},
		{"a request is the client's business", modern, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, "", ""},
		{"legacy era", "2025-11-25", `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}`, "", ""},
		{"not JSON", modern, `{"jsonrpc":`, "", ""},
		{"batch", modern, `[{"jsonrpc":"2.0","method":"notifications/cancelled"}]`, "", ""},
		{"notification named in Mcp-Method", modern, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}`, modern, "notifications/cancelled"},
		{"request named in Mcp-Method", modern, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x"}}`, "", "tools/call"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			var length int64
			var body io.ReadCloser
			h := completeModernNotification(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var err error
				body = r.Body
				got, err = io.ReadAll(r.Body)
				require.NoError(t, err)
				length = r.ContentLength
			}))
			req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(tt.body))
			req.Header.Set(mcp.HeaderProtocolVersion, tt.version)
			if tt.method != "" {
				req.Header.Set(mcp.HeaderMethod, tt.method)
			}
			original := req.Body
			h.ServeHTTP(httptest.NewRecorder(), req)
			if tt.method != "" && tt.wantMeta == "" {
				assert.True(t, original == body, "a request named in Mcp-Method is passed on unread")
			}
			if tt.wantMeta == "" {
				assert.Equal(t, tt.body, string(got))
				return
			}
			assert.EqualValues(t, len(got), length, "Content-Length matches the new body")
			var msg struct {
				Method string         `json:"method"`
				Params map[string]any `json:"params"`
			}
			require.NoError(t, json.Unmarshal(got, &msg))
			meta, _ := msg.Params["_meta"].(map[string]any)
			assert.Equal(t, tt.wantMeta, meta[mcp.MetaKeyProtocolVersion])
			var orig struct {
				Method string         `json:"method"`
				Params map[string]any `json:"params"`
			}
			require.NoError(t, json.Unmarshal([]byte(tt.body), &orig))
			assert.Equal(t, orig.Method, msg.Method)
			for k, v := range orig.Params {
				if k != "_meta" {
					assert.Equal(t, v, msg.Params[k], k)
				}
			}
			if om, ok := orig.Params["_meta"].(map[string]any); ok {
				for k, v := range om {
					assert.Equal(t, v, meta[k], "_meta.%s kept", k)
				}
			}
		})
	}
}

func TestCompleteModernNotificationPassesLargeBodies(t *testing.T) {
	body := `{"jsonrpc":"2.0","method":"notifications/x","params":{"pad":"` + strings.Repeat("a", maxNotificationBytes) + `"}}`
	var got []byte
	h := completeModernNotification(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got, _ = io.ReadAll(r.Body) }))
	req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
	req.Header.Set(mcp.HeaderProtocolVersion, "2026-07-28")
	h.ServeHTTP(httptest.NewRecorder(), req)
	assert.Equal(t, body, string(got))
}
