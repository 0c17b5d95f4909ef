package mcpserver

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/resources"
)

// TestToolChangesReachSubscribersWithoutAPoll: with polling an hour apart, the only way a
// subscriber can hear of a pause is the tool publishing it.
func TestToolChangesReachSubscribersWithoutAPoll(t *testing.T) {
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Timings: emulator.Timings{Deploy: time.Millisecond, IdleMinute: time.Hour}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	c, err := hfapi.New(hfapi.Config{Token: emu.Token(), APIBase: emu.APIBase(), HubBase: emu.HubBase(),
		CatalogBase: emu.CatalogBase(), MaxHourlyCost: hfapi.NoCostCeiling})
	require.NoError(t, err)

	for _, era := range eras {
		t.Run(era.name, func(t *testing.T) {
			name := "pub-" + era.want[:4]
			_, err := c.Create(t.Context(), "", hfapi.CreateSpec{Name: name, Repository: "openai-community/gpt2",
				Framework: "pytorch", Task: "text-generation", Accelerator: "cpu", Vendor: "aws", Region: "us-east-1",
				InstanceType: "intel-spr", InstanceSize: "x2"})
			require.NoError(t, err)
			_, err = c.Wait(t.Context(), "", name, hfapi.WaitOptions{Timeout: 30 * time.Second, Poll: 5 * time.Millisecond})
			require.NoError(t, err)

			s := newServer(t, Options{Client: c, ResourcePoll: time.Hour})
			t.Cleanup(func() { _ = s.Close() })
			ts := httptest.NewServer(s.Handler())
			t.Cleanup(func() { s.HTTPHandler().CloseSessions(context.Background()); ts.Close() })

			updated := make(chan string, 8)
			client := sdk.NewClient(&sdk.Implementation{Name: "publish-test", Version: "1"}, &sdk.ClientOptions{
				ResourceUpdatedHandler: func(_ context.Context, req *sdk.ResourceUpdatedNotificationRequest) {
					updated <- req.Params.URI
				},
			})
			cs, err := client.Connect(t.Context(), &sdk.StreamableClientTransport{Endpoint: ts.URL + PathStreamable, MaxRetries: -1},
				&sdk.ClientSessionOptions{ProtocolVersion: era.version})
			require.NoError(t, err)
			t.Cleanup(func() { _ = cs.Close() })

			uri := resources.URI(emulator.DefaultUser, name)
			require.NoError(t, cs.Subscribe(t.Context(), &sdk.SubscribeParams{URI: uri}))
			poller := s.Resources().Poller()
			require.Eventually(t, func() bool { return poller.Stats().Cycles >= 1 }, 10*time.Second, 5*time.Millisecond,
				"the subscription's first poll takes the baseline")
			cycles := poller.Stats().Cycles

			res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "pause_endpoint", Arguments: map[string]any{"endpoint_name": name}})
			require.NoError(t, err)
			require.False(t, res.IsError, text(res))

			select {
			case got := <-updated:
				assert.Equal(t, uri, got)
			case <-time.After(10 * time.Second):
				t.Fatal("no notifications/resources/updated after pause_endpoint")
			}
			assert.Equal(t, cycles, poller.Stats().Cycles, "delivered by the tool's publish, not by a poll")
			doc, err := cs.ReadResource(t.Context(), &sdk.ReadResourceParams{URI: uri})
			require.NoError(t, err)
			require.Len(t, doc.Contents, 1)
			var status struct{ State string }
			require.NoError(t, json.Unmarshal([]byte(doc.Contents[0].Text), &status))
			assert.Equal(t, "paused", status.State)
		})
	}
}
