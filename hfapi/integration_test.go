package hfapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// againstEmulator starts an emulator (seed 7) and a client of it, configured further by mutate.
func againstEmulator(t *testing.T, timings emulator.Timings, mutate ...func(*hfapi.Config)) (*emulator.Server, *hfapi.Client) {
	t.Helper()
	srv, err := emulator.Start("127.0.0.1:0", emulator.Options{Seed: 7, Timings: timings})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	cfg := hfapi.Config{Token: srv.Token(), APIBase: srv.APIBase(), HubBase: srv.HubBase(), CatalogBase: srv.CatalogBase()}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := hfapi.New(cfg)
	require.NoError(t, err)
	return srv, c
}

// TestLifecycleAgainstEmulator drives a whole endpoint lifecycle through the client against the
// offline emulator: create, wait, generate, pause, resume, scale to zero (and wake), update.
func TestLifecycleAgainstEmulator(t *testing.T) {
	srv, c := againstEmulator(t, emulator.Timings{
		Deploy: 150 * time.Millisecond, Update: 80 * time.Millisecond, ScaleUp: 100 * time.Millisecond, IdleMinute: time.Hour})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	ns, err := c.DefaultNamespace(ctx)
	require.NoError(t, err)
	assert.Equal(t, srv.Username(), ns)

	spec := cpuSpec(ctx, t, c, "lifecycle-1")
	created, err := c.Create(ctx, "", spec)
	require.NoError(t, err)
	assert.Equal(t, "lifecycle-1", created.Name)
	_, err = c.Create(ctx, "", spec)
	assert.True(t, hfapi.IsConflict(err), "a second create with the same name conflicts: %v", err)

	wait := func(what string) *hfapi.Endpoint {
		t.Helper()
		var mu sync.Mutex
		var states []hfapi.State
		ep, err := c.Wait(ctx, "", spec.Name, hfapi.WaitOptions{Timeout: 30 * time.Second, Poll: 20 * time.Millisecond,
			OnProgress: func(p hfapi.Progress) { mu.Lock(); states = append(states, p.State); mu.Unlock() }})
		require.NoError(t, err, what)
		require.Equal(t, hfapi.StateRunning, ep.Status.State, what)
		mu.Lock()
		defer mu.Unlock()
		require.NotEmpty(t, states, what)
		assert.Equal(t, hfapi.StateRunning, states[len(states)-1], what)
		return ep
	}
	ep := wait("after create")
	require.NotEmpty(t, ep.URL())
	assertLosslessDecode(ctx, t, srv.APIBase()+"/endpoint/"+ns+"/"+spec.Name, srv.Token(), ep)

	gen, err := c.TextGeneration(ctx, ep, hfapi.TextGenerationRequest{Inputs: "Hello",
		Parameters: hfapi.TextGenerationParameters{MaxNewTokens: ptr(5)}}, hfapi.CallOptions{})
	require.NoError(t, err)
	assert.NotEmpty(t, gen.GeneratedText)
	var streamed int
	_, err = c.TextGenerationStream(ctx, ep, hfapi.TextGenerationRequest{Inputs: "Hello",
		Parameters: hfapi.TextGenerationParameters{MaxNewTokens: ptr(3)}}, hfapi.CallOptions{}, func(hfapi.StreamToken) { streamed++ })
	require.NoError(t, err)
	assert.Positive(t, streamed)
	chat, err := c.ChatCompletion(ctx, ep, hfapi.ChatCompletionRequest{Messages: []hfapi.ChatMessage{{Role: "user", Content: "hi"}},
		MaxTokens: ptr(4)}, hfapi.CallOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, chat.Choices)

	paused, err := c.Pause(ctx, "", spec.Name)
	require.NoError(t, err)
	paused = settle(ctx, t, c, spec.Name, hfapi.StatePaused)
	_, err = c.TextGeneration(ctx, paused, hfapi.TextGenerationRequest{Inputs: "x"}, hfapi.CallOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "resume_endpoint")

	_, err = c.Resume(ctx, "", spec.Name, true)
	require.NoError(t, err)
	ep = wait("after resume")
	_, err = c.Resume(ctx, "", spec.Name, true)
	require.NoError(t, err, "resuming a running endpoint is fine with runningOK")

	_, err = c.ScaleToZero(ctx, "", spec.Name)
	require.NoError(t, err)
	cold := settle(ctx, t, c, spec.Name, hfapi.StateScaledToZero)
	var waking int
	var mu sync.Mutex
	gen, err = c.TextGeneration(ctx, cold, hfapi.TextGenerationRequest{Inputs: "wake up"},
		hfapi.CallOptions{ScaleUpTimeout: 20 * time.Second, OnProgress: func(p hfapi.Progress) {
			mu.Lock()
			defer mu.Unlock()
			if strings.Contains(p.Message, "waking") {
				waking++
			}
		}})
	require.NoError(t, err)
	assert.NotEmpty(t, gen.GeneratedText)
	mu.Lock()
	assert.Positive(t, waking)
	mu.Unlock()
	wait("after waking")

	_, err = c.Update(ctx, "", spec.Name, hfapi.UpdateSpec{MaxReplica: ptr(2), Env: map[string]string{"MODE": "fast"}})
	require.NoError(t, err)
	ep = wait("after update")
	assert.Equal(t, 2, ep.Compute.Scaling.MaxReplica)
	assert.Equal(t, "fast", ep.Model.Env["MODE"])

	all, err := c.List(ctx, "*")
	require.NoError(t, err)
	require.Len(t, all, 1)
	_, err = c.Get(ctx, "", "does-not-exist")
	assert.True(t, hfapi.IsNotFound(err))
}

