package hfapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// Write-ahead: every request that changes something upstream (create, update, pause, resume, scale to
// zero, delete, catalog deploy) is first told to the WriteAhead of its context, which records the intent
// (the audit log); when that fails, the request is not sent. When such a request ends without an answer
// (cancelled, timed out, connection lost), the endpoint is read again and the WriteAhead hears what
// actually happened, so that a record never says "cancelled" of a delete that went through.

// Intent is a change about to be sent upstream.
type Intent struct {
	Op        string // e.g. "update endpoint alice/my-ep"
	Method    string // POST, PUT or DELETE
	Namespace string
	Name      string // "" when the service picks the name (a catalog deploy without one)
}

// Settlement is what a re-read found after a change whose answer was lost.
type Settlement struct {
	Intent
	Lost  string // why there was no answer, e.g. "context canceled"
	Found string // what the re-read found, in words
	Done  bool   // the re-read shows that the change took effect
}

// Text says both, for a record: "no answer (context canceled); re-read: the endpoint no longer exists: it was deleted".
func (s Settlement) Text() string { return "no answer (" + s.Lost + "); re-read: " + s.Found }

// WriteAhead records changes before they are sent.
type WriteAhead interface {
	// Intent is called before the request is sent. An error stops it: nothing is sent, and the
	// change fails with a *NotRecordedError.
	Intent(ctx context.Context, in Intent) error
	// Settled is called when a change got no answer and a re-read established what happened.
	Settled(ctx context.Context, s Settlement)
}

type writeAheadKey struct{}

// WithWriteAhead returns ctx under which every change a client sends is first recorded by w.
func WithWriteAhead(ctx context.Context, w WriteAhead) context.Context {
	return context.WithValue(ctx, writeAheadKey{}, w)
}

func writeAheadOf(ctx context.Context) WriteAhead {
	w, _ := ctx.Value(writeAheadKey{}).(WriteAhead)
	return w
}

// NotRecordedError is a change that was not sent because its intent could not be recorded first.
type NotRecordedError struct {
	Op  string
	Err error
}

// Error says that nothing was sent, and why.
func (e *NotRecordedError) Error() string {
	return fmt.Sprintf("%s: not sent, because it could not be recorded first (%v); nothing was changed", e.Op, e.Err)
}

// Unwrap returns the recording failure.
func (e *NotRecordedError) Unwrap() error { return e.Err }

// intentOf describes req, a change of the endpoint ns/name.
func intentOf(req request, ns, name string) Intent {
	return Intent{Op: req.op, Method: req.method, Namespace: ns, Name: name}
}

// change sends a request that changes something upstream, once, after recording its intent.
func (c *Client) change(ctx context.Context, req request, in Intent) (*response, error) {
	if w := writeAheadOf(ctx); w != nil {
		if err := w.Intent(ctx, in); err != nil {
			return nil, &NotRecordedError{Op: req.op, Err: err}
		}
	}
	return c.send(ctx, req)
}

// answerLost reports whether a change ended without an HTTP answer, so that whether it took effect
// is unknown.
func answerLost(err error) bool {
	var apiErr *APIError
	var notRecorded *NotRecordedError
	return err != nil && !errors.As(err, &apiErr) && !errors.As(err, &notRecorded)
}

// verdict judges a re-read (ep nil: not found) after a change whose answer was lost: whether it
// shows the change took effect, and what was found, in words.
type verdict func(ep *Endpoint) (done bool, found string)

