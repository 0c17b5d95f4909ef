package mcpserver

import (
	"context"
	"net/http"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/resources"
)

// listRoute is the emulator route the resource pollers call, once per namespace and cycle.
const listRoute = "/v2/endpoint/{namespace}"

// listWatcher is a pass-through caller's session that records resource notifications.
type listWatcher struct {
	*sdk.ClientSession
	listChanged chan struct{}
	updated     chan string
}

func watchLists(t *testing.T, base, token, transport, version string) *listWatcher {
	t.Helper()
	w := &listWatcher{listChanged: make(chan struct{}, 16), updated: make(chan string, 64)}
	client := sdk.NewClient(&sdk.Implementation{Name: "isolation-test", Version: "1"}, &sdk.ClientOptions{
		ResourceListChangedHandler: func(context.Context, *sdk.ResourceListChangedRequest) { w.listChanged <- struct{}{} },
		ResourceUpdatedHandler: func(_ context.Context, req *sdk.ResourceUpdatedNotificationRequest) {
			w.updated <- req.Params.URI
		},
	})
	var tr sdk.Transport = &sdk.StreamableClientTransport{Endpoint: base + PathStreamable, MaxRetries: -1, HTTPClient: bearerClient(token)}
	if transport == "sse" {
		tr = &sdk.SSEClientTransport{Endpoint: base + PathSSE, HTTPClient: bearerClient(token)}
	}
	cs, err := client.Connect(t.Context(), tr, &sdk.ClientSessionOptions{ProtocolVersion: version})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	w.ClientSession = cs
	return w
}

// waitLists waits until the pollers listed endpoints n more times: every change made before
// the call has then been seen and notified.
func waitLists(t *testing.T, emu *emulator.Server, n int64) {
	t.Helper()
	start := emu.Requests(http.MethodGet, listRoute)
	require.Eventually(t, func() bool { return emu.Requests(http.MethodGet, listRoute) >= start+n }, 10*time.Second, time.Millisecond,
		"the server did not poll %d times", n)
}

func expectListChanged(t *testing.T, w *listWatcher, why string) {
	t.Helper()
	select {
	case <-w.listChanged:
	case <-time.After(10 * time.Second):
		t.Fatalf("no notifications/resources/list_changed: %s", why)
	}
}

// With HF token pass-through each caller's sessions hear that their resource list changed
// when their own endpoints come and go, never when another caller's do: over streamable HTTP
// and legacy SSE, in both protocol eras.
func TestPassThroughListChangesAreIsolated(t *testing.T) {
	for _, transport := range []string{"http", "sse"} {
		for _, era := range eras {
			t.Run(transport+"/"+era.name, func(t *testing.T) {
				emu := twoUsers(t)
				opts := passThroughOptions(t, emu)
				opts.ResourcePoll = 5 * time.Millisecond
				base := serve(t, newServer(t, opts))
				alice := watchLists(t, base, aliceToken, transport, era.version)
				bob := watchLists(t, base, bobToken, transport, era.version)
				require.Equal(t, era.want, alice.InitializeResult().ProtocolVersion)
				require.NoError(t, alice.Subscribe(t.Context(), &sdk.SubscribeParams{URI: resources.URI("alice", "alice-llm")}))
				require.NoError(t, bob.Subscribe(t.Context(), &sdk.SubscribeParams{URI: resources.URI("bob", "bob-llm")}))
				waitLists(t, emu, 6) // both callers' pollers run, with baselines

				createEndpoint(t, emuClient(t, emu, aliceToken), "alice-new")
				expectListChanged(t, alice, "alice's endpoint appeared")
				waitLists(t, emu, 6)
				assert.Zero(t, len(bob.listChanged), "bob hears nothing of alice's endpoints")
				assert.Zero(t, len(alice.listChanged), "alice hears of the change once")

				createEndpoint(t, emuClient(t, emu, bobToken), "bob-new")
				expectListChanged(t, bob, "bob's endpoint appeared")
				waitLists(t, emu, 6)
				assert.Zero(t, len(alice.listChanged), "alice hears nothing of bob's endpoints")
				assert.Zero(t, len(bob.listChanged), "bob hears of the change once")
			})
		}
	}
}
