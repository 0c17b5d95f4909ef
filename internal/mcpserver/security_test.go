package mcpserver

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/httpsec"
)

// bearer is an http.RoundTripper that adds "Authorization: Bearer <token>",
// the way an MCP client configured with a header sends it.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

func bearerClient(token string) *http.Client {
	return &http.Client{Transport: bearer{token: token, next: http.DefaultTransport}}
}

// Tokens of the emulator's accounts in these tests.
const (
	aliceToken = "hf_alice_0123456789abcdef"
	bobToken   = "hf_bob_0123456789abcdef"
	ownerToken = "hf_server_owner_0123456789"
)

// twoUsers starts an emulator with alice and bob, each owning one endpoint,
// and the server owner (whose token must never serve a pass-through call).
func twoUsers(t testing.TB) *emulator.Server {
	t.Helper()
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{
		User: "owner", Tokens: []string{ownerToken},
		Users:   []emulator.User{{Name: "alice", Tokens: []string{aliceToken}}, {Name: "bob", Tokens: []string{bobToken}}},
		Timings: emulator.Timings{Deploy: time.Millisecond, IdleMinute: time.Hour},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	for _, u := range []struct{ token, endpoint string }{{aliceToken, "alice-llm"}, {bobToken, "bob-llm"}, {ownerToken, "owner-llm"}} {
		createEndpoint(t, emuClient(t, emu, u.token), u.endpoint)
	}
	return emu
}

func emuClient(t testing.TB, emu *emulator.Server, token string) *hfapi.Client {
	t.Helper()
	c, err := hfapi.New(emuConfig(emu, token))
	require.NoError(t, err)
	return c
}

func emuConfig(emu *emulator.Server, token string) hfapi.Config {
	return hfapi.Config{Token: token, APIBase: emu.APIBase(), HubBase: emu.HubBase(), CatalogBase: emu.CatalogBase()}
}

func createEndpoint(t testing.TB, c *hfapi.Client, name string) {
	t.Helper()
	_, err := c.Create(context.Background(), "", hfapi.CreateSpec{Name: name, Repository: "openai-community/gpt2",
		Framework: "pytorch", Accelerator: "cpu", InstanceSize: "x2", InstanceType: "intel-spr", Region: "us-east-1",
		Vendor: "aws", Task: "text-generation"})
	require.NoError(t, err)
}

// passThroughOptions serve emu with each caller's token; the server's own
// client (the owner's) is there to prove it is never used.
func passThroughOptions(t testing.TB, emu *emulator.Server) Options {
	return Options{
		Client: emuClient(t, emu, ownerToken),
		HTTP: HTTPOptions{
			Security: &httpsec.Config{Auth: httpsec.AuthOptions{PassThrough: true}, Logger: slog.New(slog.DiscardHandler)},
			TokenClient: func(_ context.Context, token string) (*hfapi.Client, error) {
				return hfapi.New(emuConfig(emu, token))
			},
		},
	}
}

// serve runs s on a loopback port until the test ends and returns its base URL.
func serve(t testing.TB, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	return "http://" + ln.Addr().String()
}

func connectAs(t testing.TB, base, token, transport, version string) *sdk.ClientSession {
	t.Helper()
	var tr sdk.Transport = &sdk.StreamableClientTransport{Endpoint: base + PathStreamable, MaxRetries: -1, HTTPClient: bearerClient(token)}
	if transport == "sse" {
		tr = &sdk.SSEClientTransport{Endpoint: base + PathSSE, HTTPClient: bearerClient(token)}
	}
	client := sdk.NewClient(&sdk.Implementation{Name: "security-test", Version: "1"}, nil)
	cs, err := client.Connect(context.Background(), tr, &sdk.ClientSessionOptions{ProtocolVersion: version})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func structured(t testing.TB, cs *sdk.ClientSession, tool string, args map[string]any) (map[string]any, string) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: tool, Arguments: args})
	require.NoError(t, err)
	var out map[string]any
	if !res.IsError {
		b, err := json.Marshal(res.StructuredContent)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &out))
	}
	return out, text(res)
}

