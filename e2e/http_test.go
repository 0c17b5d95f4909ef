package e2e

// End-to-end tests of the hardened HTTP transports: the serve command (in
// process, or the built binary) driven by a real HTTP client and by the
// official Go SDK client.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/cli"
)

const e2eAuthToken = "e2e-shared-secret-0123456789abcdef"

// server is a serve command running in-process on a loopback port.
type server struct {
	base   string
	stderr *lockedBuffer
	cancel context.CancelFunc
	done   chan error

	stopOnce sync.Once
	took     time.Duration
	err      error
}

// stop cancels the server (as SIGINT/SIGTERM do) and returns how long it took
// to return, failing the test if it has not returned after a minute.
func (s *server) stop(t *testing.T) (time.Duration, error) {
	t.Helper()
	s.stopOnce.Do(func() {
		start := time.Now()
		s.cancel()
		select {
		case s.err = <-s.done:
			s.took = time.Since(start)
		case <-time.After(time.Minute):
			t.Fatalf("serve did not return after cancellation; stderr:\n%s", s.stderr)
		}
	})
	return s.took, s.err
}

// startServe runs `serve --transport http` with args against emu, with
// HF_TOKEN set to token (the server's own token).
func startServe(t *testing.T, emu *emulator.Server, token string, args ...string) *server {
	t.Helper()
	for _, kv := range backendEnv(t, emu) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("HF_TOKEN", token)
	authOffUnlessSet(t)
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{stderr: &lockedBuffer{}, cancel: cancel, done: make(chan error, 1)}
	pr, pw := io.Pipe()
	go func() {
		s.done <- cli.Run(ctx, append([]string{"serve", "--transport", "http", "--addr", "127.0.0.1:0"}, args...), io.Discard, io.MultiWriter(s.stderr, pw))
		_ = pw.Close()
	}()
	t.Cleanup(func() {
		_, err := s.stop(t)
		assert.NoError(t, err, "serve returns cleanly on shutdown")
	})
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			go func() { _, _ = io.Copy(io.Discard, pr) }()
			s.base = m[1]
			return s
		}
	}
	t.Fatalf("server did not report its address; stderr:\n%s", s.stderr)
	return nil
}

// send makes one raw HTTP request and returns the status, headers and body.
func send(t *testing.T, method, url, body string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	require.NoError(t, err)
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return resp.StatusCode, resp.Header, "" // a stream: the status is the answer
	}
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

const e2eInitialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",` +
	`"capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}`

// withBearer is an http.Client whose requests carry "Authorization: Bearer token".
func withBearer(token string) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+token)
		return http.DefaultTransport.RoundTrip(r)
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// connectWith connects the SDK client over transport ("http" or "sse") with hc.
func connectWith(t *testing.T, base, transport string, hc *http.Client) (*sdk.ClientSession, error) {
	t.Helper()
	var tr sdk.Transport = &sdk.StreamableClientTransport{Endpoint: base + "/mcp", MaxRetries: -1, HTTPClient: hc}
	if transport == "sse" {
		tr = &sdk.SSEClientTransport{Endpoint: base + "/sse", HTTPClient: hc}
	}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "e2e", Version: "1"}, nil).Connect(t.Context(), tr,
		&sdk.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err == nil {
		t.Cleanup(func() { _ = cs.Close() })
	}
	return cs, err
}

func TestE2EServeRefusesAnExposedAddressWithoutAuth(t *testing.T) {
	var stderr lockedBuffer
	cmd := serverCommand(t, &stderr, []string{"serve", "--transport", "http", "--addr", "0.0.0.0:0"}, "HF_TOKEN=hf_x")
	err := cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "serve must refuse to start; stderr:\n%s", stderr.String())
	assert.Equal(t, 1, exit.ExitCode())
	msg := stderr.String()
	for _, want := range []string{`refusing to listen on "0.0.0.0:0"`, "--auth-token", "MCP_AUTH_TOKEN", "--hf-token-passthrough", "127.0.0.1"} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, "serving MCP over HTTP")
}

