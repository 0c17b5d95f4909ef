package emulator

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestColdStartAnswers503ThenServes(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	url := urlOf(c.running("emulator-user", "cold"))
	code, _ := c.obj("POST", "/v2/endpoint/emulator-user/cold/scale-to-zero", nil)
	require.Equal(t, http.StatusOK, code)

	resp, data := c.do("POST", url, map[string]any{"inputs": "Hi"})
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Contains(t, string(data), "scaled to zero")
	waking := c.get("emulator-user", "cold")
	assert.Equal(t, StateScaledToZero, stateOf(waking), "still scaled to zero while the replica starts")
	assert.Equal(t, msgScalingUp, dig(waking, "status", "message"))
	assert.EqualValues(t, 1, dig(waking, "status", "targetReplica"))
	assert.Equal(t, url, urlOf(waking))

	run := c.waitState("emulator-user", "cold", StateRunning)
	assert.Equal(t, url, urlOf(run))
	resp, _ = c.do("POST", url, map[string]any{"inputs": "Hi"})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestColdStartHoldsRequestWithScaleUpTimeout(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	url := urlOf(c.running("emulator-user", "held"))
	code, _ := c.obj("POST", "/v2/endpoint/emulator-user/held/scale-to-zero", nil)
	require.Equal(t, http.StatusOK, code)

	resp, data := c.do("POST", url+"/generate", map[string]any{"inputs": "Hi", "parameters": map[string]any{"max_new_tokens": 2}}, "X-Scale-Up-Timeout", "30")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "held until a replica is ready: %s", data)
	assert.Equal(t, StateRunning, stateOf(c.get("emulator-user", "held")))
}

func TestColdStartHeldRequestTimesOut(t *testing.T) {
	s := start(t, Options{Timings: Timings{Deploy: 30 * time.Millisecond, ScaleUp: time.Hour}})
	c := newClient(t, s, s.Token())
	url := urlOf(c.running("emulator-user", "slow"))
	code, _ := c.obj("POST", "/v2/endpoint/emulator-user/slow/scale-to-zero", nil)
	require.Equal(t, http.StatusOK, code)
	resp, _ := c.do("POST", url, map[string]any{"inputs": "Hi"}, "X-Scale-Up-Timeout", "0.05")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

func TestCloseReleasesHeldRequests(t *testing.T) {
	s, err := Start("127.0.0.1:0", Options{Timings: Timings{Deploy: 30 * time.Millisecond, ScaleUp: time.Hour}})
	require.NoError(t, err)
	c := newClient(t, s, s.Token())
	url := urlOf(c.running("emulator-user", "slow"))
	code, _ := c.obj("POST", "/v2/endpoint/emulator-user/slow/scale-to-zero", nil)
	require.Equal(t, http.StatusOK, code)
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", url, nil)
		req.Header.Set("Authorization", "Bearer "+s.Token())
		req.Header.Set("X-Scale-Up-Timeout", "3600")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	require.Eventually(t, func() bool { return s.Requests("POST", "/e/{id}") == 1 }, waitFor, time.Millisecond)
	require.NoError(t, s.Close())
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatal("a held request outlived Close")
	}
}

func TestIdleEndpointScalesToZero(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	// scaleToZeroTimeout 2 "minutes" of 5ms each.
	ep := c.running("emulator-user", "idle", map[string]any{"compute": map[string]any{"scaling": map[string]any{"minReplica": 0, "scaleToZeroTimeout": 2}}})
	z := c.waitState("emulator-user", "idle", StateScaledToZero)
	assert.Equal(t, urlOf(ep), urlOf(z))
	assert.Equal(t, msgScaledToZero, dig(z, "status", "message"))
	assert.EqualValues(t, 0, dig(z, "status", "readyReplica"))

	// An endpoint that keeps a replica never scales to zero on its own: it is still running after an
	// idle endpoint created after it has scaled to zero.
	c.running("emulator-user", "busy")
	c.running("emulator-user", "idle2", map[string]any{"compute": map[string]any{"scaling": map[string]any{"minReplica": 0, "scaleToZeroTimeout": 2}}})
	c.waitState("emulator-user", "idle2", StateScaledToZero)
	assert.Equal(t, StateRunning, stateOf(c.get("emulator-user", "busy")))
}

func TestTrafficKeepsEndpointAwake(t *testing.T) {
	// One idle "minute" is 250ms: far longer than the gap between two loopback requests.
	s := start(t, Options{Timings: Timings{Deploy: 30 * time.Millisecond, IdleMinute: 250 * time.Millisecond}})
	c := newClient(t, s, s.Token())
	url := urlOf(c.running("emulator-user", "warm", map[string]any{"compute": map[string]any{"scaling": map[string]any{"minReplica": 0, "scaleToZeroTimeout": 1}}}))
	// Requests in a tight loop for several idle windows: each one resets the idle clock.
	deadline := time.Now().Add(600 * time.Millisecond)
	for time.Now().Before(deadline) {
		resp, _ := c.do("GET", url+"/health", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "scaled to zero despite traffic")
	}
	c.waitState("emulator-user", "warm", StateScaledToZero)
}

func TestPausedEndpointURLIsInvalidState(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	url := urlOf(c.running("emulator-user", "pz"))
	code, _ := c.obj("POST", "/v2/endpoint/emulator-user/pz/pause", nil)
	require.Equal(t, http.StatusOK, code)
	resp, data := c.do("POST", url, map[string]any{"inputs": "Hi"})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, string(data), "Bad Request: Invalid state")
	assert.Equal(t, StatePaused, stateOf(c.get("emulator-user", "pz")), "a request does not wake a paused endpoint")

	code, _ = c.obj("DELETE", "/v2/endpoint/emulator-user/pz", nil)
	require.Equal(t, http.StatusAccepted, code)
	resp, _ = c.do("POST", url, map[string]any{"inputs": "Hi"})
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestNotReadyEndpointAnswers503(t *testing.T) {
	s := start(t, Options{Timings: Timings{Deploy: time.Hour, Update: time.Hour}})
	c := newClient(t, s, s.Token())
	code, _ := c.obj("POST", "/v2/endpoint/emulator-user", createBody("slow"))
	require.Equal(t, http.StatusAccepted, code)
	// The URL is not published yet, but it is stable: find it through the store.
	s.store.mu.RLock()
	id := s.store.byKey["emulator-user/slow"].id
	s.store.mu.RUnlock()
	resp, data := c.do("GET", s.URL+"/e/"+id+"/health", nil)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Contains(t, string(data), "pending")
}

func TestResumeScaledToZeroWakesIt(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	url := urlOf(c.running("emulator-user", "rz"))
	code, _ := c.obj("POST", "/v2/endpoint/emulator-user/rz/scale-to-zero", nil)
	require.Equal(t, http.StatusOK, code)
	code, m := c.obj("POST", "/v2/endpoint/emulator-user/rz/resume", nil)
	require.Equal(t, http.StatusOK, code, "%v", m)
	assert.Equal(t, url, urlOf(m))
	c.waitState("emulator-user", "rz", StateRunning)
}

func TestSchedulerCloseWaitsAndStops(t *testing.T) {
	s := newScheduler()
	var mu sync.Mutex
	ran := 0
	for range 20 {
		s.after(time.Hour, func() { mu.Lock(); ran++; mu.Unlock() })
	}
	fired := make(chan struct{})
	s.after(0, func() { close(fired) })
	<-fired
	s.close()
	assert.Nil(t, s.after(0, func() { t.Error("ran after close") }))
	mu.Lock()
	assert.Equal(t, 0, ran)
	mu.Unlock()
}
