package hfapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Default upstream deadlines: an upstream that accepts a connection and never answers must not hold
// a call (and the caller's slot on the server) for ever.
const (
	// DefaultRequestTimeout bounds a management, Hub or catalog request: the wait for the answer's
	// headers, then every silence while its body is read.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultInferenceTimeout bounds the wait for an inference answer's headers (a long generation
	// answers only when it is done, unless streamed).
	DefaultInferenceTimeout = 5 * time.Minute
	// DefaultStreamIdleTimeout bounds every silence while an inference answer (a stream of tokens
	// included) is read.
	DefaultStreamIdleTimeout = time.Minute
)

// Timeouts are a client's upstream deadlines. Zero fields take the defaults above.
type Timeouts struct {
	Request    time.Duration // management, Hub and catalog requests (default DefaultRequestTimeout)
	Inference  time.Duration // inference answers' headers (default DefaultInferenceTimeout)
	StreamIdle time.Duration // silence inside an inference answer (default DefaultStreamIdleTimeout)
}

func (t Timeouts) withDefaults() Timeouts {
	if t.Request <= 0 {
		t.Request = DefaultRequestTimeout
	}
	if t.Inference <= 0 {
		t.Inference = DefaultInferenceTimeout
	}
	if t.StreamIdle <= 0 {
		t.StreamIdle = DefaultStreamIdleTimeout
	}
	return t
}

// TimeoutError says an upstream did not answer, or went silent, within its deadline. It counts as
// a transient failure (reads are retried) and satisfies errors.Is(err, context.DeadlineExceeded).
type TimeoutError struct {
	Op    string        // the request, e.g. "get endpoint ns/name"
	After time.Duration // the deadline that ran out
	Body  bool          // the answer started but its body went silent
}

// Error names the request, the deadline and what to do.
func (e *TimeoutError) Error() string {
	what := "did not answer"
	if e.Body {
		what = "stopped sending its answer"
	}
	return fmt.Sprintf("%s: the upstream %s within %s; it may be overloaded or unreachable, try again later", e.Op, what, e.After)
}

// Timeout reports true (net.Error).
func (e *TimeoutError) Timeout() bool { return true }

// Temporary reports true (net.Error).
func (e *TimeoutError) Temporary() bool { return true }

// Unwrap makes the error a context.DeadlineExceeded.
func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

// deadlines are the two limits of one request: the wait for the headers, then each silence of the body.
type deadlines struct{ headers, idle time.Duration }

// deadlinesOf picks req's deadlines: inference ones for a request to an endpoint's URL, the
// management ones otherwise; req.timeout, when set, is the wait for the headers.
func (c *Client) deadlinesOf(req request) deadlines {
	d := deadlines{headers: c.timeouts.Request, idle: c.timeouts.Request}
	if req.endpoint {
		d = deadlines{headers: c.timeouts.Inference, idle: c.timeouts.StreamIdle}
	}
	if req.timeout > 0 {
		d.headers = req.timeout
	}
	return d
}

// doWithDeadlines sends hr (built on a context from withDeadline) and arms its deadlines: the
// request is cancelled when no headers come within d.headers, and the returned body is cancelled
// when a read waits longer than d.idle.
func (c *Client) doWithDeadlines(ctx context.Context, op string, d deadlines, build func(context.Context) (*http.Request, error)) (*http.Response, error) {
	rctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(d.headers, func() { cancel(&TimeoutError{Op: op, After: d.headers}) })
	hr, err := build(rctx)
	if err != nil {
		timer.Stop()
		cancel(nil)
		return nil, err
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		timer.Stop()
		err = causeOf(rctx, ctx, err)
		cancel(nil)
		return nil, err
	}
	body := &deadlineBody{rc: resp.Body, ctx: rctx, parent: ctx, cancel: cancel, timer: timer, idle: d.idle}
	timer.Stop()
	timer = time.AfterFunc(d.idle, func() { cancel(&TimeoutError{Op: op, After: d.idle, Body: true}) })
	body.timer = timer
	resp.Body = body
	return resp, nil
}

// causeOf is err, or the *TimeoutError that caused it when a deadline (not the caller) cancelled rctx.
func causeOf(rctx, parent context.Context, err error) error {
	var te *TimeoutError
	if parent.Err() == nil && errors.As(context.Cause(rctx), &te) {
		return te
	}
	return err
}

// deadlineBody is a response body whose reads are bounded by an idle deadline.
type deadlineBody struct {
	rc     io.ReadCloser
	ctx    context.Context // the request's context, cancelled by the deadline
	parent context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	idle   time.Duration
	once   sync.Once
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.idle)
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = causeOf(b.ctx, b.parent, err)
	}
	return n, err
}

func (b *deadlineBody) Close() error {
	err := b.rc.Close()
	b.once.Do(func() {
		b.timer.Stop()
		b.cancel(nil)
	})
	return err
}
