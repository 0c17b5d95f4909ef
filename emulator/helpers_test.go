package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fastTimings make every transition take milliseconds.
var fastTimings = Timings{Deploy: 30 * time.Millisecond, Update: 20 * time.Millisecond, ScaleUp: 30 * time.Millisecond, IdleMinute: 5 * time.Millisecond}

const waitFor = 10 * time.Second

func start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Timings == (Timings{}) {
		opts.Timings = fastTimings
	}
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	s, err := Start("127.0.0.1:0", opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// client calls the emulator with one token.
type client struct {
	t     testing.TB
	base  string
	token string
	http  *http.Client
}

func newClient(t testing.TB, s *Server, token string) *client {
	return &client{t: t, base: s.URL, token: token, http: &http.Client{Timeout: 30 * time.Second}}
}

// do sends body (a string is sent as is, anything else as JSON) and returns the response and its body.
func (c *client) do(method, url string, body any, headers ...string) (*http.Response, []byte) {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(c.t, err)
		rd = bytes.NewReader(data)
	}
	if strings.HasPrefix(url, "/") {
		url = c.base + url
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(c.t, err)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return resp, data
}

// obj sends a request and decodes a JSON object answer.
func (c *client) obj(method, url string, body any, headers ...string) (int, map[string]any) {
	c.t.Helper()
	resp, data := c.do(method, url, body, headers...)
	var m map[string]any
	if len(data) > 0 {
		require.NoError(c.t, json.Unmarshal(data, &m), "body: %s", data)
	}
	return resp.StatusCode, m
}

func (c *client) get(ns, name string) map[string]any {
	c.t.Helper()
	code, m := c.obj("GET", "/v2/endpoint/"+ns+"/"+name, nil)
	require.Equal(c.t, http.StatusOK, code, "GET %s/%s: %v", ns, name, m)
	return m
}

// waitState polls GET until the endpoint reaches state and returns it.
func (c *client) waitState(ns, name, state string) map[string]any {
	c.t.Helper()
	var last map[string]any
	require.Eventually(c.t, func() bool {
		last = c.get(ns, name)
		return stateOf(last) == state
	}, waitFor, 2*time.Millisecond, "endpoint %s/%s never reached %s", ns, name, state)
	return last
}

func stateOf(ep map[string]any) string { return dig(ep, "status", "state").(string) }

func urlOf(ep map[string]any) string {
	u, _ := dig(ep, "status", "url").(string)
	return u
}

// dig walks nested objects.
func dig(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

// createBody is a valid create request like huggingface_hub's; overrides are merged in.
func createBody(name string, overrides ...map[string]any) map[string]any {
	b := map[string]any{
		"accountId": nil, "name": name, "type": "protected",
		"provider": map[string]any{"vendor": "aws", "region": "us-east-1"},
		"compute": map[string]any{"accelerator": "cpu", "instanceType": "intel-icl", "instanceSize": "x2",
			"scaling": map[string]any{"minReplica": 1, "maxReplica": 1, "scaleToZeroTimeout": nil}},
		"model": map[string]any{"repository": "gpt2", "framework": "pytorch", "revision": nil,
			"task": "text-generation", "image": map[string]any{"huggingface": map[string]any{}}},
	}
	for _, o := range overrides {
		mergeInto(b, o, "")
	}
	return b
}

// running creates an endpoint and waits until it runs.
func (c *client) running(ns, name string, overrides ...map[string]any) map[string]any {
	c.t.Helper()
	code, m := c.obj("POST", "/v2/endpoint/"+ns, createBody(name, overrides...))
	require.Equal(c.t, http.StatusAccepted, code, "%v", m)
	return c.waitState(ns, name, StateRunning)
}
