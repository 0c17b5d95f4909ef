package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const getRoute = "/v2/endpoint/{namespace}/{name}"

func TestFaultStatusWithRetryAfterThenRecovers(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	c.obj("POST", "/v2/endpoint/emulator-user", createBody("f"))
	require.NoError(t, s.InjectFault(Fault{Method: "GET", Route: getRoute, Status: 429, RetryAfter: 1500 * time.Millisecond, Count: 2}))
	for range 2 {
		resp, data := c.do("GET", "/v2/endpoint/emulator-user/f", nil)
		assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		assert.Equal(t, "2", resp.Header.Get("Retry-After"))
		assert.NotEmpty(t, resp.Header.Get("X-Request-Id"))
		var m map[string]string
		require.NoError(t, json.Unmarshal(data, &m))
		assert.Contains(t, m["error"], "429")
	}
	resp, _ := c.do("GET", "/v2/endpoint/emulator-user/f", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "Count=2 faults are used up")
	assert.EqualValues(t, 3, s.Requests("GET", getRoute), "faulted requests are counted")
	resp, _ = c.do("GET", "/v2/endpoint/emulator-user", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "other routes unaffected")
}

func TestFault500OnAnyRouteUntilCleared(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	require.NoError(t, s.InjectFault(Fault{Status: 500}))
	for _, p := range []string{"/v2/endpoint/emulator-user", "/api/whoami-v2"} {
		resp, _ := c.do("GET", p, nil)
		assert.Equal(t, http.StatusInternalServerError, resp.StatusCode, p)
	}
	s.ClearFaults()
	resp, _ := c.do("GET", "/api/whoami-v2", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestFaultLatencyDelaysTheAnswer(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	require.NoError(t, s.InjectFault(Fault{Route: "/api/whoami-v2", Latency: time.Hour, Count: 1}))
	// A client deadline far below the injected latency expires: the answer was held back.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/api/whoami-v2", nil)
	req.Header.Set("Authorization", "Bearer "+s.Token())
	_, err := http.DefaultClient.Do(req)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	resp, _ := c.do("GET", "/api/whoami-v2", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the one-shot latency fault is used up")
}

func TestFaultLatencyThenServes(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	require.NoError(t, s.InjectFault(Fault{Route: "/api/whoami-v2", Latency: 10 * time.Millisecond}))
	code, m := c.obj("GET", "/api/whoami-v2", nil)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "emulator-user", m["name"])
}

func TestFaultDropClosesConnection(t *testing.T) {
	s := start(t, Options{})
	require.NoError(t, s.InjectFault(Fault{Method: "GET", Route: "/v2/endpoint/{namespace}", Drop: true, Count: 1}))
	req, _ := http.NewRequest("GET", s.APIBase()+"/endpoint/emulator-user", nil)
	req.Header.Set("Authorization", "Bearer "+s.Token())
	_, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	require.Error(t, err, "no answer on a dropped connection")
	c := newClient(t, s, s.Token())
	resp, _ := c.do("GET", "/v2/endpoint/emulator-user", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestFaultMalformedJSON(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	require.NoError(t, s.InjectFault(Fault{Route: "/api/whoami-v2", MalformedJSON: true, Count: 1}))
	resp, data := c.do("GET", "/api/whoami-v2", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var m map[string]any
	assert.Error(t, json.Unmarshal(data, &m), "body must not parse: %s", data)
	assert.NotEmpty(t, data)
}

func TestFaultProbabilityIsSeeded(t *testing.T) {
	hits := func() int {
		s := start(t, Options{Seed: 7})
		c := newClient(t, s, s.Token())
		require.NoError(t, s.InjectFault(Fault{Route: "/api/whoami-v2", Status: 503, Probability: 0.5}))
		n := 0
		for range 60 {
			if resp, _ := c.do("GET", "/api/whoami-v2", nil); resp.StatusCode == 503 {
				n++
			}
		}
		return n
	}
	a, b := hits(), hits()
	assert.Equal(t, a, b, "same seed, same faults")
	assert.Greater(t, a, 10)
	assert.Less(t, a, 50)
}

func TestFaultOnInferenceRoute(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	url := urlOf(c.running("emulator-user", "inf"))
	require.NoError(t, s.InjectFault(Fault{Method: "POST", Route: "/e/{id}/generate", Status: 503, Count: 1}))
	resp, _ := c.do("POST", url+"/generate", map[string]any{"inputs": "x"})
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	resp, _ = c.do("POST", url+"/generate", map[string]any{"inputs": "x"})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestInjectFaultRejectsNonsense(t *testing.T) {
	s := start(t, Options{})
	require.ErrorContains(t, s.InjectFault(Fault{Route: "/v2/endpoints", Status: 500}), "Routes()")
	require.ErrorContains(t, s.InjectFault(Fault{Method: "PATCH", Route: getRoute, Status: 500}), "no route")
	require.ErrorContains(t, s.InjectFault(Fault{Route: getRoute}), "no effect")
	require.ErrorContains(t, s.InjectFault(Fault{Status: 42}), "not an HTTP status")
	require.ErrorContains(t, s.InjectFault(Fault{Status: 500, Probability: 2}), "probability")
	assert.Contains(t, s.Routes(), "GET "+getRoute)
	assert.Contains(t, s.Routes(), "POST /e/{id}/v1/chat/completions")
}
