package hfapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// newWakeEnv is an in-process emulator whose endpoints deploy and wake in a few milliseconds.
func newWakeEnv(t *testing.T) *guardEnv {
	t.Helper()
	emu, err := emulator.New(emulator.Options{Seed: 5, Timings: emulator.Timings{Deploy: 30 * time.Millisecond,
		ScaleUp: 30 * time.Millisecond, IdleMinute: time.Hour}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	const base = "http://emulator.test"
	return &guardEnv{emu: emu, cfg: hfapi.Config{Token: emulator.DefaultToken, APIBase: base + "/v2", HubBase: base,
		CatalogBase: base + "/api/catalog", Namespace: emulator.DefaultUser, HTTPClient: &http.Client{Transport: inProcess{emu}}}}
}

// inferenceRequests counts every request that reached an endpoint URL.
func (g *guardEnv) inferenceRequests() int64 {
	var n int64
	for _, r := range g.emu.Routes() {
		if method, route, _ := strings.Cut(r, " "); strings.HasPrefix(route, "/e/") {
			n += g.emu.Requests(method, route)
		}
	}
	return n
}

func noCeiling(cfg *hfapi.Config) { cfg.MaxHourlyCost = hfapi.NoCostCeiling }

// deployed creates spec without a ceiling, waits for it to run and returns it as running.
func (g *guardEnv) deployed(ctx context.Context, t *testing.T, spec hfapi.CreateSpec) *hfapi.Endpoint {
	t.Helper()
	admin := g.client(t, noCeiling)
	_, err := admin.Create(ctx, "", spec)
	require.NoError(t, err)
	ep, err := admin.Wait(ctx, "", spec.Name, hfapi.WaitOptions{Timeout: 20 * time.Second, Poll: 5 * time.Millisecond})
	require.NoError(t, err)
	return ep
}

// scaledToZero deploys spec and scales it to zero, returning it as scaled to zero.
func (g *guardEnv) scaledToZero(ctx context.Context, t *testing.T, spec hfapi.CreateSpec) *hfapi.Endpoint {
	t.Helper()
	g.deployed(ctx, t, spec)
	admin := g.client(t, noCeiling)
	_, err := admin.ScaleToZero(ctx, "", spec.Name)
	require.NoError(t, err)
	ep, err := admin.Get(ctx, "", spec.Name)
	require.NoError(t, err)
	require.Equal(t, hfapi.StateScaledToZero, ep.Status.State)
	return ep
}

var hi = hfapi.TextGenerationRequest{Inputs: "Hello", Parameters: hfapi.TextGenerationParameters{MaxNewTokens: ptr(3)}}

func TestColdStartOverCeilingIsRefused(t *testing.T) {
	g := newWakeEnv(t)
	ctx := t.Context()
	cold := g.scaledToZero(ctx, t, gpuSpec("big-cold", "x8", 1))
	c := g.client(t)
	before := g.inferenceRequests()

	calls := map[string]func() error{
		"TextGeneration": func() error { _, err := c.TextGeneration(ctx, cold, hi, hfapi.CallOptions{}); return err },
		"TextGenerationStream": func() error {
			_, err := c.TextGenerationStream(ctx, cold, hi, hfapi.CallOptions{}, nil)
			return err
		},
		"ChatCompletion": func() error {
			_, err := c.ChatCompletion(ctx, cold, hfapi.ChatCompletionRequest{Messages: []hfapi.ChatMessage{{Role: "user", Content: "hi"}}}, hfapi.CallOptions{})
			return err
		},
		"FeatureExtraction": func() error {
			_, err := c.FeatureExtraction(ctx, cold, hfapi.FeatureExtractionRequest{Inputs: []string{"a"}}, hfapi.CallOptions{})
			return err
		},
		"TextToImage": func() error {
			_, err := c.TextToImage(ctx, cold, hfapi.TextToImageRequest{Inputs: "cat"}, hfapi.CallOptions{})
			return err
		},
		"Call": func() error {
			_, err := c.Call(ctx, cold, "POST", "/generate", map[string]any{"inputs": "x"}, hfapi.CallOptions{})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			require.True(t, hfapi.IsWakeRefused(err), "got %v", err)
			var refused *hfapi.WakeRefusedError
			require.ErrorAs(t, err, &refused)
			p := refused.Plan
			assert.Equal(t, hfapi.ActionResume, p.Action)
			assert.Equal(t, emulator.DefaultUser+"/big-cold", p.Target())
			assert.Empty(t, p.Token, "inference takes no confirmation: no token is issued")
			require.NotNil(t, p.Cost, p.CostNote)
			assert.InDelta(t, 80.0, p.Cost.Max, 1e-9)
			msg := err.Error()
			for _, want := range []string{"big-cold is scaled to zero", "waking it would start hardware", "nvidia-h100 x8",
				"80.00 USD/h", "above the 10.00 USD/h ceiling", "nothing was sent", "resume_endpoint", "Client.Resume", "then retry"} {
				assert.Contains(t, msg, want)
			}
			assert.Equal(t, before, g.inferenceRequests(), "no request reached the endpoint")
		})
	}
	ep, err := c.Get(ctx, "", "big-cold")
	require.NoError(t, err)
	assert.Equal(t, hfapi.StateScaledToZero, ep.Status.State)
	assert.Zero(t, ep.Status.TargetReplica, "nothing started")

	// The way out the message gives: resume with a confirmation, then the call works.
	_, err = c.Resume(ctx, "", "big-cold", true)
	var need *hfapi.ConfirmationRequiredError
	require.ErrorAs(t, err, &need)
	waking, err := c.Resume(ctx, "", "big-cold", true, hfapi.WithConfirmation(need.Plan.Token))
	require.NoError(t, err)
	out, err := c.TextGeneration(ctx, waking, hi, hfapi.CallOptions{ScaleUpTimeout: 20 * time.Second})
	require.NoError(t, err, "an endpoint already starting a replica starts nothing new")
	assert.NotEmpty(t, out.GeneratedText)
	running, err := c.Wait(ctx, "", "big-cold", hfapi.WaitOptions{Timeout: 20 * time.Second, Poll: 5 * time.Millisecond})
	require.NoError(t, err)
	_, err = c.TextGeneration(ctx, running, hi, hfapi.CallOptions{})
	require.NoError(t, err)
}

func TestColdStartUnknownCostIsRefused(t *testing.T) {
	g := newWakeEnv(t)
	ctx := t.Context()
	cold := g.scaledToZero(ctx, t, smallSpec("odd-cold"))
	cold.Compute.ID, cold.Compute.InstanceType = "", "nvidia-x999" // as if the catalog no longer offered it
	before := g.inferenceRequests()
	_, err := g.client(t).TextGeneration(ctx, cold, hi, hfapi.CallOptions{})
	require.True(t, hfapi.IsWakeRefused(err), "got %v", err)
	assert.Contains(t, err.Error(), "an unknown cost (no cpu instance nvidia-x999 x2 is offered in aws us-east-1; list_hardware lists the offers; the nearest are cpu intel-icl x2")
	assert.Contains(t, err.Error(), "counts as over the 10.00 USD/h ceiling")
	assert.Equal(t, before, g.inferenceRequests())
}

func TestColdStartWithinCeilingOrWithoutOneWakes(t *testing.T) {
	g := newWakeEnv(t)
	ctx := t.Context()
	cheap := g.scaledToZero(ctx, t, smallSpec("cheap-cold"))
	big := g.scaledToZero(ctx, t, gpuSpec("big-free", "x8", 1))
	for _, tc := range []struct {
		name   string
		ep     *hfapi.Endpoint
		mutate func(*hfapi.Config)
	}{
		{"cheap endpoint under the default ceiling", cheap, func(*hfapi.Config) {}},
		{"costly endpoint with NoCostCeiling", big, noCeiling},
		{"costly endpoint under a raised ceiling", big, func(cfg *hfapi.Config) { cfg.MaxHourlyCost = 100 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := g.client(t, tc.mutate)
			before := g.inferenceRequests()
			var waking int
			out, err := c.TextGeneration(ctx, tc.ep, hi, hfapi.CallOptions{ScaleUpTimeout: 20 * time.Second,
				OnProgress: func(p hfapi.Progress) {
					if strings.Contains(p.Message, "waking") {
						waking++
					}
				}})
			require.NoError(t, err)
			assert.NotEmpty(t, out.GeneratedText)
			assert.Greater(t, g.inferenceRequests(), before)
			assert.Positive(t, waking)
		})
	}
}

func TestColdStartPricesInTheGivenNamespace(t *testing.T) {
	g := newWakeEnv(t)
	ctx := t.Context()
	cold := g.scaledToZero(ctx, t, gpuSpec("ns-cold", "x8", 1))
	c := g.client(t, func(cfg *hfapi.Config) { cfg.Namespace = "" })
	_, err := c.TextGeneration(ctx, cold, hi, hfapi.CallOptions{Namespace: emulator.DefaultUser})
	var refused *hfapi.WakeRefusedError
	require.ErrorAs(t, err, &refused)
	assert.Equal(t, emulator.DefaultUser, refused.Plan.Namespace)
	assert.Zero(t, g.emu.Requests(http.MethodGet, "/api/whoami-v2"), "the given namespace needs no whoami")
}

// An endpoint fetched while running that has scaled to zero since: its URL answers 503 without
// serving the request, so the client re-reads it and takes the cold-start way (guard included).
func TestEndpointScaledToZeroSinceItWasFetched(t *testing.T) {
	g := newWakeEnv(t)
	ctx := t.Context()
	admin := g.client(t, noCeiling)

	cheap := g.deployed(ctx, t, smallSpec("dozing"))
	_, err := admin.ScaleToZero(ctx, "", "dozing")
	require.NoError(t, err)
	before, gets := g.inferenceRequests(), g.emu.Requests(http.MethodGet, routeEndpoint)
	out, err := g.client(t).TextGeneration(ctx, cheap, hi, hfapi.CallOptions{ScaleUpTimeout: 20 * time.Second})
	require.NoError(t, err)
	assert.NotEmpty(t, out.GeneratedText)
	assert.EqualValues(t, 2, g.inferenceRequests()-before, "the 503 of the idle endpoint, then the cold start")
	assert.Greater(t, g.emu.Requests(http.MethodGet, routeEndpoint), gets, "the endpoint was read again")

	// A costly one: the request that found it asleep started a replica (as the scale-up proxy does),
	// so nothing new starts and the cold start goes on.
	big := g.deployed(ctx, t, gpuSpec("big-dozing", "x8", 1))
	_, err = admin.ScaleToZero(ctx, "", "big-dozing")
	require.NoError(t, err)
	before = g.inferenceRequests()
	_, err = g.client(t).TextGeneration(ctx, big, hi, hfapi.CallOptions{ScaleUpTimeout: 20 * time.Second})
	require.NoError(t, err)
	assert.EqualValues(t, 2, g.inferenceRequests()-before)

	// A costly one whose 503 started nothing: the guard refuses the cold start.
	bigger := g.deployed(ctx, t, gpuSpec("bigger-dozing", "x8", 1))
	_, err = admin.ScaleToZero(ctx, "", "bigger-dozing")
	require.NoError(t, err)
	require.NoError(t, g.emu.InjectFault(emulator.Fault{Method: http.MethodPost, Route: "/e/{id}", Status: http.StatusServiceUnavailable, Count: 1}))
	before = g.inferenceRequests()
	_, err = g.client(t).TextGeneration(ctx, bigger, hi, hfapi.CallOptions{})
	var refused *hfapi.WakeRefusedError
	require.ErrorAs(t, err, &refused)
	assert.True(t, refused.Unserved)
	assert.Contains(t, err.Error(), "the request was not served")
	assert.Contains(t, err.Error(), "resume_endpoint")
	assert.EqualValues(t, 1, g.inferenceRequests()-before, "only the request that found it asleep")

	// Any other 503 stands: the endpoint is still running, the POST is not repeated.
	require.NoError(t, g.emu.InjectFault(emulator.Fault{Method: http.MethodPost, Route: "/e/{id}", Status: http.StatusServiceUnavailable, Count: 1}))
	awake, err := admin.Get(ctx, "", "dozing")
	require.NoError(t, err)
	require.Equal(t, hfapi.StateRunning, awake.Status.State)
	before = g.inferenceRequests()
	_, err = g.client(t).TextGeneration(ctx, awake, hi, hfapi.CallOptions{})
	var apiErr *hfapi.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusServiceUnavailable, apiErr.Status)
	assert.EqualValues(t, 1, g.inferenceRequests()-before)
}

func TestColdStartWithoutANamespaceToPriceIn(t *testing.T) {
	g := newWakeEnv(t)
	ctx := t.Context()
	cold := g.scaledToZero(ctx, t, smallSpec("lost-cold"))
	// No namespace given or configured, and whoami fails: there is no hardware catalog to price in.
	c := g.client(t, func(cfg *hfapi.Config) { cfg.Namespace, cfg.Token = "", "hf_org_token" })
	before := g.inferenceRequests()
	_, err := c.TextGeneration(ctx, cold, hi, hfapi.CallOptions{})
	var refused *hfapi.WakeRefusedError
	require.ErrorAs(t, err, &refused)
	assert.Nil(t, refused.Plan.Cost)
	assert.Contains(t, err.Error(), "endpoint lost-cold is scaled to zero")
	assert.Contains(t, err.Error(), "the namespace to price it in is unknown")
	assert.Equal(t, before, g.inferenceRequests())
}
