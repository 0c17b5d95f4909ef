package httpsec

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mcpMux serves a real mcp-go server the way the product does: streamable HTTP at /mcp, legacy SSE at
// /sse + /message, /healthz. Its one tool reports whether the per-request HF token reached it.
func mcpMux() http.Handler {
	s := server.NewMCPServer("test", "0.0.1")
	tool := mcp.NewTool("has_hf_token", mcp.WithDescription("reports whether an HF token was passed through"),
		mcp.WithReadOnlyHintAnnotation(true), mcp.WithDestructiveHintAnnotation(false),
		mcp.WithIdempotentHintAnnotation(true), mcp.WithOpenWorldHintAnnotation(false))
	s.AddTool(tool, func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		tok, ok := HFTokenFrom(ctx)
		return mcp.NewToolResultText(map[bool]string{true: "token:" + tok[:3], false: "no token"}[ok]), nil
	})
	sse := server.NewSSEServer(s)
	mux := http.NewServeMux()
	mux.Handle("/mcp", server.NewStreamableHTTPServer(s))
	mux.Handle("/sse", sse.SSEHandler())
	mux.Handle("/message", sse.MessageHandler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	return mux
}

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",` +
	`"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

func mcpPost(t *testing.T, url, body string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	h := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
	for k, v := range hdr {
		h[k] = v
	}
	return do(t, http.MethodPost, url, strings.NewReader(body), h)
}

func TestMCPGoBehindChain(t *testing.T) {
	const hfTok = "hf_passthrough_token_value"
	validate := func(ctx context.Context, tok string) (Grant, error) {
		if tok != hfTok {
			return Grant{}, ErrInvalidToken
		}
		return Grant{}, nil
	}
	base := startSecured(t, mcpMux(), Config{
		Auth:   AuthOptions{Validate: validate, PassThrough: true, PublicPaths: []string{"/healthz"}},
		Logger: slog.New(slog.DiscardHandler),
	})
	auth := map[string]string{"Authorization": "Bearer " + hfTok}

	code, _, _ := mcpPost(t, base+"/mcp", initializeBody, map[string]string{"Authorization": "Bearer hf_wrong"})
	require.Equal(t, http.StatusUnauthorized, code, "a bad token fails at connect time")

	code, hdr, body := mcpPost(t, base+"/mcp", initializeBody, auth)
	require.Equal(t, http.StatusOK, code, body)
	session := hdr.Get("Mcp-Session-Id")
	require.NotEmpty(t, session)
	auth["Mcp-Session-Id"] = session
	code, _, _ = mcpPost(t, base+"/mcp", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, auth)
	require.Equal(t, http.StatusAccepted, code)

	code, _, body = mcpPost(t, base+"/mcp",
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"has_hf_token","arguments":{}}}`, auth)
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, "token:hf_", "the tool handler sees the passed-through token")

	big := `{"jsonrpc":"2.0","id":3,"method":"ping","params":{"pad":"` + strings.Repeat("x", 2<<20) + `"}}`
	code, _, body = mcpPost(t, base+"/mcp", big, auth)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code, body)

	code, _, _ = do(t, http.MethodGet, base+"/healthz", nil, nil)
	assert.Equal(t, http.StatusOK, code)
}

func TestMCPGoSSEBehindChain(t *testing.T) {
	base := startSecured(t, mcpMux(), Config{Auth: AuthOptions{Token: secret}, Logger: slog.New(slog.DiscardHandler)})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/sse", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// The endpoint event only arrives if Flush works through every wrapper.
	sc := bufio.NewScanner(resp.Body)
	var endpoint string
	for endpoint == "" && sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			endpoint = d
		}
	}
	require.Contains(t, endpoint, "/message?sessionId=")
	if !strings.HasPrefix(endpoint, "http") {
		endpoint = base + endpoint
	}

	hdr := map[string]string{"Authorization": "Bearer " + secret}
	code, _, _ := mcpPost(t, endpoint, initializeBody, hdr)
	require.Equal(t, http.StatusAccepted, code)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data: ") {
			assert.Contains(t, sc.Text(), `"protocolVersion"`, "initialize result streamed back")
			break
		}
	}

	code, _, _ = mcpPost(t, endpoint, initializeBody, nil)
	assert.Equal(t, http.StatusUnauthorized, code, "/message needs the bearer too")
	big := bytes.Repeat([]byte("x"), 2<<20)
	code, _, _ = mcpPost(t, endpoint, string(big), hdr)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
}
