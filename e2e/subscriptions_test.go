package e2e

// Subscriptions cannot amplify: subscriptions to namespaces the caller cannot see are refused
// with a JSON-RPC error (resources/subscribe up to 2025-11-25, subscriptions/listen in
// 2026-07-28), and make the server list nothing.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/resources"
)

func TestE2EBogusSubscriptionsAreRefusedAndNeverPolled(t *testing.T) {
	const bogus = 300
	for _, transport := range []string{"stdio", "http", "sse"} {
		for _, era := range eras[1:] { // resources/subscribe; 2026-07-28 below
			t.Run(transport+"/"+era.name, func(t *testing.T) {
				emu := startEmulator(t, fastTimings)
				stderr := &lockedBuffer{}
				var tr sdk.Transport
				switch transport {
				case "stdio":
					tr = &sdk.CommandTransport{Command: serverCommand(t, stderr, []string{"serve"}, backendEnv(t, emu)...), TerminateDuration: 5 * time.Second}
				case "http":
					// Without the rate limit, which would otherwise refuse part of the burst before it is looked at.
					tr = &sdk.StreamableClientTransport{Endpoint: serveHTTP(t, emu, transport, stderr, "--rate-limit", "off") + "/mcp", MaxRetries: -1}
				case "sse":
					tr = &sdk.SSEClientTransport{Endpoint: serveHTTP(t, emu, transport, stderr, "--rate-limit", "off") + "/sse"}
				}
				s := connectResourcesOver(t, tr, era.version, stderr)
				for i := range bogus {
					uri := resources.URI(fmt.Sprintf("made-up-%03d", i), "ep")
					err := s.Subscribe(t.Context(), &sdk.SubscribeParams{URI: uri})
					require.Error(t, err, "%s is refused; stderr:\n%s", uri, stderr)
					require.Contains(t, err.Error(), fmt.Sprintf(`namespace "made-up-%03d" is not one this token can see; subscribe to endpoints of "emulator-user"`, i))
				}
				lists := emu.Requests("GET", listRoute)
				t.Logf("%s/%s: %d subscriptions to made-up namespaces refused; list calls at the emulator: %d", transport, era.name, bogus, lists)
				assert.Zero(t, lists, "no made-up namespace is polled")

				// The session still subscribes to its own namespace, which is polled.
				require.NoError(t, s.Subscribe(t.Context(), &sdk.SubscribeParams{URI: resources.URI("emulator-user", "ep")}))
				require.Eventually(t, func() bool { return emu.Requests("GET", listRoute) >= 1 }, 30*time.Second, 5*time.Millisecond)
			})
		}
	}
}

// TestE2EBogusListenSubscriptionsAreRefused: in 2026-07-28, subscriptions/listen streams asking for
// made-up namespaces are refused with a JSON-RPC error (-32602; HTTP 400 over streamable HTTP),
// over stdio and streamable HTTP, and nothing is listed. Raw JSON-RPC: the Go SDK sends
// subscriptions/listen without waiting for its answer.
func TestE2EBogusListenSubscriptionsAreRefused(t *testing.T) {
	const bogus = 300
	listen := func(i int) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"subscriptions/listen","params":{"notifications":`+
			`{"resourceSubscriptions":["hf-endpoints://made-up-%03d/ep"]},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",`+
			`"io.modelcontextprotocol/clientCapabilities":{}}}}`, i, i)
	}
	checkRefusal := func(t *testing.T, i int, raw []byte) {
		t.Helper()
		var resp struct {
			ID    int `json:"id"`
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		require.NoError(t, json.Unmarshal(raw, &resp), "%s", raw)
		assert.Equal(t, i, resp.ID)
		assert.Equal(t, -32602, resp.Error.Code)
		assert.Contains(t, resp.Error.Message, fmt.Sprintf(`namespace "made-up-%03d" is not one this token can see`, i))
	}

	t.Run("stdio", func(t *testing.T) {
		emu := startEmulator(t, fastTimings)
		stderr := &lockedBuffer{}
		cmd := serverCommand(t, stderr, []string{"serve"}, backendEnv(t, emu)...)
		in, err := cmd.StdinPipe()
		require.NoError(t, err)
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		go func() {
			for i := range bogus {
				_, _ = io.WriteString(in, listen(i)+"\n")
			}
		}()
		sc := bufio.NewScanner(out)
		for i := range bogus {
			require.True(t, sc.Scan(), "answer %d; stderr:\n%s", i, stderr)
			checkRefusal(t, i, sc.Bytes())
		}
		_ = in.Close()
		t.Logf("stdio/discover: %d listen streams refused; list calls at the emulator: %d", bogus, emu.Requests("GET", listRoute))
		assert.Zero(t, emu.Requests("GET", listRoute))
	})
	t.Run("http", func(t *testing.T) {
		emu := startEmulator(t, fastTimings)
		base := serveHTTP(t, emu, "http", &lockedBuffer{}, "--rate-limit", "off")
		for i := range bogus {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/mcp", strings.NewReader(listen(i)))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("MCP-Protocol-Version", "2026-07-28")
			req.Header.Set("Mcp-Method", "subscriptions/listen")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			raw, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", raw)
			checkRefusal(t, i, raw)
		}
		t.Logf("http/discover: %d listen streams refused; list calls at the emulator: %d", bogus, emu.Requests("GET", listRoute))
		assert.Zero(t, emu.Requests("GET", listRoute))
	})
}
