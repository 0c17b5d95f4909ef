package hfapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clock is the time source of retries and waits; tests replace it to run without real delays.
type clock interface {
	Now() time.Time
	// Sleep waits d or until ctx ends (returning ctx.Err()).
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// request is one HTTP call. Every call of the package goes through Client.send; DELETE is passed by
// Delete only, after its confirmation token is redeemed (guard.go).
type request struct {
	op      string // for errors: "get endpoint ns/name"
	method  string
	url     *url.URL
	body    any // JSON-encoded when non-nil
	header  http.Header
	noRetry bool // a GET that must not be retried (e.g. a health probe inside a polling loop)
	// endpoint marks a request to an endpoint's own URL (inference, health): its redirects are
	// followed, without the token when they leave the URL's origin. Management API redirects
	// are never followed (redirect.go).
	endpoint bool
	// readOnly marks a POST that only reads (a metric series query): it is retried like a GET.
	readOnly bool
	// pace, when set, replaces the clock's Sleep between retries, so that a caller can report
	// progress during a long Retry-After and end the retries at its own deadline (Wait).
	pace func(ctx context.Context, d time.Duration) error
	// timeout, when set, replaces the deadline for the answer's headers (deadline.go).
	timeout time.Duration
}

// endpointURL joins escaped path segments under base.
func endpointURL(base *url.URL, segments ...string) *url.URL {
	u := *base
	for _, s := range segments {
		u.Path = strings.TrimRight(u.Path, "/") + "/" + s
	}
	u.RawPath = ""
	esc := make([]string, len(segments))
	for i, s := range segments {
		esc[i] = url.PathEscape(s)
	}
	if len(esc) > 0 {
		u.RawPath = strings.TrimRight(base.EscapedPath(), "/") + "/" + strings.Join(esc, "/")
	}
	return &u
}

// response is a fully read answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// maxBody bounds what is read from any response (embeddings of a large batch are the biggest).
const maxBody = 64 << 20

// send performs req, retrying idempotent reads on transient failures, and returns a 2xx response or
// an error (*APIError for an HTTP error status).
func (c *Client) send(ctx context.Context, req request) (*response, error) {
	resp, err := c.open(ctx, req)
	if err != nil {
		return nil, err
	}
	return c.readResponse(req.op, resp)
}

// readResponse reads a whole answer. A server that echoes the token back gets it redacted, so that it
// cannot reach a result or an error.
func (c *Client) readResponse(op string, resp *http.Response) (*response, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%s: reading response: %w", op, err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: c.scrub(body)}, nil
}

// scrub replaces the token in b, as is or encoded (JSON escapes, percent-encoding, base64).
func (c *Client) scrub(b []byte) []byte { return c.secrets.Bytes(b) }

// open performs req with retries and returns the live 2xx response (the caller closes the body).
func (c *Client) open(ctx context.Context, req request) (*http.Response, error) {
	var payload []byte
	if req.body != nil {
		var err error
		if payload, err = json.Marshal(req.body); err != nil {
			return nil, fmt.Errorf("%s: encoding request: %w", req.op, err)
		}
	}
	retryable := (req.method == http.MethodGet || req.readOnly) && !req.noRetry
	policy := c.retry
	start := c.clock.Now()
	for attempt := 1; ; attempt++ {
		resp, err := c.once(ctx, req, payload)
		if err == nil && resp.StatusCode < 300 {
			return resp, nil
		}
		var retryAfter time.Duration
		var final error
		var why string
		if err != nil {
			final = fmt.Errorf("%s: %w", req.op, err)
			retryable = retryable && transient(err)
			why = err.Error()
		} else {
			why = fmt.Sprintf("HTTP %d", resp.StatusCode)
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			final = c.newAPIError(req.op, resp, body)
			retryable = retryable && retryStatus(resp.StatusCode)
			retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.clock.Now())
		}
		if !retryable || attempt >= policy.MaxAttempts || ctx.Err() != nil {
			return nil, final
		}
		delay := backoff(policy, attempt, retryAfter)
		if c.clock.Now().Add(delay).Sub(start) > policy.MaxElapsed {
			return nil, final
		}
		notify(ctx, slog.LevelWarn, "%s: %s; retrying in %s (attempt %d of %d)", req.op, why, delay.Round(time.Millisecond), attempt+1, policy.MaxAttempts)
		sleep := c.clock.Sleep
		if req.pace != nil {
			sleep = req.pace
		}
		if err := sleep(ctx, delay); err != nil {
			return nil, fmt.Errorf("%w (gave up retrying: %w)", final, err)
		}
	}
}

func (c *Client) once(ctx context.Context, req request, payload []byte) (*http.Response, error) {
	resp, err := c.doWithDeadlines(ctx, req.op, c.deadlinesOf(req), func(ctx context.Context) (*http.Request, error) {
		var body io.Reader
		if payload != nil {
			body = bytes.NewReader(payload)
		}
		hr, err := http.NewRequestWithContext(withRedirectPolicy(ctx, req.endpoint), req.method, req.url.String(), body)
		if err != nil {
			return nil, err
		}
		for k, vs := range req.header {
			hr.Header[k] = vs
		}
		hr.Header.Set("Authorization", "Bearer "+c.cfg.Token)
		hr.Header.Set("User-Agent", c.cfg.UserAgent)
		if payload != nil {
			hr.Header.Set("Content-Type", "application/json")
		}
		if hr.Header.Get("Accept") == "" {
			hr.Header.Set("Accept", "application/json")
		}
		return hr, nil
	})
	if err != nil {
		return nil, scrubURLError(err)
	}
	recordRequestID(ctx, req, string(c.scrub([]byte(resp.Header.Get("X-Request-Id")))))
	return resp, nil
}

// scrubURLError drops a query string from transport errors; the token is never in a URL, but
// anything a caller passed in a query should not be echoed either.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery, u.User = "", nil
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}

func retryStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// transient reports whether a transport error is worth retrying for an idempotent request.
// The caller's own cancellation is checked by the retry loop (ctx.Err), so a deadline error
// seen here with the caller's context still live is the HTTP client's per-request timeout
// (http.Client.Timeout errors satisfy errors.Is(err, context.DeadlineExceeded)): transient.
func transient(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// parseRetryAfter reads Retry-After as seconds or an HTTP date; 0 when absent or unparseable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// backoff is the delay before attempt+1: the server's Retry-After if given, else exponential with
// equal jitter (half fixed, half random); both capped by MaxDelay.
func backoff(p RetryPolicy, attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, p.MaxDelay)
	}
	d := p.BaseDelay << (attempt - 1)
	if d <= 0 || d > p.MaxDelay {
		d = p.MaxDelay
	}
	return d/2 + rand.N(d/2+1)
}
