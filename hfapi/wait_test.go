package hfapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// phase is one scripted answer of GET endpoint: state, replicas, whether status.url is set, and what
// the health route answers.
type phase struct {
	state        State
	ready, total int
	url          bool
	health       int
	code         int // when set, GET answers this status with Retry-After: 8 instead
}

// lifecycle is a fake API whose endpoint walks through phases, one per GET (the last repeats).
type lifecycle struct {
	mu     sync.Mutex
	phases []phase
	gets   int
	health int
	auth   string
	srv    *httptest.Server
}

func newLifecycle(t *testing.T, phases ...phase) *lifecycle {
	l := &lifecycle{phases: phases}
	l.srv = httptest.NewServer(http.HandlerFunc(l.serve))
	t.Cleanup(l.srv.Close)
	return l
}

func (l *lifecycle) current() phase {
	return l.phases[min(max(l.gets-1, 0), len(l.phases)-1)]
}

func (l *lifecycle) serve(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.URL.Path == "/e/1/health" {
		l.health++
		l.auth = r.Header.Get("Authorization")
		w.WriteHeader(l.current().health)
		return
	}
	l.gets++
	p := l.current()
	if p.code != 0 {
		w.Header().Set("Retry-After", "8")
		w.WriteHeader(p.code)
		w.Write([]byte(`{"error":"slow down"}`))
		return
	}
	status := map[string]any{"state": p.state, "message": "m", "readyReplica": p.ready, "targetReplica": p.total,
		"createdAt": "2024-01-01T00:00:00Z", "updatedAt": "2024-01-01T00:00:00Z"}
	if p.url {
		status["url"] = l.srv.URL + "/e/1"
	}
	json.NewEncoder(w).Encode(map[string]any{"name": "ep", "type": "protected", "healthRoute": "/health",
		"model":  map[string]any{"repository": "gpt2", "revision": nil, "task": "text-generation", "framework": "pytorch"},
		"status": status})
}

type progressLog struct {
	mu  sync.Mutex
	got []Progress
}

func (p *progressLog) add(pr Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, pr)
}

func (p *progressLog) summary() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, pr := range p.got {
		out = append(out, fmt.Sprintf("%s@%s hb=%t", pr.State, pr.Elapsed, pr.Heartbeat))
	}
	return out
}

func TestWaitReportsProgressUntilHealthy(t *testing.T) {
	phases := []phase{{state: StatePending, total: 1}}
	for range 6 {
		phases = append(phases, phase{state: StateInitializing, total: 1})
	}
	phases = append(phases, phase{state: StateRunning, ready: 1, total: 1, url: true, health: 503},
		phase{state: StateRunning, ready: 1, total: 1, url: true, health: 200})
	l := newLifecycle(t, phases...)
	c, clk := newTestClient(t, l.srv)
	var log progressLog
	ep, err := c.Wait(t.Context(), "acme", "ep", WaitOptions{Timeout: time.Minute, OnProgress: log.add})
	require.NoError(t, err)
	assert.Equal(t, StateRunning, ep.Status.State)
	assert.Equal(t, []string{
		"pending@0s hb=false",
		"initializing@1s hb=false",
		"initializing@6s hb=true",
		"running@7s hb=false",
		"running@8s hb=false",
	}, log.summary())
	assert.Equal(t, "initializing — 0/1 replicas ready", log.got[1].Message)
	assert.Contains(t, log.got[3].Message, "waiting for the health route")
	assert.Equal(t, 2, l.health)
	assert.Equal(t, "Bearer "+testToken, l.auth, "the health route gets the same auth as huggingface_hub sends")
	for _, d := range clk.Sleeps() {
		assert.LessOrEqual(t, d, time.Second, "transitional states poll fast")
	}
}

