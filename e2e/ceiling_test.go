package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestE2EConcurrentUpdatesKeepTheCeiling is the attack on the built binary: on a
// cheap endpoint, update_endpoint {"max_replica": 8} and update_endpoint to an
// nvidia-h100 x1 sent at the same moment, each within the 10 USD/h ceiling alone,
// 80 USD/h together. Over stdio (two calls of one session) and streamable HTTP
// (one call from each of two sessions), every round lets one through and asks a
// confirmation for the other, priced at 80 USD/h, and the endpoint never ends on
// h100 ×8.
func TestE2EConcurrentUpdatesKeepTheCeiling(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	stdio := connect(t, emu, "stdio", "")
	_, base := startHTTPBinary(t, emu)
	httpSession := func(name string) *sdk.ClientSession {
		client := sdk.NewClient(&sdk.Implementation{Name: name, Version: "1"}, nil)
		cs, err := client.Connect(t.Context(), &sdk.StreamableClientTransport{Endpoint: base + "/mcp", MaxRetries: -1}, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = cs.Close() })
		return cs
	}
	for _, tc := range []struct {
		name    string
		callers [2]*sdk.ClientSession
	}{
		{"stdio one session", [2]*sdk.ClientSession{stdio.ClientSession, stdio.ClientSession}},
		{"http two sessions", [2]*sdk.ClientSession{httpSession("first"), httpSession("second")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for round := range 12 {
				name := fmt.Sprintf("race-%s-%d", tc.name[:4], round)
				ok(t, stdio, emu, "create_endpoint", cpuSpec(name, "openai-community/gpt2", "text-generation"))
				updates := []map[string]any{
					{"endpoint_name": name, "max_replica": 8},
					{"endpoint_name": name, "accelerator": "gpu", "instance_type": "nvidia-h100", "instance_size": "x1"},
				}
				outs := concurrentCalls(t, tc.callers, "update_endpoint", updates)
				passed, asked := 0, 0
				for i, out := range outs {
					switch out["status"] {
					case nil:
						passed++
						assert.Equal(t, name, endpointOf(out)["name"], "call %d", i)
					case "confirmation_required":
						asked++
						assert.InDelta(t, 80.0, out["preview"].(map[string]any)["hourly_cost_usd"], 1e-9, "priced as it would leave the endpoint")
					default:
						t.Errorf("round %d call %d: %v", round, i, out)
					}
				}
				view := endpointOf(ok(t, stdio, emu, "get_endpoint", map[string]any{"endpoint_name": name}))
				require.False(t, view["instance_type"] == "nvidia-h100" && view["max_replica"] == 8.0,
					"round %d: both updates went through, leaving an 80 USD/h endpoint unconfirmed: %v", round, view)
				require.Equal(t, [2]int{1, 1}, [2]int{passed, asked}, "round %d: one passes, one asks", round)
			}
		})
	}
}

// concurrentCalls sends one call per caller at the same moment and returns their structured results.
func concurrentCalls(t *testing.T, callers [2]*sdk.ClientSession, tool string, args []map[string]any) []map[string]any {
	t.Helper()
	outs := make([]map[string]any, len(args))
	errs := make([]error, len(args))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range args {
		wg.Go(func() {
			<-start
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			res, err := callers[i].CallTool(ctx, &sdk.CallToolParams{Name: tool, Arguments: args[i]})
			if err != nil {
				errs[i] = err
				return
			}
			if res.IsError {
				errs[i] = fmt.Errorf("%s failed: %s", tool, textOf(res))
				return
			}
			b, err := json.Marshal(res.StructuredContent)
			if err == nil {
				err = json.Unmarshal(b, &outs[i])
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "call %d", i)
	}
	return outs
}
