package hfapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// APIError is a non-2xx answer from the management API, the Hub or an endpoint URL.
type APIError struct {
	Op        string // what was being done, e.g. "get endpoint acme/my-ep"
	Status    int    // HTTP status code
	Message   string // server message (X-Error-Message, {"error"}, …)
	RequestID string // x-request-id, for support
}

// Error includes the operation, status, message, request id and, where the status makes it clear,
// the next step.
func (e *APIError) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "HTTP %d %s", e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	if hint := e.hint(); hint != "" {
		b.WriteString(" — ")
		b.WriteString(hint)
	}
	return b.String()
}

func (e *APIError) hint() string {
	switch e.Status {
	case http.StatusUnauthorized:
		return "check the Hugging Face token (HF_TOKEN or `hf auth login`) is valid and not expired"
	case http.StatusForbidden:
		return "the token lacks permission for this namespace; use a token with write access to Inference Endpoints, or check billing is set up"
	case http.StatusNotFound:
		return "check the endpoint name and namespace (list_endpoints shows what exists)"
	case http.StatusConflict:
		return "an endpoint with this name already exists in the namespace; choose another name or update the existing one"
	case http.StatusTooManyRequests:
		return "rate limited; retry later"
	}
	return ""
}

func isStatus(err error, code int) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == code
}

// IsNotFound reports whether err (or an error it wraps) is an HTTP 404.
func IsNotFound(err error) bool { return isStatus(err, http.StatusNotFound) }

// IsConflict reports whether err is an HTTP 409 (e.g. name already taken).
func IsConflict(err error) bool { return isStatus(err, http.StatusConflict) }

// IsUnauthorized reports whether err is an HTTP 401.
func IsUnauthorized(err error) bool { return isStatus(err, http.StatusUnauthorized) }

// IsForbidden reports whether err is an HTTP 403.
func IsForbidden(err error) bool { return isStatus(err, http.StatusForbidden) }

// IsBadRequest reports whether err is an HTTP 400.
func IsBadRequest(err error) bool { return isStatus(err, http.StatusBadRequest) }

// IsRateLimited reports whether err is an HTTP 429.
func IsRateLimited(err error) bool { return isStatus(err, http.StatusTooManyRequests) }

// newAPIError builds an APIError from a response whose body has been read, redacting the token
// should the server echo it.
func (c *Client) newAPIError(op string, resp *http.Response, body []byte) *APIError {
	return &APIError{
		Op:        op,
		Status:    resp.StatusCode,
		Message:   string(c.scrub([]byte(errorMessage(resp.Header, body)))),
		RequestID: string(c.scrub([]byte(resp.Header.Get("X-Request-Id")))),
	}
}

// errorMessage extracts the server's message the way huggingface_hub does: X-Error-Message header,
// then body "error" (string or list), "error_description", "errors[].message", then raw non-HTML text.
func errorMessage(h http.Header, body []byte) string {
	var parts []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		for _, p := range parts {
			if p == s {
				return
			}
		}
		if s != "" {
			parts = append(parts, s)
		}
	}
	add(h.Get("X-Error-Message"))
	var doc struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
		Errors           []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &doc) == nil {
		var s string
		var list []string
		switch {
		case json.Unmarshal(doc.Error, &s) == nil:
			add(s)
		case json.Unmarshal(doc.Error, &list) == nil:
			add(strings.Join(list, "\n"))
		}
		add(doc.ErrorDescription)
		for _, e := range doc.Errors {
			add(e.Message)
		}
	} else if text := strings.TrimSpace(string(body)); text != "" && !looksLikeHTML(h, text) {
		add(truncate(text, 500))
	}
	return strings.Join(parts, "\n")
}

func looksLikeHTML(h http.Header, text string) bool {
	return strings.Contains(h.Get("Content-Type"), "html") || strings.HasPrefix(strings.ToLower(text), "<!doctype") ||
		strings.HasPrefix(strings.ToLower(text), "<html")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// EndpointFailedError is returned by Wait when the endpoint reaches failed or updateFailed.
type EndpointFailedError struct {
	Endpoint *Endpoint
	Reason   string // "failed to deploy" or "failed to update"
}

// Error names the endpoint, what failed and the next step.
func (e *EndpointFailedError) Error() string {
	msg := fmt.Sprintf("endpoint %q %s", e.Endpoint.Name, e.Reason)
	if d := strings.TrimSpace(e.Endpoint.Status.ErrorMessage + " " + e.Endpoint.Status.Message); d != "" {
		msg += ": " + d
	}
	return msg + "; read why with get_endpoint_logs, fix the configuration with update_endpoint, or delete it"
}

// WaitTimeoutError is returned by Wait when the endpoint is not ready within the timeout.
type WaitTimeoutError struct {
	Last    *Endpoint // the last state seen (nil if none could be fetched)
	Timeout time.Duration
}

// Error gives the timeout, the last state and the next step.
func (e *WaitTimeoutError) Error() string {
	state := "unknown"
	if e.Last != nil {
		state = string(e.Last.Status.State)
		if e.Last.Status.State == StatePaused {
			state += " (resume it first)"
		}
	}
	return fmt.Sprintf("endpoint not ready after %s (last state: %s); wait again or check get_endpoint", e.Timeout, state)
}

// ValidationError is a client-side check that failed before any request was sent.
type ValidationError struct {
	Field string
	Msg   string
}

// Error states the field and the rule it broke.
func (e *ValidationError) Error() string { return "invalid " + e.Field + ": " + e.Msg }