// settle re-reads in's endpoint after its change got no answer (lost), on a context of its own (the
// caller's may be what ended), tells the WriteAhead and the caller's notices what it found, and
// returns the endpoint read (nil when gone) and the settlement. A failed re-read settles nothing:
// it returns the read's error.
func (c *Client) settle(ctx context.Context, in Intent, lost error, judge verdict) (*Endpoint, Settlement, error) {
	notify(ctx, slog.LevelWarn, "%s: no answer (%v); reading the endpoint to find out whether it took effect, never sending it twice", in.Op, lost)
	checkCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.retry.MaxElapsed)
	defer cancel()
	ep, err := c.get(checkCtx, in.Namespace, in.Name, nil)
	s := Settlement{Intent: in, Lost: lost.Error()}
	switch {
	case err != nil && !IsNotFound(err):
		// Still on record: the outcome is unknown, and why.
		s.Found = "the endpoint could not be read (" + err.Error() + "): whether the change took effect is unknown"
		if w := writeAheadOf(ctx); w != nil {
			w.Settled(ctx, s)
		}
		return nil, Settlement{}, err
	case err != nil:
		ep = nil
	}
	s.Done, s.Found = judge(ep)
	if w := writeAheadOf(ctx); w != nil {
		w.Settled(ctx, s)
	}
	notify(ctx, slog.LevelWarn, "%s: %s", in.Op, s.Text())
	return ep, s, nil
}

// settled turns a settled lost answer into the change's result: the endpoint when it took effect,
// else the lost answer's error saying what was found.
func (c *Client) settled(ctx context.Context, in Intent, lost error, judge verdict) (*Endpoint, error) {
	ep, s, err := c.settle(ctx, in, lost, judge)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w (the change may or may not have taken effect, and reading the endpoint failed: %v; check with get_endpoint before trying again)", lost, err)
	case !s.Done:
		return nil, fmt.Errorf("%w (re-read: %s; check with get_endpoint before trying again)", lost, s.Found)
	}
	return ep, nil
}

// stateIs is the verdict of pause, resume and scale to zero: the endpoint is in one of states.
func stateIs(states ...State) verdict {
	return func(ep *Endpoint) (bool, string) {
		if ep == nil {
			return false, "the endpoint no longer exists"
		}
		for _, s := range states {
			if ep.Status.State == s {
				return true, fmt.Sprintf("the endpoint is %s: it took effect", ep.Status.State)
			}
		}
		return false, fmt.Sprintf("the endpoint is %s: it has not taken effect (yet)", ep.Status.State)
	}
}

// deleted is the verdict of a delete of prev: gone, or replaced by another endpoint of its name.
func deleted(prev *Endpoint) verdict {
	return func(ep *Endpoint) (bool, string) {
		switch {
		case ep == nil:
			return true, "the endpoint no longer exists: it was deleted"
		case ep.Status.CreatedAt != prev.Status.CreatedAt:
			return true, "the endpoint was deleted (another endpoint of that name exists now)"
		}
		return false, fmt.Sprintf("the endpoint still exists (state %s): it was not deleted, or not yet", ep.Status.State)
	}
}

// shownBy is the verdict of an update: the endpoint shows every field the update sets. An update
// of fields an endpoint does not show (env, secrets, image…) cannot be told apart from none.
func (s UpdateSpec) shownBy(ep *Endpoint) (bool, string) {
	if ep == nil {
		return false, "the endpoint no longer exists"
	}
	visible := UpdateSpec{Accelerator: s.Accelerator, InstanceType: s.InstanceType, InstanceSize: s.InstanceSize,
		MinReplica: s.MinReplica, MaxReplica: s.MaxReplica, Repository: s.Repository}
	if digest(visible) != digest(s) {
		return false, fmt.Sprintf("the endpoint is %s; whether the update took effect cannot be told from what it shows", ep.Status.State)
	}
	sc := ep.Compute.Scaling
	if shows(s.Accelerator, ep.Compute.Accelerator) && shows(s.InstanceType, ep.Compute.InstanceType) &&
		shows(s.InstanceSize, ep.Compute.InstanceSize) && shows(s.MinReplica, sc.MinReplica) &&
		shows(s.MaxReplica, sc.MaxReplica) && shows(s.Repository, ep.Model.Repository) {
		return true, fmt.Sprintf("the endpoint shows the update (state %s): it took effect", ep.Status.State)
	}
	return false, fmt.Sprintf("the endpoint does not show the update (state %s): it has not taken effect", ep.Status.State)
}

func shows[T comparable](want *T, got T) bool { return want == nil || *want == got }