func TestE2EBearerAuthOnEveryMCPPath(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	t.Setenv("MCP_AUTH_TOKEN", e2eAuthToken)
	srv := startServe(t, emu, emu.Token(), "--log-level", "info")
	right := map[string]string{"Authorization": "Bearer " + e2eAuthToken}

	for _, path := range []string{"/mcp", "/sse", "/message?sessionId=x"} {
		method := http.MethodPost
		if path == "/sse" {
			method = http.MethodGet
		}
		t.Run(path, func(t *testing.T) {
			for _, tc := range []struct {
				name, auth, challenge string
			}{
				{"missing", "", `Bearer realm="hf-endpoints-mcp"`},
				{"wrong", "Bearer " + strings.Repeat("x", len(e2eAuthToken)), `Bearer realm="hf-endpoints-mcp", error="invalid_token"`},
				{"basic", "Basic " + e2eAuthToken, `Bearer realm="hf-endpoints-mcp"`},
			} {
				hdr := map[string]string{}
				if tc.auth != "" {
					hdr["Authorization"] = tc.auth
				}
				code, h, body := send(t, method, srv.base+path, e2eInitialize, hdr)
				assert.Equal(t, http.StatusUnauthorized, code, tc.name)
				assert.Equal(t, tc.challenge, h.Get("WWW-Authenticate"), tc.name)
				assert.NotContains(t, body, e2eAuthToken)
			}
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			code, _, body := send(t, method, srv.base+path+sep+"access_token="+e2eAuthToken, e2eInitialize, nil)
			assert.Equal(t, http.StatusBadRequest, code, "a token in the query string is refused")
			assert.Contains(t, body, "Authorization: Bearer")
			assert.NotContains(t, body, e2eAuthToken)
			code, _, _ = send(t, method, srv.base+path+sep+"token="+e2eAuthToken, e2eInitialize, right)
			assert.Equal(t, http.StatusBadRequest, code, "even next to a right header")
			code, _, body = send(t, method, srv.base+path+sep+"cursor="+queryHFToken, e2eInitialize, right)
			assert.Equal(t, http.StatusBadRequest, code, "a value shaped like an HF token, whatever its name")
			assert.Contains(t, body, "looks like a Hugging Face token")
			assert.NotContains(t, body, queryHFToken)
		})
	}
	code, _, _ := send(t, http.MethodGet, srv.base+"/healthz", "", nil)
	assert.Equal(t, http.StatusOK, code, "/healthz is public")

	for _, transport := range []string{"http", "sse"} {
		cs, err := connectWith(t, srv.base, transport, withBearer(e2eAuthToken))
		require.NoError(t, err, "%s with the right token; stderr:\n%s", transport, srv.stderr)
		res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
		require.NoError(t, err)
		assert.False(t, res.IsError, textOf(res))
		_, err = connectWith(t, srv.base, transport, withBearer("not-the-token-0123456789"))
		assert.Error(t, err, "%s with a wrong token", transport)
	}

	// A request's log line is written once its response is; wait for it.
	waitForOutput(t, srv.stderr, `msg="http request" method=POST path=/mcp status=401`)
	waitForOutput(t, srv.stderr, `path=/healthz status=200`)
	logs := srv.stderr.String()
	assert.NotContains(t, logs, e2eAuthToken, "no token in the logs")
	assert.NotContains(t, logs, emu.Token())
	assert.NotContains(t, logs, "access_token", "no query strings in the logs")
	assert.NotContains(t, logs, queryHFToken)
}

// queryHFToken is an HF token a client put in a query string.
const queryHFToken = "hf_QUERYqueryQUERYquery0123456789"

func TestE2EHostAndOriginAllowlists(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	srv := startServe(t, emu, emu.Token(), "--allowed-hosts", "mcp.example.org", "--allowed-origins", "https://app.example.org")
	port := srv.base[strings.LastIndex(srv.base, ":")+1:]
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"loopback address", nil, http.StatusOK},
		{"localhost with port", map[string]string{"Host": "localhost:" + port}, http.StatusOK},
		{"[::1] with port", map[string]string{"Host": "[::1]:" + port}, http.StatusOK},
		{"same-origin page", map[string]string{"Origin": "http://localhost:" + port}, http.StatusOK},
		{"added host", map[string]string{"Host": "mcp.example.org"}, http.StatusOK},
		{"added origin", map[string]string{"Origin": "https://app.example.org"}, http.StatusOK},
		{"DNS rebinding", map[string]string{"Host": "evil.example.com"}, http.StatusForbidden},
		{"DNS rebinding with port", map[string]string{"Host": "evil.example.com:" + port}, http.StatusForbidden},
		{"localhost on another port", map[string]string{"Host": "localhost:1"}, http.StatusForbidden},
		{"foreign origin", map[string]string{"Origin": "https://evil.example.com"}, http.StatusForbidden},
		{"null origin", map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"localhost page on port 80", map[string]string{"Origin": "http://localhost"}, http.StatusForbidden},
		{"localhost page on another port", map[string]string{"Origin": "http://127.0.0.1:1" + port}, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/mcp", "/sse"} {
				method := http.MethodPost
				if path == "/sse" {
					method = http.MethodGet
				}
				code, h, body := send(t, method, srv.base+path, map[string]string{"/mcp": e2eInitialize}[path], tc.hdr)
				assert.Equal(t, tc.want, code, "%s %s: %s", method, path, body)
				if tc.want == http.StatusForbidden {
					assert.Equal(t, "application/json", h.Get("Content-Type"), "refused before any MCP processing")
					assert.Contains(t, body, "allowed")
				}
			}
		})
	}
	code, _, _ := send(t, http.MethodGet, srv.base+"/healthz", "", map[string]string{"Host": "10.1.2.3:" + port})
	assert.Equal(t, http.StatusOK, code, "a health probe addressing the server by IP is answered")
}

