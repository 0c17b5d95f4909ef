// Package scrubtest gives tests the encodings of a secret that package scrub keeps out of every
// output, and a check that none of them is present.
package scrubtest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/scrub"
)

// JSONEscapeAll writes every character of s as \uXXXX; upper selects the hex case.
func JSONEscapeAll(s string, upper bool) string {
	var b strings.Builder
	for _, r := range s {
		f := "\\u%04x"
		if upper {
			f = "\\u%04X"
		}
		b.WriteString(fmt.Sprintf(f, r))
	}
	return b.String()
}

// percentAll percent-encodes every byte of s.
func percentAll(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		b.WriteString(fmt.Sprintf("%%%02X", c))
	}
	return b.String()
}

// Encodings are the forms a secret may take on the wire.
func Encodings(secret string) map[string]string {
	b64 := func(e *base64.Encoding, s string) string { return e.EncodeToString([]byte(s)) }
	return map[string]string{
		"plain":                   secret,
		"json escapes, all":       JSONEscapeAll(secret, false),
		"json escapes, upper hex": JSONEscapeAll(secret, true),
		"json escape, first only": JSONEscapeAll(secret[:1], false) + secret[1:],
		"json escapes, mixed":     mix(secret, func(s string) string { return JSONEscapeAll(s, false) }),
		"percent, all":            percentAll(secret),
		"percent, mixed":          mix(secret, percentAll),
		"query escape":            url.QueryEscape(secret),
		"base64 std":              b64(base64.StdEncoding, secret),
		"base64 std raw":          b64(base64.RawStdEncoding, secret),
		"base64 url":              b64(base64.URLEncoding, secret),
		"base64 url raw":          b64(base64.RawURLEncoding, secret),
		"base64 of Bearer":        b64(base64.StdEncoding, "Bearer "+secret),
		"base64 of Basic user:":   b64(base64.StdEncoding, "user:"+secret),
		"base64 url of x":         b64(base64.RawURLEncoding, "xx"+secret+"y"),
		"Bearer percent":          url.PathEscape("Bearer " + secret),
		"Bearer json":             "Bearer " + JSONEscapeAll(secret, false),
	}
}

// mix escapes every other character of s with esc.
func mix(s string, esc func(string) string) string {
	var b strings.Builder
	for i, r := range s {
		if i%2 == 0 {
			b.WriteString(esc(string(r)))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Leaks names every encoding of secret found in text.
func Leaks(text, secret string) []string {
	var found []string
	for name, enc := range Encodings(secret) {
		if strings.Contains(text, enc) {
			found = append(found, name)
		}
	}
	// A base64 core is what any encoding of it holds, whatever surrounds it.
	for _, core := range scrub.Base64Cores(secret) {
		if strings.Contains(text, core) {
			found = append(found, "base64 core "+core)
		}
	}
	return found
}

// EchoingUpstream is a hostile Inference Endpoints API and endpoint, for tests: every answer carries
// the secret set with Use, as given (so in whatever encoding): an error message (any route but the
// two below), an endpoint document (GET /v2/endpoint/{ns}/ep, in model.env.ECHO) and an inference
// answer (POST under /e, as generated_text).
type EchoingUpstream struct {
	URL string // the API base is URL+"/v2"

	mu  sync.Mutex
	enc string
}

// endpointDoc is a running endpoint as the API describes it; its URL is filled in.
const endpointDoc = `{"name":"ep","type":"protected","provider":{"vendor":"aws","region":"us-east-1"},` +
	`"healthRoute":"/health","compute":{"accelerator":"cpu","instanceType":"intel-icl","instanceSize":"x2",` +
	`"scaling":{"minReplica":0,"maxReplica":1}},"model":{"env":{"ECHO":"%s"},"repository":"gpt2",` +
	`"revision":"11c5a3d5811f50298f278a704980280950aedb10","task":"text-generation","framework":"pytorch",` +
	`"image":{"huggingface":{}}},"status":{"createdAt":"2023-10-26T12:41:53.263Z","updatedAt":"2023-10-26T12:41:53.263Z",` +
	`"state":"running","message":"Endpoint is ready","url":"%s/e","readyReplica":1,"targetReplica":1}}`

// NewEchoingUpstream starts the upstream on a loopback port until tb ends.
func NewEchoingUpstream(tb testing.TB) *EchoingUpstream {
	u := &EchoingUpstream{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		enc := u.enc
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v2/endpoint/") && strings.HasSuffix(r.URL.Path, "/ep"):
			_, _ = fmt.Fprintf(w, endpointDoc, enc, u.URL)
		case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/e"):
			_, _ = w.Write([]byte(`{"generated_text":"you sent ` + enc + `"}`))
		default:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"token ` + enc + ` is not valid for ` + r.URL.Path + `"}`))
		}
	}))
	tb.Cleanup(srv.Close)
	u.URL = srv.URL
	return u
}

// Use sets what the upstream echoes from now on.
func (u *EchoingUpstream) Use(enc string) {
	u.mu.Lock()
	u.enc = enc
	u.mu.Unlock()
}

// Names are the names of Encodings, sorted.
func Names(secret string) []string {
	var names []string
	for n := range Encodings(secret) {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Wire records the bytes a client receives; it is safe for concurrent use.
type Wire struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write records p.
func (w *Wire) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// String is all that was recorded.
func (w *Wire) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// HTTPClient returns a client whose every response body is also recorded in w.
func (w *Wire) HTTPClient() *http.Client { return &http.Client{Transport: teeTransport{w}} }

type teeTransport struct{ w io.Writer }

func (t teeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.TeeReader(resp.Body, t.w), resp.Body}
	}
	return resp, err
}
