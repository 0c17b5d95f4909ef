package resources

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/server"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// asCaller is HTTP middleware naming the caller of each request by its X-Caller header, as
// the server's auth middleware puts the bearer token in the request context.
func asCaller(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, r.Header.Get("X-Caller"))))
	})
}

// callerClient is an http.Client whose requests say they come from who.
func callerClient(who string) *http.Client {
	return &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("X-Caller", who)
		return http.DefaultTransport.RoundTrip(r)
	})}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// With token pass-through, notifications/resources/list_changed reaches only the sessions
// (2025-11-25) or listen streams (2026-07-28) of the caller whose poller saw the change.
func TestListChangesReachOnlyTheirCaller(t *testing.T) {
	for _, era := range []string{legacyEra, modernEra} {
		t.Run(era, func(t *testing.T) {
			emu, err := emulator.Start("127.0.0.1:0", emulator.Options{
				User: user, Seed: 1, Users: []emulator.User{{Name: "bob", Tokens: []string{"hf_bob_token"}}},
				Timings: emulator.Timings{Deploy: 20 * time.Millisecond, Update: 20 * time.Millisecond},
			})
			require.NoError(t, err)
			t.Cleanup(func() { _ = emu.Close() })
			clients := map[string]*hfapi.Client{}
			for who, token := range map[string]string{user: emu.Token(), "bob": "hf_bob_token"} {
				c, err := hfapi.New(hfapi.Config{Token: token, APIBase: emu.APIBase(), HubBase: emu.HubBase(), CatalogBase: emu.CatalogBase()})
				require.NoError(t, err)
				clients[who] = c
			}
			create := func(who, name string) {
				_, err := clients[who].Create(context.Background(), who, hfapi.CreateSpec{Name: name, Repository: "openai-community/gpt2",
					Framework: "pytorch", Task: "text-generation", Accelerator: "cpu", Vendor: "aws", Region: "us-east-1",
					InstanceType: "intel-spr", InstanceSize: "x1"})
				require.NoError(t, err)
			}
			create(user, "mine")
			create("bob", "his")

			s, err := New(Options{FastPoll: 2 * time.Millisecond, SlowPoll: 2 * time.Millisecond,
				APIFor: func(ctx context.Context) (string, API, error) {
					who, _ := ctx.Value(callerKey{}).(string)
					if clients[who] == nil {
						return "", nil, errors.New("no caller")
					}
					return who, clients[who], nil
				}})
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			srv := server.NewMCPServer("resources-test", "0")
			s.Register(srv)
			hs := httptest.NewServer(asCaller(server.NewStreamableHTTPServer(srv)))
			t.Cleanup(hs.Close)

			events := map[string]*clientEvents{}
			for who, uri := range map[string]string{user: URI(user, "mine"), "bob": URI("bob", "his")} {
				ev := &clientEvents{updated: make(chan string, 64), listChanged: make(chan struct{}, 8)}
				cs, err := newClient(ev).Connect(context.Background(), &sdk.StreamableClientTransport{Endpoint: hs.URL, HTTPClient: callerClient(who)},
					&sdk.ClientSessionOptions{ProtocolVersion: era})
				require.NoError(t, err)
				t.Cleanup(func() { _ = cs.Close() })
				require.NoError(t, cs.Subscribe(context.Background(), &sdk.SubscribeParams{URI: uri}))
				events[who] = ev
			}
			pollers := map[string]*Poller{}
			require.Eventually(t, func() bool {
				s.mu.Lock()
				defer s.mu.Unlock()
				for _, who := range []string{user, "bob"} {
					if sc := s.scopes["caller:"+who]; sc != nil && sc.poller.Watched(who) {
						pollers[who] = sc.poller
					}
				}
				return len(pollers) == 2
			}, 10*time.Second, time.Millisecond, "both callers are polled")
			waitCycles(t, pollers[user], 2, user) // baselines exist before the changes
			waitCycles(t, pollers["bob"], 2, "bob")

			create(user, "newcomer")
			expectListChanged(t, events[user], "alice's endpoint appeared")
			waitCycles(t, pollers["bob"], 3, "bob")
			waitCycles(t, pollers[user], 3, user)
			assert.Zero(t, len(events["bob"].listChanged), "bob hears nothing of alice's endpoints")

			create("bob", "his-newcomer")
			expectListChanged(t, events["bob"], "bob's endpoint appeared")
			waitCycles(t, pollers[user], 3, user)
			waitCycles(t, pollers["bob"], 3, "bob")
			assert.Zero(t, len(events[user].listChanged), "alice hears nothing of bob's endpoints")
		})
	}
}

func expectListChanged(t *testing.T, ev *clientEvents, why string) {
	t.Helper()
	select {
	case <-ev.listChanged:
	case <-time.After(10 * time.Second):
		t.Fatalf("no notifications/resources/list_changed: %s", why)
	}
}

func TestAudience(t *testing.T) {
	a := newAudience()
	a.join("s1", "caller:a")
	a.join("s2", "caller:b")
	a.join("s3", "caller:a")
	stop := a.listen("caller:a", newRecorder("listen:1"))
	a.listen("caller:b", newRecorder("listen:2"))

	sessions, streams := a.of("caller:a")
	assert.ElementsMatch(t, []string{"s1", "s3"}, sessions)
	require.Len(t, streams, 1)
	assert.Equal(t, "listen:1", streams[0].ID())
	assert.True(t, a.member("s2"))

	a.leave("s1")
	stop()
	sessions, streams = a.of("caller:a")
	assert.Equal(t, []string{"s3"}, sessions)
	assert.Empty(t, streams)
	assert.False(t, a.member("s1"))
	sessions, streams = a.of("nobody")
	assert.Empty(t, sessions)
	assert.Empty(t, streams)
}