func endpointNames(out map[string]any) []string {
	var names []string
	list, _ := out["endpoints"].([]any)
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			names = append(names, fmt.Sprint(m["name"]))
		}
	}
	return names
}

func TestPassThroughSessionsAreIsolated(t *testing.T) {
	emu := twoUsers(t)
	s := newServer(t, passThroughOptions(t, emu))
	base := serve(t, s)

	users := []struct{ name, token, own, other string }{
		{"alice", aliceToken, "alice-llm", "bob-llm"},
		{"bob", bobToken, "bob-llm", "alice-llm"},
	}
	for _, transport := range []string{"http", "sse"} {
		for _, era := range eras {
			t.Run(transport+"/"+era.name, func(t *testing.T) {
				var wg sync.WaitGroup
				for _, u := range users {
					cs := connectAs(t, base, u.token, transport, era.version)
					wg.Add(1)
					go func() {
						defer wg.Done()
						// Interleaved calls: a cached namespace or whoami leaking across sessions would show.
						for range 3 {
							who, msg := structured(t, cs, "whoami", map[string]any{})
							assert.Equal(t, u.name, who["name"], msg)
							list, msg := structured(t, cs, "list_endpoints", map[string]any{})
							assert.Equal(t, u.name, list["namespace"], msg)
							assert.Equal(t, []string{u.own}, endpointNames(list), "%s sees only their endpoints", u.name)
							out, msg := structured(t, cs, "get_endpoint", map[string]any{"endpoint_name": u.other})
							assert.Nil(t, out, "%s's default namespace is their own: %s", u.name, msg)
							out, msg = structured(t, cs, "get_endpoint", map[string]any{"endpoint_name": u.other, "namespace": strings.TrimSuffix(u.other, "-llm")})
							assert.Nil(t, out, "%s cannot read another user's namespace: %s", u.name, msg)
							out, msg = structured(t, cs, "get_endpoint", map[string]any{"endpoint_name": "owner-llm", "namespace": "owner"})
							assert.Nil(t, out, "the server owner's token is never used: %s", msg)
						}
					}()
				}
				wg.Wait()
			})
		}
	}
	assert.Equal(t, 2, s.sec.tokens.len(), "one cached client per token")
}

