package resources

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/mark3labs/mcp-go/server"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	legacyEra = "2025-11-25"
	modernEra = "2026-07-28"
)

// clientEvents collects what the server pushes to an SDK client.
type clientEvents struct {
	updated     chan string
	listChanged chan struct{}
}

func newClient(ev *clientEvents) *sdk.Client {
	return sdk.NewClient(&sdk.Implementation{Name: "resources-test", Version: "0"}, &sdk.ClientOptions{
		ResourceUpdatedHandler: func(_ context.Context, req *sdk.ResourceUpdatedNotificationRequest) {
			ev.updated <- req.Params.URI
		},
		ResourceListChangedHandler: func(context.Context, *sdk.ResourceListChangedRequest) {
			select {
			case ev.listChanged <- struct{}{}:
			default:
			}
		},
	})
}

// connectStdio serves srv over a pair of pipes, as a stdio process would, and connects a client.
func connectStdio(t *testing.T, srv *server.MCPServer, ev *clientEvents, version string) *sdk.ClientSession {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	serverIn, clientOut := io.Pipe()
	clientIn, serverOut := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		stdio := server.NewStdioServer(srv)
		// The client closes the pipes first; the write errors that follow are expected.
		stdio.SetErrorLogger(log.New(io.Discard, "", 0))
		_ = stdio.Listen(ctx, serverIn, serverOut)
	}()
	cs, err := newClient(ev).Connect(ctx, &sdk.IOTransport{Reader: clientIn, Writer: clientOut}, &sdk.ClientSessionOptions{ProtocolVersion: version})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = cs.Close()
		cancel()
		_ = serverIn.Close()
		_ = serverOut.Close()
		<-done
	})
	return cs
}

func connectHTTP(t *testing.T, srv *server.MCPServer, ev *clientEvents, version string) *sdk.ClientSession {
	t.Helper()
	hs := httptest.NewServer(server.NewStreamableHTTPServer(srv))
	t.Cleanup(hs.Close)
	cs, err := newClient(ev).Connect(context.Background(), &sdk.StreamableClientTransport{Endpoint: hs.URL}, &sdk.ClientSessionOptions{ProtocolVersion: version})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// Subscriptions work in both protocol eras over stdio and streamable HTTP: subscribe, see a
// change made out of band, read the new state, unsubscribe and hear nothing more.
func TestSubscriptionsOverMCP(t *testing.T) {
	for _, tr := range []string{"stdio", "http"} {
		for _, era := range []string{legacyEra, modernEra} {
			t.Run(tr+"/"+era, func(t *testing.T) {
				f := newFixture(t)
				f.createRunning(t, user, "ep", 1)
				svc, srv := servedService(t, f)
				cs, ev := connectOver(t, srv, tr, era)
				require.Equal(t, era, cs.InitializeResult().ProtocolVersion)
				exerciseSubscription(t, f, svc, cs, ev)
			})
		}
	}
}

func exerciseSubscription(t *testing.T, f *fixture, svc *Service, cs *sdk.ClientSession, ev *clientEvents) {
	ctx := context.Background()
	uri := URI(user, "ep-0")

	list, err := cs.ListResources(ctx, nil)
	require.NoError(t, err)
	require.Len(t, list.Resources, 1)
	assert.Equal(t, uri, list.Resources[0].URI)
	assert.Equal(t, MIMEType, list.Resources[0].MIMEType)
	templates, err := cs.ListResourceTemplates(ctx, nil)
	require.NoError(t, err)
	require.Len(t, templates.ResourceTemplates, 1)
	assert.Equal(t, URITemplate, templates.ResourceTemplates[0].URITemplate)
	assert.Equal(t, hfapi.StateRunning, readState(t, cs, uri))

	require.NoError(t, cs.Subscribe(ctx, &sdk.SubscribeParams{URI: uri}))
	require.Eventually(t, func() bool { return svc.Registry().Subscribed(uri) }, 10*time.Second, time.Millisecond)
	waitCycles(t, svc.Poller(), 2, user) // a baseline exists before the change

	_, err = f.api.Pause(ctx, user, "ep-0")
	require.NoError(t, err)
	assert.Equal(t, uri, receive(t, ev.updated))
	assert.Equal(t, hfapi.StatePaused, readState(t, cs, uri))

	// A new endpoint changes the list.
	f.createRaw(t, user, "newcomer")
	select {
	case <-ev.listChanged:
	case <-time.After(10 * time.Second):
		t.Fatal("no notifications/resources/list_changed after an endpoint appeared")
	}

	require.NoError(t, cs.Unsubscribe(ctx, &sdk.UnsubscribeParams{URI: uri}))
	require.Eventually(t, func() bool { return !svc.Registry().Subscribed(uri) }, 10*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return svc.Poller().Running() == 0 }, 10*time.Second, time.Millisecond)
	_, err = f.api.Resume(ctx, user, "ep-0", true)
	require.NoError(t, err)
	f.waitState(t, user, hfapi.StateRunning, "ep-0")
	select {
	case got := <-ev.updated:
		t.Fatalf("notification for %s after unsubscribe", got)
	default:
	}
}