func TestE2EBodiesOverOneMiBAreRefused(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	srv := startServe(t, emu, emu.Token())
	big := `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"` + strings.Repeat("x", 2<<20) + `"}}`
	for _, path := range []string{"/mcp", "/message?sessionId=x"} {
		code, _, body := send(t, http.MethodPost, srv.base+path, big, nil)
		assert.Equal(t, http.StatusRequestEntityTooLarge, code, path)
		assert.Contains(t, body, "request body too large")
	}
	code, _, _ := send(t, http.MethodPost, srv.base+"/mcp", e2eInitialize, nil)
	assert.Equal(t, http.StatusOK, code, "a normal body passes")
}

// Accounts of the pass-through tests: the server's own token belongs to
// "owner", whose endpoint no caller may ever see.
const (
	e2eAlice = "hf_e2e_alice_0123456789"
	e2eBob   = "hf_e2e_bob_0123456789"
	e2eOwner = "hf_e2e_owner_0123456789"
)

func startUsersEmulator(t *testing.T) *emulator.Server {
	t.Helper()
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{User: "owner", Tokens: []string{e2eOwner}, Seed: 7,
		Users:   []emulator.User{{Name: "alice", Orgs: []string{"alice-org"}, Tokens: []string{e2eAlice}}, {Name: "bob", Tokens: []string{e2eBob}}},
		Timings: fastTimings})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	for tok, name := range map[string]string{e2eAlice: "alice-llm", e2eBob: "bob-llm", e2eOwner: "owner-llm"} {
		c, err := hfapi.New(hfapi.Config{Token: tok, APIBase: emu.APIBase(), HubBase: emu.HubBase(), CatalogBase: emu.CatalogBase()})
		require.NoError(t, err)
		_, err = c.Create(t.Context(), "", hfapi.CreateSpec{Name: name, Repository: "openai-community/gpt2", Framework: "pytorch",
			Accelerator: "cpu", InstanceSize: "x2", InstanceType: "intel-spr", Region: "us-east-1", Vendor: "aws", Task: "text-generation"})
		require.NoError(t, err)
	}
	return emu
}

func structuredOf(t *testing.T, cs *sdk.ClientSession, tool string, args map[string]any) (map[string]any, *sdk.CallToolResult) {
	t.Helper()
	res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: tool, Arguments: args})
	require.NoError(t, err)
	var out map[string]any
	b, err := json.Marshal(res.StructuredContent)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &out))
	return out, res
}

func TestE2EPassThroughSessionsAreIsolated(t *testing.T) {
	emu := startUsersEmulator(t)
	srv := startServe(t, emu, e2eOwner, "--hf-token-passthrough")
	users := []struct{ name, token, own, other string }{
		{"alice", e2eAlice, "alice-llm", "bob-llm"},
		{"bob", e2eBob, "bob-llm", "alice-llm"},
	}
	for _, transport := range []string{"http", "sse"} {
		t.Run(transport, func(t *testing.T) {
			var wg sync.WaitGroup
			for _, u := range users {
				cs, err := connectWith(t, srv.base, transport, withBearer(u.token))
				require.NoError(t, err, "stderr:\n%s", srv.stderr)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 3 {
						who, _ := structuredOf(t, cs, "whoami", map[string]any{})
						assert.Equal(t, u.name, who["name"])
						list, res := structuredOf(t, cs, "list_endpoints", map[string]any{"namespace": "*"})
						require.False(t, res.IsError, textOf(res))
						var names []string
						for _, e := range list["endpoints"].([]any) {
							names = append(names, fmt.Sprint(e.(map[string]any)["name"]))
						}
						assert.Equal(t, []string{u.own}, names, "%s sees only their own endpoints", u.name)
						_, res = structuredOf(t, cs, "get_endpoint", map[string]any{"endpoint_name": u.other})
						assert.True(t, res.IsError, "%s's default namespace is theirs", u.name)
						_, res = structuredOf(t, cs, "get_endpoint", map[string]any{"endpoint_name": "owner-llm", "namespace": "owner"})
						assert.True(t, res.IsError, "the server's own token is never used")
						wire, _ := json.Marshal(res)
						assert.NotContains(t, string(wire), "hf_e2e_", "no token in any result")
					}
				}()
			}
			wg.Wait()
		})
	}
	for _, tok := range []string{e2eAlice, e2eBob, e2eOwner} {
		assert.NotContains(t, srv.stderr.String(), tok)
	}
}

