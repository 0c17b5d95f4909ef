package hfapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scripted answers requests from a list of behaviours, one per request, repeating the last, and counts them.
type scripted struct {
	mu    sync.Mutex
	steps []func(w http.ResponseWriter, r *http.Request)
	n     map[string]int
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	key := r.Method + " " + r.URL.Path
	i := 0
	for _, v := range s.n {
		i += v
	}
	s.n[key]++
	step := s.steps[min(i, len(s.steps)-1)]
	s.mu.Unlock()
	step(w, r)
}

func (s *scripted) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[key]
}

func newScripted(t *testing.T, steps ...func(w http.ResponseWriter, r *http.Request)) (*scripted, *httptest.Server) {
	s := &scripted{steps: steps, n: map[string]int{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func status(code int, headers ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
		w.Write([]byte(`{"error":"status ` + http.StatusText(code) + `"}`))
	}
}

func okEndpoint(t *testing.T) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) { serveFixture(t, w, "ie-endpoint-running.json") }
}

// hangUp closes the connection without an answer (the client sees EOF / connection reset).
func hangUp(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

const getPath = "GET /v2/endpoint/acme/my-endpoint-name"

func TestReadsRetryTransientStatuses(t *testing.T) {
	for _, code := range []int{429, 502, 503, 504} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			s, srv := newScripted(t, status(code), status(code), okEndpoint(t))
			c, clk := newTestClient(t, srv)
			ep, err := c.Get(t.Context(), "acme", "my-endpoint-name")
			require.NoError(t, err)
			assert.Equal(t, "my-endpoint-name", ep.Name)
			assert.Equal(t, 3, s.count(getPath))
			sleeps := clk.Sleeps()
			require.Len(t, sleeps, 2)
			assert.LessOrEqual(t, sleeps[0], c.retry.BaseDelay, "first backoff within the base delay")
			assert.Greater(t, sleeps[1], time.Duration(0))
		})
	}
}

func TestReadsRetryConnectionDrops(t *testing.T) {
	s, srv := newScripted(t, hangUp, okEndpoint(t))
	c, _ := newTestClient(t, srv)
	_, err := c.Get(t.Context(), "acme", "my-endpoint-name")
	require.NoError(t, err)
	assert.Equal(t, 2, s.count(getPath))
}

func TestRetryAfterIsHonoured(t *testing.T) {
	t.Run("seconds", func(t *testing.T) {
		_, srv := newScripted(t, status(429, "Retry-After", "7"), okEndpoint(t))
		c, clk := newTestClient(t, srv)
		_, err := c.Get(t.Context(), "acme", "my-endpoint-name")
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{7 * time.Second}, clk.Sleeps())
	})
	t.Run("http date", func(t *testing.T) {
		at := newFakeClock().Now().Add(3 * time.Second).Format(http.TimeFormat)
		_, srv := newScripted(t, status(503, "Retry-After", at), okEndpoint(t))
		c, clk := newTestClient(t, srv)
		_, err := c.Get(t.Context(), "acme", "my-endpoint-name")
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{3 * time.Second}, clk.Sleeps())
	})
	t.Run("capped by MaxDelay", func(t *testing.T) {
		_, srv := newScripted(t, status(429, "Retry-After", "3600"), okEndpoint(t))
		c, clk := newTestClient(t, srv, func(cfg *Config) { cfg.Retry = RetryPolicy{MaxDelay: 2 * time.Second} })
		_, err := c.Get(t.Context(), "acme", "my-endpoint-name")
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{2 * time.Second}, clk.Sleeps())
	})
}