func readState(t *testing.T, cs *sdk.ClientSession, uri string) hfapi.State {
	t.Helper()
	res, err := cs.ReadResource(context.Background(), &sdk.ReadResourceParams{URI: uri})
	require.NoError(t, err)
	require.Len(t, res.Contents, 1)
	assert.Equal(t, MIMEType, res.Contents[0].MIMEType)
	var doc StatusDocument
	require.NoError(t, json.Unmarshal([]byte(res.Contents[0].Text), &doc))
	return doc.State
}

func receive(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("no notifications/resources/updated")
		return ""
	}
}

func TestReadUnknownOverMCP(t *testing.T) {
	f := newFixture(t)
	svc := newService(t, f)
	srv := server.NewMCPServer("resources-test", "0")
	svc.Register(srv)
	for _, era := range []string{legacyEra, modernEra} {
		t.Run(era, func(t *testing.T) {
			cs := connectHTTP(t, srv, &clientEvents{updated: make(chan string, 1), listChanged: make(chan struct{}, 1)}, era)
			_, err := cs.ReadResource(context.Background(), &sdk.ReadResourceParams{URI: URI(user, "nope")})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "resource not found")
			assert.Contains(t, err.Error(), `no endpoint "nope" in namespace "alice"`)
		})
	}
}

// A session that ends without unsubscribing loses its subscriptions, and polling stops.
func TestSessionEndDropsSubscriptions(t *testing.T) {
	for _, tr := range []string{"stdio", "http"} {
		for _, era := range []string{legacyEra, modernEra} {
			t.Run(tr+"/"+era, func(t *testing.T) {
				f := newFixture(t)
				f.createRunning(t, user, "ep", 2)
				svc, srv := servedService(t, f)
				cs, _ := connectOver(t, srv, tr, era)
				for _, n := range []string{"ep-0", "ep-1"} {
					require.NoError(t, cs.Subscribe(context.Background(), &sdk.SubscribeParams{URI: URI(user, n)}))
				}
				require.Eventually(t, func() bool { return svc.Registry().Len() == 2 }, 10*time.Second, time.Millisecond)
				require.Equal(t, 1, svc.Poller().Running())

				require.NoError(t, cs.Close())
				require.Eventually(t, func() bool { return svc.Registry().Len() == 0 }, 10*time.Second, time.Millisecond)
				require.Eventually(t, func() bool { return svc.Poller().Running() == 0 }, 10*time.Second, time.Millisecond)
			})
		}
	}
}

// servedService is a Service polling f every 5 ms, registered on a new MCP server.
func servedService(t *testing.T, f *fixture) (*Service, *server.MCPServer) {
	t.Helper()
	svc, err := New(Options{API: f.api, FastPoll: 5 * time.Millisecond, SlowPoll: 5 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Close() })
	srv := server.NewMCPServer("resources-test", "0")
	svc.Register(srv)
	return svc, srv
}

// connectOver connects an SDK client to srv over tr ("stdio" or "http") in era, recording its
// resource notifications.
func connectOver(t *testing.T, srv *server.MCPServer, tr, era string) (*sdk.ClientSession, *clientEvents) {
	t.Helper()
	ev := &clientEvents{updated: make(chan string, 64), listChanged: make(chan struct{}, 1)}
	if tr == "stdio" {
		return connectStdio(t, srv, ev, era), ev
	}
	return connectHTTP(t, srv, ev, era), ev
}