// TestE2EPassThroughConfirmationsBelongToTheirCaller: two callers of one
// organisation; the confirmation token of alice's delete preview does not
// let bob delete the endpoint, and still lets alice.
func TestE2EPassThroughConfirmationsBelongToTheirCaller(t *testing.T) {
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{User: "owner", Tokens: []string{e2eOwner}, Seed: 7,
		Users:   []emulator.User{{Name: "alice", Orgs: []string{"team"}, Tokens: []string{e2eAlice}}, {Name: "bob", Orgs: []string{"team"}, Tokens: []string{e2eBob}}},
		Timings: fastTimings})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	srv := startServe(t, emu, e2eOwner, "--hf-token-passthrough")
	alice, err := connectWith(t, srv.base, "http", withBearer(e2eAlice))
	require.NoError(t, err, "stderr:\n%s", srv.stderr)
	bob, err := connectWith(t, srv.base, "http", withBearer(e2eBob))
	require.NoError(t, err, "stderr:\n%s", srv.stderr)

	spec := cpuSpec("shared-llm", "openai-community/gpt2", "text-generation")
	spec["namespace"] = "team"
	_, res := structuredOf(t, alice, "create_endpoint", spec)
	require.False(t, res.IsError, textOf(res))
	preview, res := structuredOf(t, alice, "delete_endpoint", map[string]any{"endpoint_name": "shared-llm", "namespace": "team"})
	require.False(t, res.IsError, textOf(res))
	require.Equal(t, "confirmation_required", preview["status"])
	token, _ := preview["confirmation_token"].(string)
	require.NotEmpty(t, token)

	_, res = structuredOf(t, bob, "delete_endpoint", map[string]any{"endpoint_name": "shared-llm", "namespace": "team", "confirmation_token": token})
	require.True(t, res.IsError, "bob cannot redeem alice's confirmation")
	assert.Contains(t, textOf(res), "another caller")
	assert.Zero(t, emu.Requests(http.MethodDelete, "/v2/endpoint/{namespace}/{name}"))

	done, res := structuredOf(t, alice, "delete_endpoint", map[string]any{"endpoint_name": "shared-llm", "namespace": "team", "confirmation_token": token})
	require.False(t, res.IsError, textOf(res))
	assert.Equal(t, true, done["deleted"])
	assert.EqualValues(t, 1, emu.Requests(http.MethodDelete, "/v2/endpoint/{namespace}/{name}"))
}

func TestE2EPassThroughRefusesAnInvalidTokenAtConnect(t *testing.T) {
	emu := startUsersEmulator(t)
	srv := startServe(t, emu, e2eOwner, "--hf-token-passthrough")
	for _, transport := range []string{"http", "sse"} {
		_, err := connectWith(t, srv.base, transport, withBearer("hf_e2e_revoked_000000"))
		assert.Error(t, err, "%s: an invalid HF token fails at connect", transport)
	}
	code, h, body := send(t, http.MethodPost, srv.base+"/mcp", e2eInitialize, map[string]string{"Authorization": "Bearer hf_e2e_revoked_000000"})
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Contains(t, h.Get("WWW-Authenticate"), `error="invalid_token"`)
	assert.Contains(t, body, "Hugging Face")
	code, _, _ = send(t, http.MethodPost, srv.base+"/mcp", e2eInitialize, nil)
	assert.Equal(t, http.StatusUnauthorized, code, "no token at all")
}