// TestFailuresAgainstEmulator checks the failure paths Wait reports and the retry of injected faults.
func TestFailuresAgainstEmulator(t *testing.T) {
	srv, c := againstEmulator(t, emulator.Timings{Deploy: 50 * time.Millisecond, Update: 50 * time.Millisecond},
		func(cfg *hfapi.Config) {
			cfg.Retry = hfapi.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond}
		})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	ns, err := c.DefaultNamespace(ctx)
	require.NoError(t, err)

	srv.FailNextDeploy(ns, "doomed", "out of capacity")
	_, err = c.Create(ctx, "", cpuSpec(ctx, t, c, "doomed"))
	require.NoError(t, err)
	_, err = c.Wait(ctx, "", "doomed", hfapi.WaitOptions{Timeout: 20 * time.Second, Poll: 10 * time.Millisecond})
	var failed *hfapi.EndpointFailedError
	require.True(t, errors.As(err, &failed), "got %v", err)
	assert.Equal(t, "failed to deploy", failed.Reason)

	require.NoError(t, srv.InjectFault(emulator.Fault{Method: http.MethodGet, Route: "/v2/endpoint/{namespace}/{name}",
		Status: http.StatusServiceUnavailable, Count: 2}))
	before := srv.Requests(http.MethodGet, "/v2/endpoint/{namespace}/{name}")
	_, err = c.Get(ctx, "", "doomed")
	require.NoError(t, err, "two 503s are retried away")
	assert.Equal(t, int64(3), srv.Requests(http.MethodGet, "/v2/endpoint/{namespace}/{name}")-before)

	require.NoError(t, srv.InjectFault(emulator.Fault{Method: http.MethodPost, Route: "/v2/endpoint/{namespace}/{name}/pause",
		Status: http.StatusServiceUnavailable, Count: 1}))
	_, err = c.Pause(ctx, "", "doomed")
	require.Error(t, err)
	assert.Equal(t, int64(1), srv.Requests(http.MethodPost, "/v2/endpoint/{namespace}/{name}/pause"), "a mutation is sent once")
}

