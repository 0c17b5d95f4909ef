package hfapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// WaitOptions tunes Wait.
type WaitOptions struct {
	Timeout    time.Duration  // 0 = no limit but ctx
	Poll       time.Duration  // interval in stable states (default 5s); transitions poll faster
	OnProgress func(Progress) // called on every change and at least every 5 s (Heartbeat)
}

// Progress reports what a wait (or a cold start) is doing.
type Progress struct {
	Endpoint  *Endpoint // latest state seen (nil before the first fetch: heartbeats of a slow first poll)
	State     State
	Message   string // e.g. "initializing — 0/1 replicas ready"
	Elapsed   time.Duration
	Heartbeat bool // nothing changed since the previous report
}

const (
	defaultPoll     = 5 * time.Second
	fastPoll        = time.Second
	heartbeatPeriod = 5 * time.Second
)

// Wait polls the endpoint until it is running, has a URL and its health route answers 200. It fails
// with *EndpointFailedError on failed/updateFailed and *WaitTimeoutError after opts.Timeout. A paused
// or scaled-to-zero endpoint never satisfies it (as in huggingface_hub): resume or call it first.
// A poll, its retries (a long Retry-After included) and its health check run within the time left
// before opts.Timeout, and heartbeats go on meanwhile. The name is checked before any request.
func (c *Client) Wait(ctx context.Context, namespace, name string, opts WaitOptions) (*Endpoint, error) {
	ns, err := c.target(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	now := c.clock.Now()
	w := waiter{c: c, ns: ns, name: name, opts: opts, start: now, lastSent: now}
	if w.opts.Poll <= 0 {
		w.opts.Poll = defaultPoll
	}
	return w.run(ctx)
}

type waiter struct {
	c        *Client
	ns, name string
	opts     WaitOptions
	start    time.Time
	last     *Endpoint
	healthy  bool
	failures int // consecutive failed polls

	mu       sync.Mutex // report: a poll's heartbeat goroutine reports too
	lastKey  string
	lastSent time.Time
}

// maxWaitFailures is how many polls in a row may fail transiently (after the client's own retries)
// before Wait gives up: a long deploy should survive a short API outage.
const maxWaitFailures = 5

// tolerate reports whether a failed poll should be retried at the next interval: server-side and
// transport failures are, a few times in a row; client errors (401, 404, …) and cancellation are not.
func (w *waiter) tolerate(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status < 500 && apiErr.Status != http.StatusTooManyRequests {
		return false
	}
	w.failures++
	return w.failures <= maxWaitFailures
}

func (w *waiter) lastState() State {
	if w.last == nil {
		return StatePending
	}
	return w.last.Status.State
}

func (w *waiter) run(ctx context.Context) (*Endpoint, error) {
	for {
		var ep *Endpoint
		healthy := false
		err := w.busy(ctx, func(ctx context.Context) error {
			var err error
			if ep, err = w.c.get(ctx, w.ns, w.name, w.pace); err != nil {
				return err
			}
			if ep.Status.State == StateRunning && ep.Status.URL != "" {
				healthy = w.c.healthy(ctx, ep)
			}
			return nil
		})
		var timeout *WaitTimeoutError
		if errors.As(err, &timeout) {
			return w.last, timeout
		}
		if err != nil {
			if !w.tolerate(ctx, err) {
				return w.last, fmt.Errorf("waiting for %s/%s: %w", w.ns, w.name, err)
			}
			if err := w.pause(ctx, w.lastState()); err != nil {
				return w.last, err
			}
			continue
		}
		w.failures = 0
		w.last, w.healthy = ep, healthy
		switch ep.Status.State {
		case StateFailed:
			return ep, &EndpointFailedError{Endpoint: ep, Reason: "failed to deploy"}
		case StateUpdateFailed:
			return ep, &EndpointFailedError{Endpoint: ep, Reason: "failed to update"}
		}
		w.report(ep, false)
		if ep.Status.State == StateRunning && w.healthy {
			return ep, nil
		}
		if err := w.pause(ctx, ep.Status.State); err != nil {
			return w.last, err
		}
	}
}

// busy runs one poll (its requests and their retries) within the time left before the timeout,
// reporting heartbeats while a request is outstanding: the API may hold a request, or ask for a
// long Retry-After (see pace), and the caller should still see progress. It returns a
// *WaitTimeoutError when the timeout ends the poll.
func (w *waiter) busy(ctx context.Context, poll func(context.Context) error) error {
	pctx := ctx
	if w.opts.Timeout > 0 {
		left := w.start.Add(w.opts.Timeout).Sub(w.c.clock.Now())
		if left <= 0 {
			return w.timeout()
		}
		var cancel context.CancelFunc
		pctx, cancel = context.WithTimeout(ctx, left)
		defer cancel()
	}
	stop := w.c.beatEvery(w.beatIfDue)
	err := poll(pctx)
	stop()
	if err != nil && ctx.Err() == nil && errors.Is(pctx.Err(), context.DeadlineExceeded) {
		return w.timeout() // the time left ran out during a request
	}
	return err
}

func (w *waiter) timeout() *WaitTimeoutError {
	return &WaitTimeoutError{Last: w.last, Timeout: w.opts.Timeout}
}

// pace is a poll's sleep between retries: heartbeats go on and the timeout ends it.
func (w *waiter) pace(ctx context.Context, d time.Duration) error {
	return w.sleepUntil(ctx, w.c.clock.Now().Add(d))
}

// pause sleeps until the next poll, emitting heartbeats at least every heartbeatPeriod.
func (w *waiter) pause(ctx context.Context, state State) error {
	interval := w.opts.Poll
	if state.Transitional() || (state == StateRunning && !w.healthy) {
		interval = min(interval, fastPoll)
	}
	return w.sleepUntil(ctx, w.c.clock.Now().Add(interval))
}

// sleepUntil sleeps until next, emitting heartbeats at least every heartbeatPeriod; it returns a
// *WaitTimeoutError once the timeout is reached.
func (w *waiter) sleepUntil(ctx context.Context, next time.Time) error {
	for {
		now := w.c.clock.Now()
		if w.opts.Timeout > 0 && now.Sub(w.start) >= w.opts.Timeout {
			return w.timeout()
		}
		if !now.Before(next) {
			return nil
		}
		d := min(next.Sub(now), w.nextBeat().Sub(now))
		if w.opts.Timeout > 0 {
			d = min(d, w.start.Add(w.opts.Timeout).Sub(now))
		}
		if err := w.c.clock.Sleep(ctx, max(d, 0)); err != nil {
			return fmt.Errorf("waiting for %s/%s (last state %s): %w", w.ns, w.name, w.lastState(), err)
		}
		w.beatIfDue()
	}
}

func (w *waiter) nextBeat() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastSent.Add(w.c.heartbeat)
}

