package hfapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CallOptions tunes one inference call.
type CallOptions struct {
	// OnProgress receives "waking" reports while a scaled-to-zero endpoint starts.
	OnProgress func(Progress)
	// ScaleUpTimeout bounds how long a cold start may take (default 5m); sent as X-Scale-Up-Timeout.
	ScaleUpTimeout time.Duration
	// Namespace is the endpoint's namespace ("" = the client's default). A cold start is priced in
	// it, and an endpoint whose URL answers 503 is re-read from it to see if it has scaled to zero.
	Namespace string
	// Accept is Call's Accept header (default */*).
	Accept string
}

const defaultScaleUpTimeout = 5 * time.Minute

// RawResponse is the answer of Call.
type RawResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// GeneratedImage is the result of TextToImage: raw image bytes and their MIME type.
type GeneratedImage struct {
	Data     []byte
	MIMEType string // e.g. image/png, image/jpeg
}

// NotReadyError says an endpoint cannot serve inference in its current state, and what to do.
type NotReadyError struct {
	Endpoint string
	State    State
	Next     string // the next step, e.g. "resume it first (resume_endpoint)"
}

// Error names the endpoint, its state and the next step.
func (e *NotReadyError) Error() string {
	return fmt.Sprintf("endpoint %q is %s and cannot serve requests: %s", e.Endpoint, e.State, e.Next)
}

// checkServable decides whether ep can take inference now; cold reports a scaled-to-zero endpoint.
func checkServable(ep *Endpoint) (cold bool, err error) {
	if ep == nil {
		return false, errors.New("inference: no endpoint given; fetch it with Get first")
	}
	st := ep.Status.State
	switch {
	case st == StatePaused:
		return false, &NotReadyError{ep.Name, st, "resume it first (resume_endpoint / Client.Resume), then wait_for_endpoint"}
	case st == StateFailed:
		return false, &NotReadyError{ep.Name, st, "it failed to deploy; read why with get_endpoint_logs and fix it with update_endpoint"}
	case st == StateScaledToZero && ep.Status.URL != "":
		return true, nil
	case st == StatePending || st == StateInitializing || ep.Status.URL == "":
		return false, &NotReadyError{ep.Name, st, "it is not ready yet; wait for it with wait_for_endpoint (Client.Wait)"}
	}
	return false, nil
}

// ValidateCallPath checks a path to send under an endpoint URL: a relative path such as "/",
// "/v1/rerank" or "predict?x=1", never a URL of its own, a scheme or host change, or a step up ("..",
// also percent-encoded), so that a request carrying the token can only reach the endpoint itself.
func ValidateCallPath(path string) error {
	const rule = `give a path under the endpoint URL, such as "/" or "/v1/rerank" (no scheme, host, ".." or backslash)`
	lower := strings.ToLower(path)
	for _, bad := range []string{"://", "\\", "..", "%2e", "%2f", "%5c", "#"} {
		if strings.Contains(lower, bad) {
			return &ValidationError{"path", fmt.Sprintf("%q contains %q; %s", path, bad, rule)}
		}
	}
	for _, r := range path {
		if r < 0x21 || r == 0x7f {
			return &ValidationError{"path", fmt.Sprintf("%q contains a space or control character; %s", path, rule)}
		}
	}
	first := path
	if i := strings.IndexAny(path, "/?"); i >= 0 {
		first = path[:i]
	}
	if strings.HasPrefix(path, "//") || strings.Contains(first, ":") {
		return &ValidationError{"path", fmt.Sprintf("%q could name another scheme or host; %s", path, rule)}
	}
	return nil
}

// joinEndpointURL appends a path to an endpoint URL, refusing anything but http(s) URLs.
func joinEndpointURL(base, path string) (*url.URL, error) {
	b, err := url.Parse(base)
	if err != nil || (b.Scheme != "http" && b.Scheme != "https") || b.Host == "" {
		return nil, fmt.Errorf("endpoint URL %q is not an http(s) URL", base)
	}
	u, err := url.Parse(strings.TrimRight(base, "/") + routeSuffix(path))
	if err != nil || u.Scheme != b.Scheme || u.Host != b.Host || u.User != nil {
		return nil, &ValidationError{"path", fmt.Sprintf("%q does not stay under the endpoint URL", path)}
	}
	return u, nil
}

// infer sends one inference request to ep and reads the whole answer.
func (c *Client) infer(ctx context.Context, ep *Endpoint, method, path string, body any, header http.Header, opts CallOptions) (*response, error) {
	resp, op, err := c.inferOpen(ctx, ep, method, path, body, header, opts)
	if err != nil {
		return nil, err
	}
	return c.readResponse(op, resp)
}

// inferOpen sends one inference request to ep, handling the cold start of a scaled-to-zero endpoint,
// and returns the live 2xx response (the caller closes its body). A cold start over the cost ceiling
// is refused with a *WakeRefusedError before anything is sent (wake.go). An endpoint believed
// running whose URL answers 503 is read again: if it has scaled to zero since, the request was not
// served and goes the cold-start way; otherwise the 503 is returned.
func (c *Client) inferOpen(ctx context.Context, ep *Endpoint, method, path string, body any, header http.Header, opts CallOptions) (*http.Response, string, error) {
	cold, err := checkServable(ep)
	if err != nil {
		return nil, "", err
	}
	u, err := joinEndpointURL(ep.Status.URL, path)
	if err != nil {
		return nil, "", err
	}
	req := request{op: fmt.Sprintf("%s %s on endpoint %s", method, routeOrRoot(path), ep.Name), method: method, url: u,
		body: body, header: header.Clone(), endpoint: true}
	if req.header == nil {
		req.header = http.Header{}
	}
	if !cold {
		resp, err := c.open(ctx, req)
		if err == nil {
			return resp, req.op, nil
		}
		if ep = c.scaledToZeroSince(ctx, ep, err, opts); ep == nil {
			return nil, req.op, err
		}
	}
	if err := c.guardWake(ctx, ep, opts, !cold); err != nil {
		return nil, req.op, err
	}
	resp, err := c.wake(ctx, ep, req, opts)
	return resp, req.op, err
}