func TestRetriesAreBounded(t *testing.T) {
	t.Run("attempts", func(t *testing.T) {
		s, srv := newScripted(t, status(503))
		c, _ := newTestClient(t, srv, func(cfg *Config) { cfg.Retry = RetryPolicy{MaxAttempts: 3} })
		_, err := c.Get(t.Context(), "acme", "my-endpoint-name")
		var apiErr *APIError
		require.True(t, errors.As(err, &apiErr))
		assert.Equal(t, 503, apiErr.Status)
		assert.Equal(t, 3, s.count(getPath))
	})
	t.Run("total time", func(t *testing.T) {
		s, srv := newScripted(t, status(429, "Retry-After", "8"))
		c, _ := newTestClient(t, srv, func(cfg *Config) {
			cfg.Retry = RetryPolicy{MaxAttempts: 10, MaxElapsed: 20 * time.Second}
		})
		_, err := c.Get(t.Context(), "acme", "my-endpoint-name")
		assert.True(t, IsRateLimited(err))
		assert.Equal(t, 3, s.count(getPath), "8s + 8s fit in 20s, a third wait would not")
	})
	t.Run("not on 4xx", func(t *testing.T) {
		s, srv := newScripted(t, status(404))
		c, _ := newTestClient(t, srv)
		_, err := c.Get(t.Context(), "acme", "my-endpoint-name")
		assert.True(t, IsNotFound(err))
		assert.Equal(t, 1, s.count(getPath))
	})
	t.Run("cancelled by ctx", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		s, srv := newScripted(t, func(w http.ResponseWriter, r *http.Request) { cancel(); status(503)(w, r) })
		c, _ := newTestClient(t, srv)
		_, err := c.Get(ctx, "acme", "my-endpoint-name")
		require.Error(t, err)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 1, s.count(getPath))
	})
}

func TestMutationsAreNeverRepeated(t *testing.T) {
	spec := CreateSpec{Name: "my-endpoint-name", Repository: "gpt2", Framework: "pytorch", Accelerator: "cpu",
		InstanceType: "intel-icl", InstanceSize: "x2", Vendor: "aws", Region: "us-east-1"}
	ops := []struct {
		key  string
		call func(c *Client) error
	}{
		{"POST /v2/endpoint/acme", func(c *Client) error { _, err := c.Create(t.Context(), "acme", spec); return err }},
		{"PUT /v2/endpoint/acme/e", func(c *Client) error {
			_, err := c.Update(t.Context(), "acme", "e", UpdateSpec{MaxReplica: ptr(2)})
			return err
		}},
		{"POST /v2/endpoint/acme/e/pause", func(c *Client) error { _, err := c.Pause(t.Context(), "acme", "e"); return err }},
		{"POST /v2/endpoint/acme/e/resume", func(c *Client) error { _, err := c.Resume(t.Context(), "acme", "e", true); return err }},
		{"POST /v2/endpoint/acme/e/scale-to-zero", func(c *Client) error { _, err := c.ScaleToZero(t.Context(), "acme", "e"); return err }},
	}
	for _, failure := range []struct {
		name string
		step func(http.ResponseWriter, *http.Request)
	}{{"503", status(503)}, {"429 with Retry-After", status(429, "Retry-After", "1")}, {"502", status(502)}} {
		for _, op := range ops {
			t.Run(failure.name+" "+op.key, func(t *testing.T) {
				s, srv := newScripted(t, failure.step, okEndpoint(t))
				c, clk := newTestClient(t, srv)
				require.Error(t, op.call(c))
				assert.Equal(t, 1, s.count(op.key))
				assert.Empty(t, clk.Sleeps())
			})
		}
	}
}

func TestCreateAfterConnectionLossChecksByName(t *testing.T) {
	spec := CreateSpec{Name: "my-endpoint-name", Repository: "gpt2", Framework: "pytorch", Accelerator: "cpu",
		InstanceType: "intel-icl", InstanceSize: "x2", Vendor: "aws", Region: "us-east-1"}
	t.Run("created", func(t *testing.T) {
		s, srv := newScripted(t, hangUp, okEndpoint(t))
		c, _ := newTestClient(t, srv)
		ep, err := c.Create(t.Context(), "acme", spec)
		require.NoError(t, err, "the endpoint exists, so the create succeeded")
		assert.Equal(t, "my-endpoint-name", ep.Name)
		assert.Equal(t, 1, s.count("POST /v2/endpoint/acme"))
		assert.Equal(t, 1, s.count(getPath))
	})
	t.Run("same name, other endpoint", func(t *testing.T) {
		_, srv := newScripted(t, hangUp, okEndpoint(t))
		c, _ := newTestClient(t, srv)
		other := spec
		other.Repository = "someone/else"
		_, err := c.Create(t.Context(), "acme", other)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "does not match the requested configuration")
	})
	t.Run("not created", func(t *testing.T) {
		s, srv := newScripted(t, hangUp, status(404))
		c, _ := newTestClient(t, srv)
		_, err := c.Create(t.Context(), "acme", spec)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "was not created")
		assert.Equal(t, 1, s.count("POST /v2/endpoint/acme"))
	})
	t.Run("unknown", func(t *testing.T) {
		s, srv := newScripted(t, hangUp, status(403))
		c, _ := newTestClient(t, srv)
		_, err := c.Create(t.Context(), "acme", spec)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "may or may not have been created")
		assert.Equal(t, 1, s.count("POST /v2/endpoint/acme"))
	})
}

