package resources

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newService(t testing.TB, f *fixture) *Service {
	t.Helper()
	s, err := New(Options{API: f.api})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestURIRoundTrip(t *testing.T) {
	tests := []struct {
		uri, ns, name string
		bad           bool
	}{
		{uri: "hf-endpoints://alice/my-ep", ns: "alice", name: "my-ep"},
		{uri: "hf-endpoints://acme%20corp/x", ns: "acme corp", name: "x"},
		{uri: "hf-endpoints://alice", bad: true},
		{uri: "hf-endpoints:///x", bad: true},
		{uri: "hf-endpoints://alice/", bad: true},
		{uri: "hf-endpoints://alice/a/b", bad: true},
		{uri: "https://alice/x", bad: true},
		{uri: "hf-endpoints://alice/%zz", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			ns, name, err := ParseURI(tt.uri)
			if tt.bad {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.uri)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.ns, ns)
			assert.Equal(t, tt.name, name)
			assert.Equal(t, tt.uri, URI(ns, name))
		})
	}
}

func TestReadStatusDocument(t *testing.T) {
	f := newFixture(t)
	f.createRunning(t, user, "doc", 1)
	s := newService(t, f)
	ctx := context.Background()

	doc, err := s.Read(ctx, URI(user, "doc-0"))
	require.NoError(t, err)
	assert.Equal(t, URI(user, "doc-0"), doc.URI)
	assert.Equal(t, user, doc.Namespace)
	assert.Equal(t, "doc-0", doc.Name)
	assert.Equal(t, hfapi.StateRunning, doc.State)
	require.NotNil(t, doc.URL)
	assert.NotEmpty(t, *doc.URL)
	assert.Equal(t, ReplicaStatus{Ready: 1, Target: 1}, doc.Replicas)
	assert.Equal(t, "openai-community/gpt2", doc.Model.Repository)
	assert.Equal(t, "text-generation", doc.Model.Task)
	assert.Equal(t, "pytorch", doc.Model.Framework)
	assert.Equal(t, HardwareInfo{Vendor: "aws", Region: "us-east-1", Accelerator: "cpu", InstanceType: "intel-spr", InstanceSize: "x1"}, doc.Hardware)
	assert.Equal(t, 1, doc.Scaling.MinReplica)
	assert.Equal(t, 2, doc.Scaling.MaxReplica)
	assert.Equal(t, "authenticated", doc.Type)
	assert.NotEmpty(t, doc.Created)
	assert.NotEmpty(t, doc.Updated)

	// The cost comes from the catalog's price of that instance in that region.
	vendors, err := f.api.ListHardware(ctx, user)
	require.NoError(t, err)
	price := priceOf(t, vendors, "aws", "us-east-1", "intel-spr", "x1")
	require.NotNil(t, doc.Cost)
	assert.Equal(t, CostEstimate{PricePerHour: price, Min: price, Max: 2 * price, Currency: "USD"}, *doc.Cost)

	// The JSON uses the documented names, with null for what is unknown.
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	for _, k := range []string{"uri", "namespace", "endpoint_name", "state", "url", "type", "replicas", "model", "hardware", "scaling", "estimated_hourly_cost", "created_at", "updated_at"} {
		assert.Contains(t, m, k)
	}
	assert.Nil(t, m["scaling"].(map[string]any)["scale_to_zero_timeout"])
}

func priceOf(t *testing.T, vendors []hfapi.Vendor, vendor, region, typ, size string) float64 {
	t.Helper()
	for _, v := range vendors {
		for _, r := range v.Regions {
			for _, h := range r.Computes {
				if v.Name == vendor && r.Name == region && h.InstanceType == typ && h.InstanceSize == size {
					return h.PricePerHour
				}
			}
		}
	}
	t.Fatalf("no %s %s %s %s in the catalog", vendor, region, typ, size)
	return 0
}

func TestReadCachesTheHardwareCatalogPerNamespace(t *testing.T) {
	f := newFixture(t)
	f.createRunning(t, user, "u", 2)
	f.createRunning(t, org, "o", 1)
	s := newService(t, f)
	for _, uri := range []string{URI(user, "u-0"), URI(user, "u-1"), URI(user, "u-0"), URI(org, "o-0")} {
		doc, err := s.Read(context.Background(), uri)
		require.NoError(t, err)
		require.NotNil(t, doc.Cost)
	}
	assert.EqualValues(t, 2, f.emu.Requests(http.MethodGet, hardwareRoute), "one catalog fetch per namespace")
}

func TestReadWithoutCatalogHasNoCost(t *testing.T) {
	f := newFixture(t)
	f.createRunning(t, user, "u", 1)
	require.NoError(t, f.emu.InjectFault(emulator.Fault{Method: http.MethodGet, Route: hardwareRoute, Status: http.StatusForbidden}))
	s := newService(t, f)
	doc, err := s.Read(context.Background(), URI(user, "u-0"))
	require.NoError(t, err, "the cost is optional")
	assert.Nil(t, doc.Cost)
	assert.Equal(t, hfapi.StateRunning, doc.State)
}