func routeOrRoot(p string) string {
	if s := routeSuffix(p); s != "" {
		return s
	}
	return "/"
}

// wake sends req to a scaled-to-zero endpoint: the proxy holds it up to X-Scale-Up-Timeout and answers
// 503 (or 502) while no replica is up. Those answers are retried until the scale-up timeout or ctx.
func (c *Client) wake(ctx context.Context, ep *Endpoint, req request, opts CallOptions) (*http.Response, error) {
	limit := opts.ScaleUpTimeout
	if limit <= 0 {
		limit = defaultScaleUpTimeout
	}
	req.header.Set("X-Scale-Up-Timeout", strconv.Itoa(max(1, int(limit.Round(time.Second)/time.Second))))
	req.noRetry = true
	req.timeout = max(limit+c.timeouts.Request, c.timeouts.Inference) // the proxy holds the request up to limit
	start := c.clock.Now()
	var mu sync.Mutex // OnProgress is called from the heartbeat goroutine too; never concurrently
	report := func(attempt int, heartbeat bool) {
		if opts.OnProgress == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		elapsed := c.clock.Now().Sub(start)
		opts.OnProgress(Progress{Endpoint: ep, State: StateScaledToZero, Elapsed: elapsed, Heartbeat: heartbeat,
			Message: fmt.Sprintf("waking %s from scale to zero (attempt %d, %s elapsed)", ep.Name, attempt, elapsed.Round(time.Second))})
	}
	for attempt := 1; ; attempt++ {
		report(attempt, attempt > 1)
		resp, err := c.openWithHeartbeat(ctx, req, func() { report(attempt, true) })
		var apiErr *APIError
		if err == nil || !errors.As(err, &apiErr) || (apiErr.Status != http.StatusServiceUnavailable && apiErr.Status != http.StatusBadGateway) {
			return resp, err
		}
		delay := backoff(RetryPolicy{BaseDelay: 500 * time.Millisecond, MaxDelay: 5 * time.Second}, min(attempt, 5), 0)
		if c.clock.Now().Add(delay).Sub(start) > limit {
			return nil, fmt.Errorf("endpoint %s did not wake from scale to zero within %s: %w", ep.Name, limit, err)
		}
		if err := c.clock.Sleep(ctx, delay); err != nil {
			return nil, fmt.Errorf("waking endpoint %s: %w", ep.Name, err)
		}
	}
}

// openWithHeartbeat sends req and calls beat every heartbeat period while the answer is outstanding:
// the scale-up proxy may hold a request for minutes and the caller should still see progress.
func (c *Client) openWithHeartbeat(ctx context.Context, req request, beat func()) (*http.Response, error) {
	stop := c.beatEvery(beat)
	defer stop()
	return c.open(ctx, req)
}

// beatEvery calls beat every heartbeat period until stop is called; stop waits for the last beat.
func (c *Client) beatEvery(beat func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(c.heartbeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				beat()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// Call sends an arbitrary request to the endpoint URL + path (body JSON-encoded unless nil; a
// json.RawMessage is sent as is). path must stay under the endpoint URL (see ValidateCallPath), so
// the token only ever goes there. GETs are retried like other reads; a non-2xx status is an *APIError.
func (c *Client) Call(ctx context.Context, ep *Endpoint, method, path string, body any, opts CallOptions) (*RawResponse, error) {
	method = strings.ToUpper(strings.TrimSpace(method))
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return nil, &ValidationError{"method", fmt.Sprintf("%q is not allowed; use GET, POST, PUT or PATCH", method)}
	}
	if err := ValidateCallPath(path); err != nil {
		return nil, err
	}
	accept := opts.Accept
	if accept == "" {
		accept = "*/*"
	} else if strings.ContainsAny(accept, "\r\n") {
		return nil, &ValidationError{"accept", "must be one header line, e.g. application/json or image/png"}
	}
	resp, err := c.infer(ctx, ep, method, path, body, http.Header{"Accept": {accept}}, opts)
	if err != nil {
		return nil, err
	}
	return &RawResponse{Status: resp.status, Header: resp.header, Body: resp.body}, nil
}

// TextToImageRequest is a text-to-image call ({"inputs", "parameters"}).
type TextToImageRequest struct {
	Inputs     string         `json:"inputs"`
	Parameters map[string]any `json:"parameters"` // e.g. num_inference_steps, guidance_scale, width, height
}

// TextToImage generates an image (Accept: image/png); the server may answer another image type.
func (c *Client) TextToImage(ctx context.Context, ep *Endpoint, req TextToImageRequest, opts CallOptions) (*GeneratedImage, error) {
	if strings.TrimSpace(req.Inputs) == "" {
		return nil, &ValidationError{"inputs", "is empty; give the prompt text"}
	}
	if req.Parameters == nil {
		req.Parameters = map[string]any{}
	}
	resp, err := c.infer(ctx, ep, http.MethodPost, "", req, http.Header{"Accept": {"image/png"}}, opts)
	if err != nil {
		return nil, err
	}
	mime := strings.TrimSpace(strings.Split(resp.header.Get("Content-Type"), ";")[0])
	if !strings.HasPrefix(mime, "image/") {
		return nil, fmt.Errorf("text-to-image on %s: expected an image, got %q: %s", ep.Name, mime, truncate(string(resp.body), 200))
	}
	return &GeneratedImage{Data: resp.body, MIMEType: mime}, nil
}
