package hfapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Waking a scaled-to-zero endpoint starts its hardware as surely as Resume does, so an inference
// call applies the same cost ceiling before a cold start. Inference takes no confirmation: over the
// ceiling it refuses, and the caller resumes the endpoint with a confirmation first.

// WakeRefusedError is returned by the inference calls (TextGeneration, TextGenerationStream,
// ChatCompletion, FeatureExtraction, TextToImage, Call) when the endpoint is scaled to zero and
// waking it would start hardware whose estimated cost is over the ceiling, or unknown. Nothing was
// sent to the endpoint. Plan describes the resume that would confirm it (it carries no token: get
// one from Resume, which returns a *ConfirmationRequiredError). Match with errors.As or IsWakeRefused.
type WakeRefusedError struct {
	Plan *Plan
	// Unserved: the endpoint was believed running, so one request reached its URL; it was answered
	// 503 without being served (the endpoint had scaled to zero). Nothing more was sent.
	Unserved bool
}

// Error says why the endpoint was not woken and what to do instead.
func (e *WakeRefusedError) Error() string {
	p := e.Plan
	var cost string
	if p.Cost != nil {
		cost = fmt.Sprintf("%.2f %s/h (%s), above the %.2f USD/h ceiling", p.Cost.Max, p.Cost.Currency, p.CostNote, p.Ceiling)
	} else {
		cost = fmt.Sprintf("an unknown cost (%s), which counts as over the %.2f USD/h ceiling", p.CostNote, p.Ceiling)
	}
	hw := ""
	if h := p.Hardware(); h != "" {
		hw = " " + h
	}
	sent := "nothing was sent"
	if e.Unserved {
		sent = "the request was not served (the endpoint answered 503: it had scaled to zero since it was read) and nothing more was sent"
	}
	return fmt.Sprintf("endpoint %s is scaled to zero: waking it would start hardware%s at %s; %s. "+
		"Resume it first with a confirmation (resume_endpoint / Client.Resume), then retry", p.Target(), hw, cost, sent)
}

// IsWakeRefused reports whether err is (or wraps) a *WakeRefusedError.
func IsWakeRefused(err error) bool {
	var e *WakeRefusedError
	return errors.As(err, &e)
}

// inferNamespace is the namespace of the endpoint an inference call targets: the caller's, else
// the client's default.
func (c *Client) inferNamespace(ctx context.Context, opts CallOptions) (string, error) {
	if opts.Namespace != "" {
		return opts.Namespace, nil
	}
	return c.DefaultNamespace(ctx)
}

// guardWake refuses to wake ep when a ceiling is set and its estimated cost (priced like a resume)
// is over it or unknown. An endpoint already starting a replica (targetReplica > 0) starts nothing
// new, so it passes.
func (c *Client) guardWake(ctx context.Context, ep *Endpoint, opts CallOptions, unserved bool) error {
	if c.ceiling < 0 || ep.Status.TargetReplica > 0 {
		return nil
	}
	p := &Plan{Action: ActionResume, Name: ep.Name, Endpoint: ep, Compute: ep.Compute, Vendor: ep.Provider.Vendor,
		Region: ep.Provider.Region, Repository: ep.Model.Repository, Ceiling: c.ceiling}
	ns, err := c.inferNamespace(ctx, opts)
	if err != nil {
		p.CostNote = "the namespace to price it in is unknown: " + err.Error()
	} else {
		p.Namespace = ns
		c.priceEndpoint(ctx, ns, p)
	}
	if p.Cost != nil && p.Cost.Max <= c.ceiling {
		return nil
	}
	return &WakeRefusedError{Plan: p, Unserved: unserved}
}

// scaledToZeroSince re-reads an endpoint believed running whose URL answered 503: when it has
// scaled to zero since (same URL), the 503 came from the scale-up proxy and the request was not
// served, so it may be sent again as a cold start. It returns the fresh endpoint, or nil when the
// 503 stands.
func (c *Client) scaledToZeroSince(ctx context.Context, ep *Endpoint, err error, opts CallOptions) *Endpoint {
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusServiceUnavailable || ctx.Err() != nil {
		return nil
	}
	ns, nerr := c.inferNamespace(ctx, opts)
	if nerr != nil {
		return nil
	}
	fresh, gerr := c.Get(ctx, ns, ep.Name)
	if gerr != nil || fresh.Status.State != StateScaledToZero || fresh.Status.URL == "" || fresh.Status.URL != ep.Status.URL {
		return nil
	}
	return fresh
}
