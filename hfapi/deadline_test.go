package hfapi

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hungUpstream accepts connections and never answers, like a wedged load balancer. It counts the
// connections it accepted and, by their request line, the requests of each method.
type hungUpstream struct {
	ln       net.Listener
	accepted atomic.Int64
	mu       sync.Mutex
	conns    []net.Conn
	methods  map[string]int
}

// requests returns how many requests of method arrived, once every accepted connection's request
// line has been read.
func (h *hungUpstream) requests(t *testing.T, method string) int {
	t.Helper()
	read := func() int {
		h.mu.Lock()
		defer h.mu.Unlock()
		n := 0
		for _, c := range h.methods {
			n += c
		}
		return n
	}
	require.Eventually(t, func() bool { return int64(read()) == h.accepted.Load() }, 10*time.Second, time.Millisecond)
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.methods[method]
}

func newHungUpstream(t *testing.T) *hungUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h := &hungUpstream{ln: ln, methods: map[string]int{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.accepted.Add(1)
			h.mu.Lock()
			h.conns = append(h.conns, c)
			h.mu.Unlock()
			go func() {
				line, _ := bufio.NewReader(c).ReadString(' ') // "" when the client gave up before sending
				h.mu.Lock()
				h.methods[strings.TrimSpace(line)]++
				h.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, c := range h.conns {
			_ = c.Close()
		}
	})
	return h
}

func (h *hungUpstream) url() string { return "http://" + h.ln.Addr().String() }

// shortTimeouts makes the deadlines short enough for a test; what is asserted is that calls end with a
// *TimeoutError, never how long they took.
var shortTimeouts = Timeouts{Request: 50 * time.Millisecond, Inference: 50 * time.Millisecond, StreamIdle: 50 * time.Millisecond}

func hungClient(t *testing.T, h *hungUpstream) *Client {
	t.Helper()
	c, err := New(Config{Token: testToken, APIBase: h.url() + "/v2", HubBase: h.url(), CatalogBase: h.url() + "/api/catalog",
		Namespace: "acme", Timeouts: shortTimeouts, MaxHourlyCost: NoCostCeiling,
		Retry: RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}})
	require.NoError(t, err)
	return c
}

func TestRequestsToAHungUpstreamEndAtTheirDeadline(t *testing.T) {
	cases := []struct {
		name    string
		call    func(ctx context.Context, c *Client) error
		retried bool
	}{
		{"get (a read, retried)", func(ctx context.Context, c *Client) error {
			_, err := c.Get(ctx, "acme", "ep")
			return err
		}, true},
		{"whoami", func(ctx context.Context, c *Client) error {
			_, err := c.Whoami(ctx)
			return err
		}, true},
		{"pause (a mutation, never repeated)", func(ctx context.Context, c *Client) error {
			_, err := c.Pause(ctx, "acme", "ep")
			return err
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHungUpstream(t)
			err := tc.call(t.Context(), hungClient(t, h))
			var te *TimeoutError
			require.ErrorAs(t, err, &te)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.False(t, te.Body)
			assert.Contains(t, err.Error(), "did not answer within 50ms")
			assert.NotContains(t, err.Error(), testToken)
			if tc.retried {
				assert.Greater(t, h.accepted.Load(), int64(1), "a timed-out read is tried again")
			} else {
				assert.Equal(t, 1, h.requests(t, http.MethodPost), "a timed-out mutation is not repeated")
				assert.Contains(t, err.Error(), "reading the endpoint failed", "then the endpoint is read to learn what happened")
			}
		})
	}
}

func TestAnAnswerThatGoesSilentEndsAtTheIdleDeadline(t *testing.T) {
	silent := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"name":`))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
	_, srv := newScripted(t, silent)
	c, _ := newTestClient(t, srv, func(cfg *Config) {
		cfg.Timeouts = shortTimeouts
		cfg.Retry = RetryPolicy{MaxAttempts: 1}
	})
	_, err := c.Get(t.Context(), "acme", "my-endpoint-name")
	var te *TimeoutError
	require.ErrorAs(t, err, &te)
	assert.True(t, te.Body, "the headers came, the body stopped")
	assert.Contains(t, err.Error(), "stopped sending its answer")
}

func TestInferenceOnAHungEndpointEndsAtItsDeadline(t *testing.T) {
	h := newHungUpstream(t)
	c := hungClient(t, h)
	ep := &Endpoint{Name: "ep", Status: Status{State: StateRunning, URL: h.url()}}
	_, err := c.TextGeneration(t.Context(), ep, TextGenerationRequest{Inputs: "Hi"}, CallOptions{})
	var te *TimeoutError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 50*time.Millisecond, te.After)

	// A stream that sends a token and then goes silent ends too.
	d := newDataPlane(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte("data: {\"token\":{\"id\":1,\"text\":\"a\",\"logprob\":0,\"special\":false}}\n\n"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	c2, _ := newTestClient(t, d.srv, func(cfg *Config) { cfg.Timeouts = shortTimeouts })
	var tokens atomic.Int64
	_, err = c2.TextGenerationStream(t.Context(), d.endpoint(StateRunning), TextGenerationRequest{Inputs: "Hi"}, CallOptions{},
		func(StreamToken) { tokens.Add(1) })
	require.ErrorAs(t, err, &te)
	assert.True(t, te.Body)
	assert.Equal(t, int64(1), tokens.Load(), "the token before the silence was delivered")
}

func TestTheCallersCancellationEndsAHungRequestAtOnce(t *testing.T) {
	h := newHungUpstream(t)
	c, err := New(Config{Token: testToken, APIBase: h.url() + "/v2", HubBase: h.url(), Namespace: "acme"}) // default 30 s deadlines
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.Get(ctx, "acme", "ep")
		done <- err
	}()
	require.Eventually(t, func() bool { return h.accepted.Load() == 1 }, 10*time.Second, 5*time.Millisecond)
	cancel()
	err = <-done
	require.ErrorIs(t, err, context.Canceled)
	var te *TimeoutError
	assert.NotErrorAs(t, err, &te, "a cancellation is not reported as a timeout")
}