// TestNoticesReportRetriesAndLostCreates: a caller that asked for notices
// hears of each retry and of a create whose answer was lost, as they happen.
func TestNoticesReportRetriesAndLostCreates(t *testing.T) {
	var got []Notice
	ctx := WithNotices(t.Context(), func(n Notice) { got = append(got, n) })
	_, srv := newScripted(t, status(429, "Retry-After", "2"), status(503), okEndpoint(t))
	c, _ := newTestClient(t, srv)
	_, err := c.Get(ctx, "acme", "my-endpoint-name")
	require.NoError(t, err)
	require.Len(t, got, 2, "one notice per retry")
	assert.Equal(t, slog.LevelWarn, got[0].Level)
	assert.Equal(t, "get endpoint acme/my-endpoint-name: HTTP 429; retrying in 2s (attempt 2 of 4)", got[0].Message)
	assert.Contains(t, got[1].Message, "HTTP 503; retrying in")
	assert.NotContains(t, got[0].Message+got[1].Message, testToken)

	got = nil
	_, srv = newScripted(t, hangUp, okEndpoint(t))
	c, _ = newTestClient(t, srv)
	_, err = c.Create(ctx, "acme", CreateSpec{Name: "my-endpoint-name", Repository: "gpt2", Framework: "pytorch",
		Accelerator: "cpu", InstanceType: "intel-icl", InstanceSize: "x2", Vendor: "aws", Region: "us-east-1"})
	require.NoError(t, err)
	require.NotEmpty(t, got)
	assert.Contains(t, got[0].Message, "create endpoint acme/my-endpoint-name: no answer")
	assert.Contains(t, got[0].Message, "never sending it twice")

	got = nil
	_, err = c.Get(t.Context(), "acme", "my-endpoint-name")
	require.NoError(t, err)
	assert.Empty(t, got, "a context without WithNotices hears nothing")
}

func TestRequestHeaders(t *testing.T) {
	var got atomic.Value
	_, srv := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Clone())
		okEndpoint(t)(w, r)
	})
	c, _ := newTestClient(t, srv, func(cfg *Config) { cfg.UserAgent = "ua/1" })
	_, err := c.Get(t.Context(), "acme", "my-endpoint-name")
	require.NoError(t, err)
	h := got.Load().(http.Header)
	assert.Equal(t, "Bearer "+testToken, h.Get("Authorization"))
	assert.Equal(t, "ua/1", h.Get("User-Agent"))
}

func TestPathSegmentsAreEscaped(t *testing.T) {
	s, srv := newScripted(t, okEndpoint(t))
	c, _ := newTestClient(t, srv)
	_, err := c.Get(t.Context(), "acme", "../x?y")
	var invalid *ValidationError
	require.ErrorAs(t, err, &invalid, "such a name is refused before any request")
	s.mu.Lock()
	assert.Empty(t, s.n, "no request was sent")
	s.mu.Unlock()
	// Were one to get through, it would stay one escaped segment.
	u := endpointURL(c.api, "endpoint", "acme", "../x?y")
	assert.Equal(t, "/v2/endpoint/acme/..%2Fx%3Fy", u.EscapedPath())
}

// stall answers nothing until the client gives up on the request.
func stall(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func TestReadsRetryAfterTheHTTPClientTimesOut(t *testing.T) {
	s, srv := newScripted(t, stall, okEndpoint(t))
	hc := srv.Client()
	hc.Timeout = 50 * time.Millisecond
	c, _ := newTestClient(t, srv, func(cfg *Config) { cfg.HTTPClient = hc })
	ep, err := c.Get(t.Context(), "acme", "my-endpoint-name")
	require.NoError(t, err)
	assert.Equal(t, "my-endpoint-name", ep.Name)
	assert.Equal(t, 2, s.count(getPath), "the timed-out read is sent again")
}

func TestReadsStopWhenTheCallersDeadlinePasses(t *testing.T) {
	s, srv := newScripted(t, stall, okEndpoint(t))
	c, _ := newTestClient(t, srv)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Get(ctx, "acme", "my-endpoint-name")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 1, s.count(getPath), "the caller gave up: no retry")
}