func cpuSpec(ctx context.Context, t *testing.T, c *hfapi.Client, name string) hfapi.CreateSpec {
	t.Helper()
	vendors, err := c.ListHardware(ctx, "")
	require.NoError(t, err)
	for _, v := range vendors {
		for _, r := range v.Regions {
			for _, h := range r.Computes {
				if h.Accelerator == "cpu" {
					return hfapi.CreateSpec{Name: name, Repository: "openai-community/gpt2", Framework: "pytorch",
						Task: "text-generation", Accelerator: h.Accelerator, InstanceType: h.InstanceType,
						InstanceSize: h.InstanceSize, Vendor: v.Name, Region: r.Name,
						MinReplica: ptr(0), MaxReplica: ptr(1), ScaleToZeroTimeout: ptr(15),
						CustomImage: map[string]any{"tgi": map[string]any{"url": "ghcr.io/huggingface/text-generation-inference:3.3.6",
							"healthRoute": "/health", "port": 80}}}
				}
			}
		}
	}
	t.Fatal("the emulator offers no cpu instance")
	return hfapi.CreateSpec{}
}

// settle polls until the endpoint reaches state (pause and scale to zero may pass through others).
func settle(ctx context.Context, t *testing.T, c *hfapi.Client, name string, state hfapi.State) *hfapi.Endpoint {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ep, err := c.Get(ctx, "", name)
		require.NoError(t, err)
		if ep.Status.State == state {
			return ep
		}
		select {
		case <-ctx.Done():
			t.Fatalf("endpoint %s never reached %s (last %s)", name, state, ep.Status.State)
		case <-tick.C:
		}
	}
}

// assertLosslessDecode fetches the raw document and checks that decoding then encoding keeps it intact.
func assertLosslessDecode(ctx context.Context, t *testing.T, url, token string, _ *hfapi.Endpoint) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var ep hfapi.Endpoint
	require.NoError(t, json.Unmarshal(raw, &ep))
	out, err := json.Marshal(ep)
	require.NoError(t, err)
	assert.JSONEq(t, string(raw), string(out))
}

func ptr[T any](v T) *T { return &v }

// TestChatCompletionStreamAgainstTheEmulator: the streamed reply equals the
// plain one for the same greedy request.
func TestChatCompletionStreamAgainstTheEmulator(t *testing.T) {
	_, c := againstEmulator(t, emulator.Timings{Deploy: 30 * time.Millisecond, IdleMinute: time.Hour})
	ctx := t.Context()
	_, err := c.Create(ctx, "", cpuSpec(ctx, t, c, "chatty"))
	require.NoError(t, err)
	ep, err := c.Wait(ctx, "", "chatty", hfapi.WaitOptions{Timeout: 30 * time.Second, Poll: time.Millisecond})
	require.NoError(t, err)
	req := hfapi.ChatCompletionRequest{Messages: []hfapi.ChatMessage{{Role: "user", Content: "Say something"}}, MaxTokens: ptr(8), Temperature: ptr(0.0)}
	plain, err := c.ChatCompletion(ctx, ep, req, hfapi.CallOptions{})
	require.NoError(t, err)
	chunks := 0
	streamed, err := c.ChatCompletionStream(ctx, ep, req, hfapi.CallOptions{}, func(hfapi.ChatCompletionChunk) { chunks++ })
	require.NoError(t, err)
	require.Len(t, streamed.Choices, 1)
	assert.Equal(t, plain.Choices[0].Message.Content, streamed.Choices[0].Message.Content)
	assert.Equal(t, plain.Choices[0].FinishReason, streamed.Choices[0].FinishReason)
	assert.Positive(t, chunks)
}