func TestWaitFailures(t *testing.T) {
	for _, tc := range []struct {
		state  State
		reason string
	}{{StateFailed, "failed to deploy"}, {StateUpdateFailed, "failed to update"}} {
		t.Run(string(tc.state), func(t *testing.T) {
			l := newLifecycle(t, phase{state: StateInitializing, total: 1}, phase{state: tc.state, total: 1})
			c, _ := newTestClient(t, l.srv)
			ep, err := c.Wait(t.Context(), "acme", "ep", WaitOptions{})
			var failed *EndpointFailedError
			require.True(t, errors.As(err, &failed), "got %v", err)
			assert.Equal(t, tc.reason, failed.Reason)
			assert.Contains(t, err.Error(), tc.reason)
			assert.Equal(t, tc.state, ep.Status.State)
		})
	}
}

func TestWaitTimesOutOnStableNotReadyStates(t *testing.T) {
	for _, p := range []phase{{state: StatePaused}, {state: StateScaledToZero, url: true, health: 200}} {
		t.Run(string(p.state), func(t *testing.T) {
			l := newLifecycle(t, p)
			c, clk := newTestClient(t, l.srv)
			var log progressLog
			_, err := c.Wait(t.Context(), "acme", "ep", WaitOptions{Timeout: 12 * time.Second, OnProgress: log.add})
			var timeout *WaitTimeoutError
			require.True(t, errors.As(err, &timeout), "got %v", err)
			require.NotNil(t, timeout.Last)
			assert.Equal(t, p.state, timeout.Last.Status.State)
			assert.Equal(t, 12*time.Second, timeout.Timeout)
			assert.Equal(t, []string{
				string(p.state) + "@0s hb=false", string(p.state) + "@5s hb=true", string(p.state) + "@10s hb=true",
			}, log.summary(), "a heartbeat at least every 5 s")
			assert.Equal(t, 0, l.health, "a non-running endpoint is never health-checked")
			assert.Equal(t, 3, l.gets, "stable states poll at the default interval")
			assert.Equal(t, 12*time.Second, clk.Now().Sub(newFakeClock().Now()))
		})
	}
}

func TestWaitHeartbeatsBetweenSlowPolls(t *testing.T) {
	l := newLifecycle(t, phase{state: StatePaused})
	c, _ := newTestClient(t, l.srv)
	var log progressLog
	_, err := c.Wait(t.Context(), "acme", "ep", WaitOptions{Timeout: 31 * time.Second, Poll: 30 * time.Second, OnProgress: log.add})
	require.Error(t, err)
	assert.Len(t, log.summary(), 7, "one report at 0 s and heartbeats at 5…30 s")
	assert.Equal(t, 2, l.gets)
}

func TestWaitCancelled(t *testing.T) {
	l := newLifecycle(t, phase{state: StateInitializing, total: 1})
	c, _ := newTestClient(t, l.srv)
	ctx, cancel := context.WithCancel(t.Context())
	_, err := c.Wait(ctx, "acme", "ep", WaitOptions{OnProgress: func(Progress) { cancel() }})
	require.ErrorIs(t, err, context.Canceled)
}

func TestWaitNotFound(t *testing.T) {
	_, srv := newScripted(t, status(404))
	c, _ := newTestClient(t, srv)
	_, err := c.Wait(t.Context(), "acme", "ghost", WaitOptions{})
	assert.True(t, IsNotFound(err))
}

func TestWaitSurvivesShortAPIOutage(t *testing.T) {
	running := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			return
		}
		body := string(fixtureBytes("ie-endpoint-running.json"))
		w.Write([]byte(strings.Replace(body, "https://vksrvs8pc1xnifhq.us-east-1.aws.endpoints.huggingface.cloud", "http://"+r.Host, 1)))
	}
	s, srv := newScripted(t, status(500), status(500), hangUp, running)
	c, _ := newTestClient(t, srv, func(cfg *Config) { cfg.Retry = RetryPolicy{MaxAttempts: 1} })
	ep, err := c.Wait(t.Context(), "acme", "my-endpoint-name", WaitOptions{Timeout: time.Minute})
	require.NoError(t, err)
	assert.Equal(t, StateRunning, ep.Status.State)
	assert.Equal(t, 4, s.count(getPath))

	s2, srv2 := newScripted(t, status(500))
	c2, _ := newTestClient(t, srv2)
	_, err = c2.Wait(t.Context(), "acme", "my-endpoint-name", WaitOptions{})
	require.Error(t, err)
	assert.Equal(t, maxWaitFailures+1, s2.count(getPath), "a lasting outage ends the wait")
}