func TestPassThroughRefusesAnInvalidTokenAtConnect(t *testing.T) {
	emu := twoUsers(t)
	base := serve(t, newServer(t, passThroughOptions(t, emu)))

	client := sdk.NewClient(&sdk.Implementation{Name: "security-test", Version: "1"}, nil)
	_, err := client.Connect(context.Background(), &sdk.StreamableClientTransport{Endpoint: base + PathStreamable,
		MaxRetries: -1, HTTPClient: bearerClient("hf_revoked_token_000000")}, &sdk.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	require.Error(t, err, "an invalid HF token fails the connection, not a later tool call")

	req, err := http.NewRequest(http.MethodPost, base+PathStreamable, strings.NewReader(initializeBody))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := bearerClient("hf_revoked_token_000000").Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`)
	assert.NotContains(t, string(body), "hf_revoked")
}

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",` +
	`"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

func TestPassThroughOptionsAreChecked(t *testing.T) {
	build := func(context.Context, string) (*hfapi.Client, error) { return nil, nil }
	for name, tc := range map[string]struct {
		http HTTPOptions
		want string
	}{
		"no token client": {HTTPOptions{Security: &httpsec.Config{Auth: httpsec.AuthOptions{PassThrough: true}}}, "TokenClient"},
		"with a static token": {HTTPOptions{Security: &httpsec.Config{Auth: httpsec.AuthOptions{PassThrough: true, Token: "x"}},
			TokenClient: build}, "cannot be combined"},
		"OAuth without pass-through": {HTTPOptions{Security: &httpsec.Config{Auth: httpsec.AuthOptions{Token: "x",
			Resource: &httpsec.ProtectedResource{AuthorizationServers: []string{"https://huggingface.co"}}}}}, "needs Security.Auth.PassThrough"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(Options{NewClient: noToken, HTTP: tc.http})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestTokenClientsAreCachedPerTokenAndBounded(t *testing.T) {
	built := map[string]int{}
	c := newTokenClients(func(_ context.Context, tok string) (*hfapi.Client, error) {
		built[tok]++
		return hfapi.New(hfapi.Config{Token: tok})
	}, 2)
	ctx := context.Background()
	a1, err := c.get(ctx, "hf_a")
	require.NoError(t, err)
	a2, _ := c.get(ctx, "hf_a")
	b, _ := c.get(ctx, "hf_b")
	assert.Same(t, a1, a2, "one client per token")
	assert.NotSame(t, a1, b)
	_, _ = c.get(ctx, "hf_a") // a is now the most recently used
	_, _ = c.get(ctx, "hf_c") // evicts b
	assert.Equal(t, 2, c.len())
	_, _ = c.get(ctx, "hf_a")
	_, _ = c.get(ctx, "hf_b")
	assert.Equal(t, map[string]int{"hf_a": 1, "hf_b": 2, "hf_c": 1}, built, "the least recently used client went first")
}

func TestListenAndServeRefusesAnExposedAddressWithoutAuth(t *testing.T) {
	s := newServer(t, Options{HTTP: HTTPOptions{Security: &httpsec.Config{}}})
	err := s.ListenAndServe(context.Background(), "0.0.0.0:0")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--auth-token")

	withAuth := newServer(t, Options{HTTP: HTTPOptions{Security: &httpsec.Config{Auth: httpsec.AuthOptions{Token: "0123456789abcdef"}}}})
	assert.NoError(t, withAuth.checkListenAddr("0.0.0.0:8080"), "auth configured")
	passThrough := newServer(t, Options{HTTP: HTTPOptions{Security: &httpsec.Config{Auth: httpsec.AuthOptions{PassThrough: true}},
		TokenClient: func(context.Context, string) (*hfapi.Client, error) { return nil, nil }}})
	assert.NoError(t, passThrough.checkListenAddr("0.0.0.0:8080"), "pass-through counts as auth")
}

// TestHostAllowlistAndMCPGoAgree: a host added to the allowlist reaches the
// MCP server (mcp-go's own localhost check would refuse it on a loopback
// listener), and anything else gets the allowlist's 403 first.
func TestHostAllowlistAndMCPGoAgree(t *testing.T) {
	s := newServer(t, Options{HTTP: HTTPOptions{Security: &httpsec.Config{
		AllowedHosts: []string{"mcp.internal.example"}, Logger: slog.New(slog.DiscardHandler)}}})
	base := serve(t, s)
	for _, tc := range []struct {
		host string
		want int
	}{
		{"", http.StatusOK}, // the loopback address itself
		{"localhost", http.StatusOK},
		{"mcp.internal.example", http.StatusOK},
		{"evil.example.com", http.StatusForbidden},
	} {
		t.Run(tc.host, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, base+PathStreamable, strings.NewReader(initializeBody))
			require.NoError(t, err)
			if tc.host != "" {
				req.Host = tc.host
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			assert.Equal(t, tc.want, resp.StatusCode)
			if tc.want == http.StatusForbidden {
				assert.Equal(t, "application/json", resp.Header.Get("Content-Type"), "refused by the allowlist, not by mcp-go")
			}
		})
	}
}

func TestIdleSSEStreamsCarryKeepAliveComments(t *testing.T) {
	s := newServer(t, Options{HTTP: HTTPOptions{SSEKeepAlive: 20 * time.Millisecond}})
	base := serve(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+PathSSE, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var lines []string
	for sc.Scan() && !strings.HasPrefix(sc.Text(), ":") {
		lines = append(lines, sc.Text())
	}
	require.Equal(t, ": keep-alive", sc.Text(), "a comment follows the endpoint event; before it: %q", lines)
	assert.True(t, strings.HasPrefix(lines[0], "event: endpoint"), "the endpoint event comes first and whole")

	// Clients that parse SSE properly ignore the comments.
	seen := make(chan struct{})
	var once sync.Once
	hc := &http.Client{Transport: watchBody{next: http.DefaultTransport, marker: ": keep-alive", seen: func() { once.Do(func() { close(seen) }) }}}
	cs := connect(t, &sdk.SSEClientTransport{Endpoint: base + PathSSE, HTTPClient: hc}, "2025-11-25")
	select {
	case <-seen:
	case <-time.After(10 * time.Second):
		t.Fatal("no keep-alive comment reached the SDK client's stream")
	}
	assert.NotEmpty(t, toolNames(t, cs), "the session works after comments")
}

// watchBody calls seen when a response body contains marker.
type watchBody struct {
	next   http.RoundTripper
	marker string
	seen   func()
}

func (w watchBody) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(r)
	if err == nil {
		resp.Body = &watchedBody{ReadCloser: resp.Body, w: w}
	}
	return resp, err
}

type watchedBody struct {
	io.ReadCloser
	w watchBody
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if strings.Contains(string(p[:n]), b.w.marker) {
		b.w.seen()
	}
	return n, err
}

// rawRequest sends one request with a bearer and optional session id and
// returns the status (streams are not read).
func rawRequest(t *testing.T, method, url, token, session, body string) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // also ends a GET stream
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	require.NoError(t, err)
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header
}

func TestASessionBelongsToTheTokenThatOpenedIt(t *testing.T) {
	emu := twoUsers(t)
	s := newServer(t, passThroughOptions(t, emu))
	base := serve(t, s)
	mcpURL := base + PathStreamable
	ping := `{"jsonrpc":"2.0","id":9,"method":"ping"}`

	code, hdr := rawRequest(t, http.MethodPost, mcpURL, aliceToken, "", initializeBody)
	require.Equal(t, http.StatusOK, code)
	alice := hdr.Get("Mcp-Session-Id")
	require.NotEmpty(t, alice)
	code, _ = rawRequest(t, http.MethodPost, mcpURL, aliceToken, alice, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	require.Equal(t, http.StatusAccepted, code)

	code, _ = rawRequest(t, http.MethodPost, mcpURL, bobToken, alice, ping)
	assert.Equal(t, http.StatusNotFound, code, "another caller cannot post into the session")
	code, _ = rawRequest(t, http.MethodGet, mcpURL, bobToken, alice, "")
	assert.Equal(t, http.StatusNotFound, code, "nor open its notification stream")
	code, _ = rawRequest(t, http.MethodPost, mcpURL, aliceToken, alice, ping)
	assert.Equal(t, http.StatusOK, code, "the owner still can")

	code, _ = rawRequest(t, http.MethodPost, mcpURL, bobToken, "made-up-session-id", ping)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, 1, s.sec.owners.len(), "an unknown id leaves no claim behind")
	code, _ = rawRequest(t, http.MethodDelete, mcpURL, aliceToken, alice, "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, 0, s.sec.owners.len(), "an ended session is released")

	// Legacy SSE: the session id travels in the /message URL.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+PathSSE, nil)
	require.NoError(t, err)
	resp, err := bearerClient(aliceToken).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var endpoint string
	for endpoint == "" && sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			endpoint = d
		}
	}
	require.Contains(t, endpoint, "sessionId=")
	code, _ = rawRequest(t, http.MethodPost, base+endpoint, aliceToken, "", initializeBody)
	assert.Equal(t, http.StatusAccepted, code)
	code, _ = rawRequest(t, http.MethodPost, base+endpoint, bobToken, "", ping)
	assert.Equal(t, http.StatusNotFound, code, "another caller cannot post into a legacy SSE session")
}

func TestServeSetsHeaderAndIdleTimeoutsButNoWriteTimeout(t *testing.T) {
	type timeouts struct {
		readHeader, idle, write, read time.Duration
		maxHeader                     int
	}
	got := make(chan timeouts, 1)
	s := newServer(t, Options{ConfigureHTTPServer: func(srv *http.Server) {
		got <- timeouts{srv.ReadHeaderTimeout, srv.IdleTimeout, srv.WriteTimeout, srv.ReadTimeout, srv.MaxHeaderBytes}
	}})
	serve(t, s)
	to := <-got
	assert.Positive(t, to.readHeader, "slow-header clients are cut off")
	assert.Positive(t, to.idle)
	assert.Positive(t, to.maxHeader)
	assert.Zero(t, to.write, "streams are long-lived")
	assert.Zero(t, to.read, "body reads are bounded by the body limit's own deadline")
}

// TestPassThroughVerifiesTokensBeforeBuildingClients: with VerifyToken, a
// token that fails verification never reaches TokenClient; good ones do, once.
func TestPassThroughVerifiesTokensBeforeBuildingClients(t *testing.T) {
	emu := twoUsers(t)
	opts := passThroughOptions(t, emu)
	var mu sync.Mutex
	built := map[string]int{}
	build := opts.HTTP.TokenClient
	opts.HTTP.TokenClient = func(ctx context.Context, token string) (*hfapi.Client, error) {
		mu.Lock()
		built[token]++
		mu.Unlock()
		return build(ctx, token)
	}
	verified := map[string]int{}
	opts.HTTP.VerifyToken = func(ctx context.Context, token string) (*hfapi.Whoami, error) {
		mu.Lock()
		verified[token]++
		mu.Unlock()
		return emuClient(t, emu, token).Whoami(ctx)
	}
	base := serve(t, newServer(t, opts))

	for range 3 {
		code, hdr := rawRequest(t, http.MethodPost, base+PathStreamable, "hf_made_up_token_0000", "", initializeBody)
		assert.Equal(t, http.StatusUnauthorized, code)
		assert.Contains(t, hdr.Get("WWW-Authenticate"), "invalid_token")
	}
	cs := connectAs(t, base, aliceToken, "http", "2025-11-25")
	for range 3 {
		who, msg := structured(t, cs, "whoami", map[string]any{})
		assert.Equal(t, "alice", who["name"], msg)
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, map[string]int{aliceToken: 1}, built, "only verified tokens get a client, once")
	assert.Equal(t, map[string]int{aliceToken: 1, "hf_made_up_token_0000": 1}, verified,
		"each token is checked with the Hub once: a rejection is remembered for a while too")
}

// TestOAuthCallersAreTheirAccount: under OAuth a caller is named by the Hub
// account whoami reports (its id, which survives renames), and work done for
// them outside a request uses the client of their latest token.
func TestOAuthCallersAreTheirAccount(t *testing.T) {
	for _, tc := range []struct{ whoami, want string }{
		{`{"type":"user","id":"64a1","name":"alice"}`, "hf-user:64a1"},
		{`{"type":"user","name":"alice"}`, "hf-user:alice"},
		{`{"name":"alice"}`, "hf-user:alice"},
	} {
		var w hfapi.Whoami
		require.NoError(t, json.Unmarshal([]byte(tc.whoami), &w))
		assert.Equal(t, tc.want, subjectOf(&w), tc.whoami)
	}

	c := newTokenClients(func(_ context.Context, tok string) (*hfapi.Client, error) { return hfapi.New(hfapi.Config{Token: tok}) }, 2)
	_, err := c.latestFor("hf-user:alice")
	require.Error(t, err, "nobody seen yet")
	first, _ := c.get(context.Background(), "hf_oauth_first")
	c.remember("hf-user:alice", first)
	refreshed, _ := c.get(context.Background(), "hf_oauth_refreshed")
	c.remember("hf-user:alice", refreshed)
	got, err := c.latestFor("hf-user:alice")
	require.NoError(t, err)
	assert.Same(t, refreshed, got)
	for _, s := range []string{"hf-user:bob", "hf-user:carol", "hf-user:dave"} {
		c.remember(s, first)
	}
	assert.LessOrEqual(t, len(c.latest), 2, "bounded like the client cache")
}