// TestE2EShutdownEndsStreamsAndInFlightCallsWithinFiveSeconds: with an SSE
// stream open and a wait_for_endpoint running (on an endpoint that will not be
// ready for an hour), cancelling serve (what SIGINT/SIGTERM do) returns
// within 5 s, and the waiting client gets an answer rather than a hang.
func TestE2EShutdownEndsStreamsAndInFlightCallsWithinFiveSeconds(t *testing.T) {
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Seed: 7, Timings: emulator.Timings{Deploy: time.Hour, IdleMinute: time.Hour}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	srv := startServe(t, emu, emu.Token())

	sse, err := connectWith(t, srv.base, "sse", http.DefaultClient)
	require.NoError(t, err)
	s := &session{progress: map[string][]*sdk.ProgressNotificationParams{}, arrived: make(chan struct{}, 1), stderr: srv.stderr}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "e2e", Version: "1"}, &sdk.ClientOptions{ProgressNotificationHandler: s.onProgress}).
		Connect(t.Context(), &sdk.StreamableClientTransport{Endpoint: srv.base + "/mcp", MaxRetries: -1}, &sdk.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	require.NoError(t, err)
	s.ClientSession = cs
	defer cs.Close()
	ok(t, s, emu, "create_endpoint", cpuSpec("slow", "openai-community/gpt2", "text-generation"))

	type outcome struct {
		res *sdk.CallToolResult
		err error
	}
	waits := make(chan outcome, 2)
	for _, c := range []*sdk.ClientSession{cs, sse} {
		go func() {
			params := &sdk.CallToolParams{Name: "wait_for_endpoint", Arguments: map[string]any{"endpoint_name": "slow", "timeout_seconds": 600}}
			if c == cs {
				params.SetProgressToken("shutdown-wait")
			}
			res, err := c.CallTool(context.Background(), params)
			waits <- outcome{res, err}
		}()
	}
	s.progressFor(t, "shutdown-wait", 1) // the streamable wait is running

	took, err := srv.stop(t)
	require.NoError(t, err)
	assert.Less(t, took, 5*time.Second, "serve must stop within 5 s; stderr:\n%s", srv.stderr)
	for range 2 {
		select {
		case o := <-waits:
			if o.err == nil {
				assert.Contains(t, textOf(o.res), "cancelled", "a running wait ends with a result saying so")
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a client waiting on wait_for_endpoint got no answer after shutdown")
		}
	}
	_, err = http.Get(srv.base + "/healthz")
	assert.Error(t, err, "the listener is closed")
}

// initSession opens a 2025-11-25 streamable HTTP session with raw requests
// and returns its id.
func initSession(t *testing.T, base string) string {
	t.Helper()
	code, h, body := send(t, http.MethodPost, base+"/mcp", e2eInitialize, nil)
	require.Equal(t, http.StatusOK, code, body)
	id := h.Get("Mcp-Session-Id")
	require.NotEmpty(t, id, "a stateful session")
	code, _, _ = send(t, http.MethodPost, base+"/mcp", `{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		map[string]string{"Mcp-Session-Id": id, "Mcp-Protocol-Version": "2025-11-25"})
	require.Equal(t, http.StatusAccepted, code)
	return id
}

func pingSession(t *testing.T, base, id string) int {
	t.Helper()
	code, _, _ := send(t, http.MethodPost, base+"/mcp", `{"jsonrpc":"2.0","id":7,"method":"ping"}`,
		map[string]string{"Mcp-Session-Id": id, "Mcp-Protocol-Version": "2025-11-25"})
	return code
}

func TestE2EStreamableSessionsEndOnDeleteAndWhenIdle(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	srv := startServe(t, emu, emu.Token(), "--session-idle-timeout", "1s")

	id := initSession(t, srv.base)
	require.Equal(t, http.StatusOK, pingSession(t, srv.base, id))
	code, _, _ := send(t, http.MethodDelete, srv.base+"/mcp", "", map[string]string{"Mcp-Session-Id": id, "Mcp-Protocol-Version": "2025-11-25"})
	require.Equal(t, http.StatusOK, code, "DELETE /mcp ends the session")
	assert.Equal(t, http.StatusNotFound, pingSession(t, srv.base, id), "an ended session is gone")

	idle := initSession(t, srv.base)
	require.Equal(t, http.StatusOK, pingSession(t, srv.base, idle))
	assert.Eventually(t, func() bool { return pingSession(t, srv.base, idle) == http.StatusNotFound }, 20*time.Second, 3*time.Second, // a ping is activity: leave gaps longer than the TTL plus the sweep interval
		"a session idle for longer than --session-idle-timeout expires")
}