func TestReadUnknownEndpointIsNotFound(t *testing.T) {
	f := newFixture(t)
	s := newService(t, f)
	tests := []struct {
		uri, want string
		notFound  bool
	}{
		{URI(user, "missing"), `no endpoint "missing" in namespace "alice"`, true},
		{"hf-endpoints://only-namespace", "is not of the form", true},
		// A namespace the token cannot use is an authorization failure, reported as such.
		{URI("someone-else", "x"), `no access to namespace "someone-else"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			_, err := s.Read(context.Background(), tt.uri)
			require.Error(t, err)
			assert.Equal(t, tt.notFound, errors.Is(err, server.ErrResourceNotFound), "%v", err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), f.emu.Token())
		})
	}
}

func TestListResources(t *testing.T) {
	f := newFixture(t)
	f.createRunning(t, user, "u", 2)
	f.createRunning(t, org, "o", 1)
	s := newService(t, f)
	list, err := s.List(context.Background())
	require.NoError(t, err)
	require.Len(t, list, 2, "only the default namespace")
	for _, r := range list {
		assert.Contains(t, []string{URI(user, "u-0"), URI(user, "u-1")}, r.URI)
		assert.Equal(t, MIMEType, r.MIMEType)
		assert.Contains(t, r.Title, user+"/")
		assert.Contains(t, r.Description, "openai-community/gpt2")
		assert.NotEmpty(t, r.Name)
	}
}

func TestTemplateHandler(t *testing.T) {
	f := newFixture(t)
	f.createRunning(t, user, "u", 1)
	s := newService(t, f)
	tmpl := s.Template()
	assert.Equal(t, MIMEType, tmpl.Template.MIMEType)
	assert.Equal(t, URITemplate, tmpl.Template.URITemplate.Raw())

	var req mcp.ReadResourceRequest
	req.Params.URI = URI(user, "u-0")
	contents, err := tmpl.Handler(context.Background(), req)
	require.NoError(t, err)
	require.Len(t, contents, 1)
	text, ok := contents[0].(mcp.TextResourceContents)
	require.True(t, ok)
	assert.Equal(t, MIMEType, text.MIMEType)
	var doc StatusDocument
	require.NoError(t, json.Unmarshal([]byte(text.Text), &doc))
	assert.Equal(t, "u-0", doc.Name)
}

// Tools publish their own changes; the default namespace ("") is resolved without blocking them.
func TestServicePublish(t *testing.T) {
	f := newFixture(t)
	f.createRunning(t, user, "u", 1)
	s, err := New(Options{API: f.api, FastPoll: time.Hour, SlowPoll: time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	changes := &listChanges{}
	s.listChanged = func(_, ns string) { changes.record(ns) }

	// Nobody subscribes: a removal still changes the list.
	s.PublishRemoval(context.Background(), user, "gone")
	assert.Equal(t, 1, changes.count(user))

	sub := newRecorder("s")
	require.NoError(t, s.Registry().Subscribe(sub, URI(user, "u-0")))
	waitPolled(t, s.Poller(), 1, user)
	ep, err := f.api.Pause(context.Background(), user, "u-0")
	require.NoError(t, err)
	s.Publish(context.Background(), "", ep)
	require.Eventually(t, func() bool { return len(sub.got()) == 1 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, []string{URI(user, "u-0")}, sub.got())

	s.PublishRemoval(context.Background(), "", "u-0")
	require.Eventually(t, func() bool { return changes.count(user) == 2 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, []string{URI(user, "u-0"), URI(user, "u-0")}, sub.got())
	s.Publish(context.Background(), user, nil) // ignored
}

type callerKey struct{}

// With token pass-through every caller reads, subscribes and is polled with their own client:
// a caller never hears of endpoints their token cannot see.
func TestCallersAreIsolated(t *testing.T) {
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
	f := &fixture{emu: emu, api: clients[user], transport: &http.Transport{}}
	f.createRunning(t, user, "mine", 1)

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
	assert.Nil(t, s.Poller(), "no shared client, no shared poller")
	as := func(who string) context.Context { return context.WithValue(context.Background(), callerKey{}, who) }
	uri := URI(user, "mine-0")

	_, err = s.Read(as(user), uri)
	require.NoError(t, err)
	_, err = s.Read(as("bob"), uri)
	require.Error(t, err, "bob's token cannot read alice's endpoint")
	_, err = s.Read(context.Background(), uri)
	require.ErrorContains(t, err, "no caller")

	alice, bob := newRecorder("alice"), newRecorder("bob")
	scA := s.subscribe(as(user), alice, uri)
	require.NotNil(t, scA)
	require.Nil(t, s.subscribe(as("bob"), bob, uri), "bob cannot subscribe to a namespace his token cannot see")
	err = s.CheckSubscribe(as("bob"), bob.ID(), uri)
	require.ErrorIs(t, err, ErrSubscriptionRefused)
	assert.Contains(t, err.Error(), `namespace "`+user+`" is not one this token can see; subscribe to endpoints of "bob"`)
	waitCycles(t, scA.poller, 2, user)

	_, err = f.api.Pause(context.Background(), user, "mine-0")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(alice.got()) == 1 }, 10*time.Second, time.Millisecond)
	assert.Empty(t, bob.got(), "bob hears nothing of alice's namespace")
}