// beatIfDue reports a heartbeat when the last report is heartbeatPeriod old.
func (w *waiter) beatIfDue() {
	if !w.c.clock.Now().Before(w.nextBeat()) {
		w.report(w.last, true)
	}
}

// report calls OnProgress when the state changed, or when heartbeat is due.
func (w *waiter) report(ep *Endpoint, heartbeat bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ep == nil { // only heartbeats come before the first state is read
		w.lastSent = w.c.clock.Now()
		if w.opts.OnProgress != nil {
			w.opts.OnProgress(Progress{Message: fmt.Sprintf("waiting for %s/%s: its state has not been read yet", w.ns, w.name),
				Elapsed: w.lastSent.Sub(w.start), Heartbeat: true})
		}
		return
	}
	key := fmt.Sprintf("%s|%d|%d|%t", ep.Status.State, ep.Status.ReadyReplica, ep.Status.TargetReplica, w.healthy)
	changed := key != w.lastKey
	if !changed && !heartbeat {
		return
	}
	w.lastKey = key
	w.lastSent = w.c.clock.Now()
	if w.opts.OnProgress == nil {
		return
	}
	w.opts.OnProgress(Progress{Endpoint: ep, State: ep.Status.State, Message: progressMessage(ep, w.healthy),
		Elapsed: w.lastSent.Sub(w.start), Heartbeat: !changed})
}

func progressMessage(ep *Endpoint, healthy bool) string {
	st := ep.Status
	msg := fmt.Sprintf("%s — %d/%d replicas ready", st.State, st.ReadyReplica, st.TargetReplica)
	switch {
	case st.State == StateRunning && healthy:
		msg += ", health check passed"
	case st.State == StateRunning:
		msg += ", waiting for the health route to answer"
	case st.State == StatePaused:
		msg += "; paused endpoints never become ready: resume it (resume_endpoint)"
	case st.State == StateScaledToZero:
		msg += "; scaled to zero: it wakes on the next inference request"
	}
	return msg
}

// healthy reports whether GET {url}{healthRoute} answers 200. Failures just mean "not yet".
func (c *Client) healthy(ctx context.Context, ep *Endpoint) bool {
	u, err := joinEndpointURL(ep.Status.URL, healthRoute(ep))
	if err != nil {
		return false
	}
	resp, err := c.send(ctx, request{op: "health check of " + ep.Name, method: http.MethodGet, url: u, noRetry: true,
		endpoint: true, header: http.Header{"Accept": {"*/*"}}, timeout: c.timeouts.Request})
	return err == nil && resp.status == http.StatusOK
}

func healthRoute(ep *Endpoint) string {
	if ep.HealthRoute != "" {
		return ep.HealthRoute
	}
	return "/health"
}

// suffix keeps only the path part of a route, so a route can never redirect the request to another host.
func routeSuffix(route string) string {
	route = strings.TrimSpace(route)
	if route == "" || route == "/" {
		return ""
	}
	return "/" + strings.TrimLeft(route, "/")
}