// gaps are the times between consecutive progress reports, from the start of the wait.
func (p *progressLog) gaps() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []time.Duration
	prev := time.Duration(0)
	for _, pr := range p.got {
		out = append(out, pr.Elapsed-prev)
		prev = pr.Elapsed
	}
	return out
}

func TestWaitHeartbeatsThroughRetryAfter(t *testing.T) {
	phases := []phase{{state: StateInitializing, total: 1}}
	for range 6 {
		phases = append(phases, phase{code: http.StatusTooManyRequests})
	}
	phases = append(phases, phase{state: StateRunning, ready: 1, total: 1, url: true, health: 200})
	l := newLifecycle(t, phases...)
	c, clk := newTestClient(t, l.srv)
	var log progressLog
	ep, err := c.Wait(t.Context(), "acme", "ep", WaitOptions{OnProgress: log.add})
	require.NoError(t, err)
	assert.Equal(t, StateRunning, ep.Status.State)
	assert.Equal(t, 8, l.gets)
	require.Greater(t, len(log.got), 5, log.summary())
	for i, g := range log.gaps() {
		assert.LessOrEqual(t, g, heartbeatPeriod, "report %d of %v", i, log.summary())
	}
	assert.Contains(t, clk.Sleeps(), 3*time.Second, "a Retry-After of 8 s is slept in pieces between heartbeats")
}

func TestWaitTimeoutCutsRetryAfterShort(t *testing.T) {
	for _, tc := range []struct {
		name   string
		phases []phase
		last   State
	}{
		{"first poll", []phase{{code: http.StatusTooManyRequests}}, ""},
		{"later poll", []phase{{state: StateInitializing, total: 1}, {code: http.StatusTooManyRequests}}, StateInitializing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLifecycle(t, tc.phases...)
			c, clk := newTestClient(t, l.srv)
			var log progressLog
			_, err := c.Wait(t.Context(), "acme", "ep", WaitOptions{Timeout: 20 * time.Second, OnProgress: log.add})
			var timeout *WaitTimeoutError
			require.ErrorAs(t, err, &timeout)
			assert.Equal(t, 20*time.Second, timeout.Timeout)
			assert.Equal(t, 20*time.Second, clk.Now().Sub(newFakeClock().Now()), "the wait ends at its timeout, not after the retries")
			if tc.last == "" {
				assert.Nil(t, timeout.Last)
			} else {
				require.NotNil(t, timeout.Last)
				assert.Equal(t, tc.last, timeout.Last.Status.State)
			}
			require.NotEmpty(t, log.got)
			for i, g := range log.gaps() {
				assert.LessOrEqual(t, g, heartbeatPeriod, "report %d of %v", i, log.summary())
			}
			assert.GreaterOrEqual(t, log.got[len(log.got)-1].Elapsed, 15*time.Second)
			if tc.last == "" {
				assert.Nil(t, log.got[0].Endpoint)
				assert.Contains(t, log.got[0].Message, "has not been read yet")
			}
		})
	}
}

func TestWaitTimeoutCutsAHeldRequestShort(t *testing.T) {
	held := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // hold the poll like a stalled API until the client gives up
		case <-r.Context().Done():
		case <-held:
		}
	}))
	t.Cleanup(func() { close(held); srv.Close() })
	c, _ := newTestClient(t, srv)
	c.clock, c.heartbeat = realClock{}, 5*time.Millisecond // the request is held in real time
	beats := make(chan Progress, 100)
	_, err := c.Wait(t.Context(), "acme", "ep", WaitOptions{Timeout: 300 * time.Millisecond, OnProgress: func(p Progress) {
		select {
		case beats <- p:
		default:
		}
	}})
	var timeout *WaitTimeoutError
	require.ErrorAs(t, err, &timeout)
	require.NotEmpty(t, beats, "heartbeats while the request is held")
	p := <-beats
	assert.True(t, p.Heartbeat)
	assert.Nil(t, p.Endpoint)
}