// TestFailedDeployIsExplainedByItsLogs: a model too large for its GPU fails; the wait says so, the
// replica says so and the logs show the CUDA error; a model that fits serves, and its logs, replicas
// and metric series show the traffic.
func TestFailedDeployIsExplainedByItsLogs(t *testing.T) {
	_, c := againstEmulator(t, emulator.Timings{Deploy: 60 * time.Millisecond, Update: 40 * time.Millisecond, IdleMinute: time.Hour},
		func(cfg *hfapi.Config) { cfg.MaxHourlyCost = hfapi.NoCostCeiling })
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	spec := func(name, instanceType string) hfapi.CreateSpec {
		return hfapi.CreateSpec{Name: name, Repository: "meta-llama/Llama-3.1-8B-Instruct", Framework: "pytorch",
			Task: "text-generation", Accelerator: "gpu", Vendor: "aws", Region: "us-east-1", InstanceType: instanceType,
			InstanceSize: "x1", CustomImage: map[string]any{"tgi": map[string]any{"url": "ghcr.io/huggingface/text-generation-inference:3.1.1"}}}
	}
	_, err := c.Create(ctx, "", spec("llama-t4", "nvidia-t4"))
	require.NoError(t, err)
	_, err = c.Wait(ctx, "", "llama-t4", hfapi.WaitOptions{Timeout: 30 * time.Second, Poll: 10 * time.Millisecond})
	var failed *hfapi.EndpointFailedError
	require.True(t, errors.As(err, &failed), "%v", err)
	assert.Contains(t, err.Error(), "CUDA out of memory")
	assert.Contains(t, err.Error(), "get_endpoint_logs")

	replicas, err := c.Replicas(ctx, "", "llama-t4")
	require.NoError(t, err)
	require.Len(t, replicas, 1)
	assert.Equal(t, "failed", replicas[0].State)
	assert.Contains(t, replicas[0].Message, "CUDA out of memory")
	oom, err := c.Logs(ctx, "", "llama-t4", hfapi.LogQuery{MinLevel: "ERROR", Contains: "out of memory"})
	require.NoError(t, err)
	require.NotEmpty(t, oom)
	assert.Equal(t, replicas[0].ID, oom[0].Replica)
	assert.Equal(t, "ERROR", oom[0].Level)
	assert.False(t, oom[0].Time.IsZero())

	_, err = c.Create(ctx, "", spec("llama-l4", "nvidia-l4"))
	require.NoError(t, err)
	ep, err := c.Wait(ctx, "", "llama-l4", hfapi.WaitOptions{Timeout: 30 * time.Second, Poll: 10 * time.Millisecond})
	require.NoError(t, err)
	for range 3 {
		_, err = c.TextGeneration(ctx, ep, hfapi.TextGenerationRequest{Inputs: "Hello", Parameters: hfapi.TextGenerationParameters{MaxNewTokens: ptr(6)}}, hfapi.CallOptions{})
		require.NoError(t, err)
	}
	followed := make(chan hfapi.LogLine, 1)
	follow, stop := context.WithCancel(ctx)
	go func() {
		_ = c.FollowLogs(follow, "", "llama-l4", hfapi.LogQuery{Contains: "generate{"}, func(l hfapi.LogLine) error {
			followed <- l
			return errors.New("seen one")
		})
	}()
	select {
	case l := <-followed:
		assert.True(t, strings.HasSuffix(l.Text, ": Success"), "the stream starts with the recent lines: %s", l.Text)
	case <-ctx.Done():
		t.Fatal("no line followed")
	}
	stop()
	tail, err := c.Logs(ctx, "", "llama-l4", hfapi.LogQuery{Tail: 3})
	require.NoError(t, err)
	require.Len(t, tail, 3)
	for _, l := range tail {
		assert.True(t, strings.HasSuffix(l.Text, ": Success"), l.Text)
	}
	s, err := c.MetricSeries(ctx, "", "llama-l4", "request-count", hfapi.MetricQuery{From: time.Now().Add(-10 * time.Minute), To: time.Now().Add(time.Minute), Step: time.Minute})
	require.NoError(t, err)
	assert.Equal(t, "requests", s.Unit)
	total := 0.0
	for _, p := range s.Points {
		total += p.Value
	}
	assert.EqualValues(t, 3, total)
}
