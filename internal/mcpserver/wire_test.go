package mcpserver

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/scrub/scrubtest"
)

// wireToken is the server's HF token in these tests.
const wireToken = "hf_WIREwireWIREwire0123456789xyz"

// TestTokenReachesNoClientInAnyEncoding drives the tools, over each
// transport, against an upstream that echoes the token in every encoding, and
// looks for the token, in every encoding, in all the client received.
func TestTokenReachesNoClientInAnyEncoding(t *testing.T) {
	up := scrubtest.NewEchoingUpstream(t)
	client, err := hfapi.New(hfapi.Config{Token: wireToken, APIBase: up.URL + "/v2", HubBase: up.URL,
		CatalogBase: up.URL + "/api/catalog", Namespace: "acme", MaxHourlyCost: hfapi.NoCostCeiling})
	require.NoError(t, err)
	encodings := scrubtest.Encodings(wireToken)
	names := scrubtest.Names(wireToken)

	for _, transport := range []string{"stdio", "streamable", "sse"} {
		t.Run(transport, func(t *testing.T) {
			s := newServer(t, Options{Client: client})
			rec := &scrubtest.Wire{}
			var cs *sdk.ClientSession
			switch transport {
			case "stdio":
				clientToServer, serverIn := io.Pipe()
				serverOut, serverToClient := io.Pipe()
				go func() {
					_ = s.ServeStdio(context.Background(), clientToServer, serverToClient)
					_ = serverToClient.Close()
				}()
				t.Cleanup(func() { _ = serverIn.Close() })
				cs = connect(t, &sdk.IOTransport{Reader: io.NopCloser(io.TeeReader(serverOut, rec)), Writer: serverIn}, "2025-11-25")
			case "streamable":
				ts := httptest.NewServer(s.Handler())
				t.Cleanup(func() { s.HTTPHandler().CloseSessions(context.Background()); ts.Close() })
				cs = connect(t, &sdk.StreamableClientTransport{Endpoint: ts.URL + PathStreamable, MaxRetries: -1,
					HTTPClient: rec.HTTPClient()}, "")
			case "sse":
				ts := httptest.NewServer(s.Handler())
				t.Cleanup(func() { s.HTTPHandler().CloseSessions(context.Background()); ts.Close() })
				cs = connect(t, &sdk.SSEClientTransport{Endpoint: ts.URL + PathSSE,
					HTTPClient: rec.HTTPClient()}, "2025-11-25")
			}
			for _, name := range names {
				up.Use(encodings[name])
				_, msg := structured(t, cs, "get_endpoint", map[string]any{"endpoint_name": "refused"})
				assert.Contains(t, msg, "is not valid for", "%s: the upstream's error reaches the client", name)
				doc, _ := structured(t, cs, "get_endpoint", map[string]any{"endpoint_name": "ep"})
				assert.NotNil(t, doc, "%s: the endpoint is read", name)
				out, msg := structured(t, cs, "text_generation", map[string]any{"endpoint_name": "ep", "prompt": "hi"})
				require.NotNil(t, out, "%s: %s", name, msg)
				assert.Contains(t, out["generated_text"], "you sent ", name)
			}
			if transport == "streamable" {
				assert.Positive(t, s.modernPosts.served.Load(), "2026-07-28 calls take the fast path (mcpgo_modern_post.go)")
			}
			got := rec.String()
			assert.Contains(t, got, "[REDACTED]")
			assert.Empty(t, scrubtest.Leaks(got, wireToken), "the token in some encoding reached the client")
			var decoded strings.Builder
			for line := range strings.SplitSeq(got, "\n") {
				line = strings.TrimPrefix(strings.TrimSpace(line), "data: ")
				var v any
				if json.Unmarshal([]byte(line), &v) == nil {
					collectStrings(v, &decoded)
				}
			}
			require.NotZero(t, decoded.Len(), "the wire carried JSON-RPC messages")
			assert.Empty(t, scrubtest.Leaks(decoded.String(), wireToken), "nor after decoding the messages")
		})
	}
}

// collectStrings writes every string in v, decoded, one per line, text content
// that is itself JSON decoded again.
func collectStrings(v any, out *strings.Builder) {
	switch t := v.(type) {
	case string:
		out.WriteString(t + "\n")
		var inner any
		if json.Unmarshal([]byte(t), &inner) == nil {
			collectStrings(inner, out)
		}
	case map[string]any:
		for k, child := range t {
			out.WriteString(k + "\n")
			collectStrings(child, out)
		}
	case []any:
		for _, child := range t {
			collectStrings(child, out)
		}
	}
}
