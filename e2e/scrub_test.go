package e2e

import (
	"io"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/scrub/scrubtest"
)

// scrubToken is the binary's HF token in TestE2ETokenReachesNoClientInAnyEncoding.
const scrubToken = "hf_E2Ee2eE2Ee2eSCRUBscrub0123456789"

// TestE2ETokenReachesNoClientInAnyEncoding runs the binary against an
// upstream that echoes its token in every encoding (errors, an endpoint
// document, inference answers), over stdio and streamable HTTP with the SDK
// client, and looks for the token, in every encoding, in all the client
// received and in the server's log.
func TestE2ETokenReachesNoClientInAnyEncoding(t *testing.T) {
	up := scrubtest.NewEchoingUpstream(t)
	env := []string{"HF_TOKEN=" + scrubToken, "HF_ENDPOINTS_API_URL=" + up.URL + "/v2", "HF_ENDPOINT=" + up.URL,
		"HF_ENDPOINTS_CATALOG_URL=" + up.URL + "/api/catalog", "HF_NAMESPACE=acme"}
	encodings := scrubtest.Encodings(scrubToken)
	for _, transport := range []string{"stdio", "http"} {
		t.Run(transport, func(t *testing.T) {
			wire := &scrubtest.Wire{}
			var stderr *lockedBuffer
			var tr sdk.Transport
			switch transport {
			case "stdio":
				stderr = &lockedBuffer{}
				cmd := serverCommand(t, stderr, []string{"serve", "--log-level", "debug", "--audit-log", "off"}, env...)
				stdout, err := cmd.StdoutPipe()
				require.NoError(t, err)
				stdin, err := cmd.StdinPipe()
				require.NoError(t, err)
				require.NoError(t, cmd.Start())
				t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
				tr = &sdk.IOTransport{Reader: io.NopCloser(io.TeeReader(stdout, wire)), Writer: stdin}
			case "http":
				var base string
				_, base, stderr = startBinary(t, append(env, authOff), "serve", "--transport", "http",
					"--addr", "127.0.0.1:0", "--log-level", "debug", "--audit-log", "off")
				tr = &sdk.StreamableClientTransport{Endpoint: base + "/mcp", MaxRetries: -1,
					HTTPClient: wire.HTTPClient()}
			}
			cs, err := sdk.NewClient(&sdk.Implementation{Name: "e2e", Version: "1"}, nil).Connect(t.Context(), tr, nil)
			require.NoError(t, err, stderr.String())
			t.Cleanup(func() { _ = cs.Close() })
			for _, name := range scrubtest.Names(scrubToken) {
				up.Use(encodings[name])
				for _, args := range []map[string]any{
					{"tool": "get_endpoint", "endpoint_name": "refused"},
					{"tool": "get_endpoint", "endpoint_name": "ep"},
					{"tool": "text_generation", "endpoint_name": "ep", "prompt": "hi"},
				} {
					tool := args["tool"].(string)
					delete(args, "tool")
					res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: tool, Arguments: args})
					require.NoError(t, err, "%s %s", name, tool)
					assert.Equal(t, args["endpoint_name"] == "refused", res.IsError, "%s %s: %s", name, tool, textOf(res))
				}
			}
			require.NoError(t, cs.Close())
			got := wire.String()
			assert.Contains(t, got, "[REDACTED]", "the echoes reached the client, scrubbed")
			assert.Empty(t, scrubtest.Leaks(got, scrubToken), "the token in some encoding reached the client")
			assert.Empty(t, scrubtest.Leaks(stderr.String(), scrubToken), "or the server's log")
		})
	}
}
