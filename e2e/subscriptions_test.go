package e2e

// Subscriptions cannot amplify: subscriptions to namespaces the caller cannot see are refused
// with a JSON-RPC error, and make the server list nothing.

import (
	"fmt"
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
		t.Run(transport, func(t *testing.T) {
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
			s := connectResourcesOver(t, tr, "2025-11-25", stderr)
			for i := range bogus {
				uri := resources.URI(fmt.Sprintf("made-up-%03d", i), "ep")
				err := s.Subscribe(t.Context(), &sdk.SubscribeParams{URI: uri})
				require.Error(t, err, "%s is refused", uri)
				require.Contains(t, err.Error(), fmt.Sprintf(`namespace "made-up-%03d" is not one this token can see; subscribe to endpoints of "emulator-user"`, i))
			}
			lists := emu.Requests("GET", listRoute)
			t.Logf("%s: %d subscriptions to made-up namespaces refused; list calls at the emulator: %d", transport, bogus, lists)
			assert.Zero(t, lists, "no made-up namespace is polled")

			// The session still subscribes to its own namespace, which is polled.
			require.NoError(t, s.Subscribe(t.Context(), &sdk.SubscribeParams{URI: resources.URI("emulator-user", "ep")}))
			require.Eventually(t, func() bool { return emu.Requests("GET", listRoute) >= 1 }, 30*time.Second, 5*time.Millisecond)
		})
	}
}
