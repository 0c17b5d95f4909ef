package tools

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// Defaults of waits started by tools.
const (
	defaultWaitTimeout = 10 * time.Minute
	maxWaitTimeout     = 60 * time.Minute
)

// Causes that stop a wait which cannot succeed on its own.
var (
	errPausedWhileWaiting = errors.New("endpoint is paused")
	errScaledToZero       = errors.New("endpoint is scaled to zero")
)

// waitMode says what a wait may expect of the endpoint.
type waitMode int

const (
	// waitPlain waits on an endpoint left alone: scaled to zero it stays there.
	waitPlain waitMode = iota
	// waitWaking waits on an endpoint just told to start, which may still
	// report scaledToZero before it wakes.
	waitWaking
)

// waitReady waits until the endpoint serves requests, sending each state it
// sees as progress. Running out of time is a normal result (Ready false) that
// says where the endpoint is; failing or being paused is an error with a next step.
func waitReady(ctx context.Context, call *Call, namespace, name string, timeout, poll time.Duration, mode waitMode) (StatusResult, error) {
	if timeout <= 0 {
		timeout = defaultWaitTimeout
	}
	if poll <= 0 {
		poll = call.WaitPoll
	}
	stop := call.Progress.Heartbeat(ctx, call.Heartbeat)
	defer stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	call.Progress.Report(fmt.Sprintf("waiting up to %s for %s", timeout, name))

	ep, err := call.Client.Wait(ctx, namespace, name, hfapi.WaitOptions{
		Timeout: timeout,
		Poll:    poll,
		OnProgress: func(p hfapi.Progress) {
			msg := p.Message
			if msg == "" {
				msg = progressLine(p.Endpoint)
			}
			call.Progress.Report(msg)
			switch {
			case p.Endpoint == nil:
			case p.Endpoint.Status.State == hfapi.StatePaused:
				cancel(errPausedWhileWaiting)
			case p.Endpoint.Status.State == hfapi.StateScaledToZero && mode == waitPlain:
				cancel(errScaledToZero)
			}
		},
	})
	var timedOut *hfapi.WaitTimeoutError
	switch {
	case errors.Is(context.Cause(ctx), errPausedWhileWaiting):
		return StatusResult{}, errNext("call resume_endpoint (with wait: true) to start it again",
			"endpoint %s is paused, so it will not become ready by waiting", name)
	case errors.Is(context.Cause(ctx), errScaledToZero):
		status := EndpointStatus{Name: name, Namespace: namespace, State: string(hfapi.StateScaledToZero)}
		if ep != nil {
			status = statusOf(ep, namespace)
		}
		return StatusResult{Endpoint: status, Ready: ptrTo(false),
			Note: "scaled to zero: it wakes on the next inference request (a cold start), or call resume_endpoint with wait: true"}, nil
	case errors.As(err, &timedOut):
		return notReadyYet(namespace, name, timedOut), nil
	case err != nil:
		return StatusResult{}, err
	}
	return StatusResult{Endpoint: statusOf(ep, namespace), Ready: ptrTo(true),
		Note: "ready: the endpoint serves requests"}, nil
}

// notReadyYet is the normal result of a wait that ran out of time.
func notReadyYet(namespace, name string, e *hfapi.WaitTimeoutError) StatusResult {
	res := StatusResult{Ready: ptrTo(false),
		Note: fmt.Sprintf("not ready yet after %s; call wait_for_endpoint again to keep waiting", e.Timeout)}
	if e.Last != nil {
		res.Endpoint = statusOf(e.Last, namespace)
		return res
	}
	res.Endpoint = EndpointStatus{Name: name, Namespace: namespace, State: "unknown"}
	return res
}

func ptrTo[T any](v T) *T { return &v }

// seconds converts an optional number of seconds to a duration (0 when unset).
func seconds(s *float64) time.Duration {
	if s == nil {
		return 0
	}
	return time.Duration(*s * float64(time.Second))
}
