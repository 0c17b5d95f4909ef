package e2e

// Fault-injection tests: the emulator fails in the ways the real service and
// networks do (429 with Retry-After, 5xx, answers slower than the client's
// timeout, dropped connections, malformed JSON), and the MCP tools, driven by
// the official Go SDK client, retry reads, never repeat a create, and report
// what is left as clear isError results. A last test scans every transcript
// (tools, resources, prompts, completions, over every transport) and log for
// the token.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/mcpserver"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/resources"
)

// Routes of the management API the faults target.
const (
	faultRouteEndpoint = "/v2/endpoint/{namespace}/{name}"
	faultRouteCreate   = "/v2/endpoint/{namespace}"
	faultRouteInfer    = "/e/{id}"
)

// clientTimeout is the API client's HTTP timeout in these tests: an answer
// slower than this is a timeout.
const clientTimeout = 500 * time.Millisecond

// faultSession serves MCP in process over streamable HTTP on loopback, with
// an API client whose timeout is clientTimeout and whose retry backoff is
// short, and connects the Go SDK client to it.
func faultSession(t *testing.T, emu *emulator.Server) *session {
	t.Helper()
	stderr := &lockedBuffer{}
	client, err := hfapi.New(hfapi.Config{Token: emu.Token(), APIBase: emu.APIBase(), HubBase: emu.HubBase(),
		CatalogBase: emu.CatalogBase(), HTTPClient: &http.Client{Timeout: clientTimeout},
		Retry: hfapi.RetryPolicy{BaseDelay: 5 * time.Millisecond, MaxDelay: 2 * time.Second}})
	require.NoError(t, err)
	srv, err := mcpserver.New(mcpserver.Options{Client: client, Version: "faults", WaitPoll: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.HTTPHandler().CloseSessions(context.Background())
		ts.Close()
		assert.NotContains(t, stderr.String(), emu.Token(), "the server log never holds the token")
	})
	s := &session{progress: map[string][]*sdk.ProgressNotificationParams{}, arrived: make(chan struct{}, 1), stderr: stderr}
	client2 := sdk.NewClient(&sdk.Implementation{Name: "faults", Version: "1"}, &sdk.ClientOptions{ProgressNotificationHandler: s.onProgress})
	cs, err := client2.Connect(t.Context(), &sdk.StreamableClientTransport{Endpoint: ts.URL + mcpserver.PathStreamable, MaxRetries: -1}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	s.ClientSession = cs
	return s
}

// faultEndpoint creates a running endpoint named name to aim faults at.
func faultEndpoint(t *testing.T, s *session, emu *emulator.Server, name string) {
	t.Helper()
	spec := cpuSpec(name, "openai-community/gpt2", "text-generation")
	spec["wait"] = true
	out := ok(t, s, emu, "create_endpoint", spec)
	require.Equal(t, true, out["ready"])
}

func inject(t *testing.T, emu *emulator.Server, f emulator.Fault) {
	t.Helper()
	emu.ClearFaults()
	require.NoError(t, emu.InjectFault(f))
}

// TestFaultsTransientReadFailuresAreRetried: reads outlive rate limits,
// gateway errors, dropped connections and an answer slower than the timeout.
func TestFaultsTransientReadFailuresAreRetried(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	s := faultSession(t, emu)
	faultEndpoint(t, s, emu, "steady")
	cases := []struct {
		name  string
		fault emulator.Fault
		calls int64 // GETs the read takes in all
	}{
		{"429 with Retry-After", emulator.Fault{Status: 429, RetryAfter: time.Second, Count: 1}, 2},
		{"502 then 503", emulator.Fault{Status: 503, Count: 2}, 3},
		// Count 2: Go's transport silently retries a GET once when a reused connection drops.
		{"dropped connections", emulator.Fault{Drop: true, Count: 2}, 3},
		{"an answer slower than the client timeout", emulator.Fault{Latency: 3 * clientTimeout, Count: 1}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.fault
			f.Method, f.Route = "GET", faultRouteEndpoint
			inject(t, emu, f)
			before := emu.Requests("GET", faultRouteEndpoint)
			got := ok(t, s, emu, "get_endpoint", map[string]any{"endpoint_name": "steady"})
			assert.Equal(t, "running", endpointOf(got)["state"])
			assert.GreaterOrEqual(t, emu.Requests("GET", faultRouteEndpoint)-before, tc.calls, "the read was retried")
		})
	}
}

// TestFaultsRetriesReachClientsThatAskForLogs: a client that asks for log
// messages (logging/setLevel in 2025-11-25, the request's log level in
// 2026-07-28) hears of each retried read as it happens; one that did not
// ask hears nothing.
func TestFaultsRetriesReachClientsThatAskForLogs(t *testing.T) {
	forEachTransportAndEra(t, fastTimings, func(t *testing.T, emu *emulator.Server, s *session, era string) {
		ok(t, s, emu, "create_endpoint", cpuSpec("noisy", "openai-community/gpt2", "text-generation"))
		get := func(meta sdk.Meta) {
			inject(t, emu, emulator.Fault{Method: "GET", Route: faultRouteEndpoint, Status: 503, Count: 1})
			res, err := s.CallTool(t.Context(), &sdk.CallToolParams{Name: "get_endpoint", Meta: meta,
				Arguments: map[string]any{"endpoint_name": "noisy"}})
			require.NoError(t, err)
			require.False(t, res.IsError, textOf(res))
		}
		get(nil)
		assert.Empty(t, s.logsSeen(), "no log messages unless asked for")

		var meta sdk.Meta
		if s.InitializeResult().ProtocolVersion >= "2026-07-28" {
			meta = sdk.Meta{"io.modelcontextprotocol/logLevel": "warning"}
		} else {
			require.NoError(t, s.SetLoggingLevel(t.Context(), &sdk.SetLoggingLevelParams{Level: "warning"}))
		}
		get(meta)
		deadline := time.After(10 * time.Second)
		for len(s.logsSeen()) == 0 {
			select {
			case <-s.arrived:
			case <-deadline:
				t.Fatalf("%s: no log message about the retried read", era)
			}
		}
		msg := s.logsSeen()[0]
		assert.Equal(t, sdk.LoggingLevel("warning"), msg.Level)
		assert.Equal(t, "hf-endpoints-mcp", msg.Logger)
		assert.Contains(t, fmt.Sprint(msg.Data), "get endpoint emulator-user/noisy: HTTP 503; retrying in")
	})
}

// TestFaultsAWaitOutlivesABriefOutage: polls that fail for a moment (5xx,
// a dropped connection) do not end a wait; it still reports the endpoint ready.
func TestFaultsAWaitOutlivesABriefOutage(t *testing.T) {
	slow := fastTimings
	slow.Deploy = 400 * time.Millisecond
	emu := startEmulator(t, slow)
	s := faultSession(t, emu)
	ok(t, s, emu, "create_endpoint", cpuSpec("patient", "openai-community/gpt2", "text-generation"))
	inject(t, emu, emulator.Fault{Method: "GET", Route: faultRouteEndpoint, Status: 500, Count: 3})
	before := emu.Requests("GET", faultRouteEndpoint)
	out := ok(t, s, emu, "wait_for_endpoint", map[string]any{"endpoint_name": "patient", "poll_seconds": 0.02}, "wait-patient")
	assert.Equal(t, true, out["ready"], "the wait went on through the failed polls")
	assert.GreaterOrEqual(t, emu.Requests("GET", faultRouteEndpoint)-before, int64(4), "three failed polls, then good ones")
}

// TestFaultsLastingFailuresAreClearToolErrors: what retries cannot fix comes
// back as an isError result that says what failed, never a protocol error
// or a hang.
func TestFaultsLastingFailuresAreClearToolErrors(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	s := faultSession(t, emu)
	faultEndpoint(t, s, emu, "steady")
	cases := []struct {
		name  string
		fault emulator.Fault
		tool  string
		args  map[string]any
		want  []string
	}{
		{"500 on a read is not retried", emulator.Fault{Method: "GET", Route: faultRouteEndpoint, Status: 500},
			"get_endpoint", map[string]any{"endpoint_name": "steady"}, []string{"get_endpoint failed", "500"}},
		{"lasting 503", emulator.Fault{Method: "GET", Route: faultRouteEndpoint, Status: 503},
			"get_endpoint", map[string]any{"endpoint_name": "steady"}, []string{"get_endpoint failed", "503"}},
		{"malformed JSON", emulator.Fault{Method: "GET", Route: faultRouteEndpoint, MalformedJSON: true},
			"get_endpoint", map[string]any{"endpoint_name": "steady"}, []string{"get_endpoint failed", "steady", "decoding response"}},
		// Every answer slower than the client's timeout: the retries run out.
		{"answers slower than the client timeout", emulator.Fault{Method: "GET", Route: faultRouteEndpoint, Latency: 3 * clientTimeout},
			"get_endpoint", map[string]any{"endpoint_name": "steady"}, []string{"get_endpoint timed out", "did not answer in time", "retry"}},
		{"lasting 429 on the list", emulator.Fault{Method: "GET", Route: faultRouteCreate, Status: 429, RetryAfter: time.Second},
			"list_endpoints", map[string]any{}, []string{"list_endpoints failed", "429"}},
		{"500 on pause", emulator.Fault{Method: "POST", Route: faultRouteEndpoint + "/pause", Status: 500},
			"pause_endpoint", map[string]any{"endpoint_name": "steady"}, []string{"pause_endpoint failed", "500"}},
		{"429 on generation", emulator.Fault{Method: "POST", Route: faultRouteInfer, Status: 429, RetryAfter: time.Second},
			"text_generation", map[string]any{"endpoint_name": "steady", "prompt": "hi"}, []string{"text_generation failed", "429"}},
		{"malformed generation", emulator.Fault{Method: "POST", Route: faultRouteInfer, MalformedJSON: true},
			"text_generation", map[string]any{"endpoint_name": "steady", "prompt": "hi"}, []string{"text_generation failed"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inject(t, emu, tc.fault)
			msg := failing(t, s, emu, tc.tool, tc.args)
			for _, want := range tc.want {
				assert.Contains(t, msg, want)
			}
		})
	}
	emu.ClearFaults()
	paused := ok(t, s, emu, "pause_endpoint", map[string]any{"endpoint_name": "steady"})
	assert.Equal(t, "paused", endpointOf(paused)["state"], "once the faults stop, the tools work again")
	assert.Equal(t, int64(2), emu.Requests("POST", faultRouteEndpoint+"/pause"), "the failed pause was not retried blindly")
}

// TestFaultsACreateWithoutAnAnswerIsNeverSentTwice: whether the create was
// lost before or after the service acted, the tool finds out with a GET by
// name and does not POST again.
func TestFaultsACreateWithoutAnAnswerIsNeverSentTwice(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	s := faultSession(t, emu)
	ok(t, s, emu, "whoami", map[string]any{}) // the namespace lookup is not part of what is counted

	t.Run("timed out before it was created", func(t *testing.T) {
		inject(t, emu, emulator.Fault{Method: "POST", Route: faultRouteCreate, Latency: 4 * clientTimeout, Count: 1})
		posts, gets := emu.Requests("POST", faultRouteCreate), emu.Requests("GET", faultRouteEndpoint)
		msg := failing(t, s, emu, "create_endpoint", cpuSpec("slow-create", "openai-community/gpt2", "text-generation"))
		assert.Contains(t, msg, "create_endpoint timed out")
		assert.Contains(t, msg, "not created; it is safe to try again")
		assert.Equal(t, int64(1), emu.Requests("POST", faultRouteCreate)-posts, "one POST")
		assert.GreaterOrEqual(t, emu.Requests("GET", faultRouteEndpoint)-gets, int64(1), "checked by name")

		ok(t, s, emu, "create_endpoint", cpuSpec("slow-create", "openai-community/gpt2", "text-generation"))
		assert.Equal(t, 1, countNamed(t, s, emu, "slow-create"))
	})
	t.Run("connection dropped before it was created", func(t *testing.T) {
		inject(t, emu, emulator.Fault{Method: "POST", Route: faultRouteCreate, Drop: true, Count: 2})
		posts := emu.Requests("POST", faultRouteCreate)
		msg := failing(t, s, emu, "create_endpoint", cpuSpec("dropped", "openai-community/gpt2", "text-generation"))
		assert.Contains(t, msg, "safe to try again")
		assert.Equal(t, int64(1), emu.Requests("POST", faultRouteCreate)-posts, "a POST is never resent")
		assert.Equal(t, 0, countNamed(t, s, emu, "dropped"))
	})
	t.Run("answer lost after it was created", func(t *testing.T) {
		// The handler runs and creates the endpoint; only half of its answer arrives.
		inject(t, emu, emulator.Fault{Method: "POST", Route: faultRouteCreate, MalformedJSON: true, Count: 1})
		posts := emu.Requests("POST", faultRouteCreate)
		out := ok(t, s, emu, "create_endpoint", cpuSpec("half-answer", "openai-community/gpt2", "text-generation"))
		assert.Equal(t, "half-answer", endpointOf(out)["name"], "the endpoint found by name is reported")
		assert.Equal(t, int64(1), emu.Requests("POST", faultRouteCreate)-posts, "one POST")
		assert.Equal(t, 1, countNamed(t, s, emu, "half-answer"))
	})
}

// countNamed counts the listed endpoints called name.
func countNamed(t *testing.T, s *session, emu *emulator.Server, name string) int {
	t.Helper()
	emu.ClearFaults()
	list := ok(t, s, emu, "list_endpoints", map[string]any{})
	n := 0
	for _, e := range list["endpoints"].([]any) {
		if e.(map[string]any)["name"] == name {
			n++
		}
	}
	return n
}

// distinctiveToken is a token no output could contain by chance.
const distinctiveToken = "hf_zQ9xLeakCanary7c4e1b2d8a6f3091"

// transcript records what a client sent and everything it received: the
// JSON-RPC messages of a LoggingTransport over stdio, and over HTTP the bodies
// of the requests and the status, headers and body of every response (the
// SDK's HTTP transports cannot be wrapped in a LoggingTransport: it hides the
// negotiated session from them, so that they open no GET stream and send
// notifications without their protocol version header).
type transcript struct {
	sent lockedBuffer

	mu       sync.Mutex
	received []*lockedBuffer // one per LoggingTransport or HTTP response
	logged   *lockedBuffer
}

// Write takes the lines of a LoggingTransport: "read…" lines are what the
// client received, the others what it sent.
func (tr *transcript) Write(p []byte) (int, error) {
	if !bytes.HasPrefix(p, []byte("read")) {
		return tr.sent.Write(p)
	}
	tr.mu.Lock()
	if tr.logged == nil {
		tr.logged = tr.newReceived()
	}
	tr.mu.Unlock()
	return tr.logged.Write(p)
}

// newReceived adds a buffer for one stream of received bytes; tr.mu is held.
func (tr *transcript) newReceived() *lockedBuffer {
	b := &lockedBuffer{}
	tr.received = append(tr.received, b)
	return b
}

// Received returns everything the client received, stream after stream (each
// kept whole, so that nothing can hide a token by interleaving).
func (tr *transcript) Received() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var b strings.Builder
	for _, r := range tr.received {
		b.WriteString(r.String())
		b.WriteString("\n")
	}
	return b.String()
}

// httpClient records the requests it sends and the responses it receives.
func (tr *transcript) httpClient() *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Body != nil {
			body, err := io.ReadAll(r.Body)
			_ = r.Body.Close()
			if err != nil {
				return nil, err
			}
			_, _ = tr.sent.Write(append(body, '\n'))
			r = r.Clone(r.Context())
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		tr.mu.Lock()
		rec := tr.newReceived()
		tr.mu.Unlock()
		fmt.Fprintf(rec, "HTTP %s %v\n", resp.Status, resp.Header)
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.TeeReader(resp.Body, rec), resp.Body}
		return resp, nil
	})}
}

// TestFaultsTokenNeverAppearsInTranscriptsOrLogs drives the server binary
// over stdio, and the serve command over streamable HTTP and legacy SSE, in
// both protocol eras, with debug logs, through tool calls (successes,
// progress, failures, faults and a confirmed delete), resources (list,
// templates, read, subscribe and its notifications, unsubscribe), prompts
// and completions, and scans everything the server sent, its stderr, the
// audit log and the emulator's log for the token.
func TestFaultsTokenNeverAppearsInTranscriptsOrLogs(t *testing.T) {
	for _, transport := range transports {
		for _, era := range eras {
			t.Run(transport+"/"+era.name, func(t *testing.T) {
				emuLog := &lockedBuffer{}
				emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Tokens: []string{distinctiveToken}, Seed: 7, Timings: fastTimings,
					Logger: slog.New(slog.NewTextHandler(emuLog, &slog.HandlerOptions{Level: slog.LevelDebug}))})
				require.NoError(t, err)
				t.Cleanup(func() { _ = emu.Close() })
				require.Equal(t, distinctiveToken, emu.Token())

				wire, stderr, state := &transcript{}, &lockedBuffer{}, t.TempDir()
				s := canarySession(t, emu, transport, era.version, wire, stderr, state)
				require.Equal(t, era.want, s.InitializeResult().ProtocolVersion)
				exerciseEverything(t, s, emu)
				require.NoError(t, s.Close())
				auditLog := readAuditLogs(t, state)
				require.Contains(t, auditLog, `"tool":"create_endpoint"`, "mutating calls were audited")

				require.Contains(t, wire.sent.String(), `"tools/call"`, "the transcript was recorded")
				require.Contains(t, wire.sent.String(), distinctiveToken, "the client did send the token (as a secret), so the scan can fail")
				require.Contains(t, stderr.String(), "level=DEBUG", "debug logs were on")
				received := wire.Received()
				for _, kind := range []string{`"notifications/progress"`, `"notifications/resources/updated"`,
					`"notifications/resources/list_changed"`, `"resources":[`, `"resourceTemplates":[`, `"contents":[`,
					`"prompts":[`, `"messages":[`, `"completion":{`, `"isError":true`, `"error":{`} {
					assert.Contains(t, received, kind, "the scanned transcript holds this kind of message")
				}
				for what, text := range map[string]string{"server's messages": received,
					"server stderr": stderr.String(), "emulator log": emuLog.String(), "audit log": auditLog} {
					for _, needle := range []string{distinctiveToken, distinctiveToken[3:19], distinctiveToken[16:]} {
						if i := strings.Index(text, needle); i >= 0 {
							t.Errorf("the token (%q) appears in the %s: …%s…", needle, what, text[max(0, i-200):min(len(text), i+100)])
						}
					}
				}
			})
		}
	}
}

// readAuditLogs returns every file the server wrote under dir: its audit log.
func readAuditLogs(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		b.Write(raw)
		return err
	}))
	return b.String()
}

// canary is a session of the token scan that also records resource notifications.
type canary struct {
	*session
	updated     chan string
	listChanged chan struct{}
}

// canarySession connects the Go SDK client, recording the transcript, to the
// binary over stdio or to the serve command over streamable HTTP or legacy
// SSE, speaking protocol version (the SDK's default when empty).
func canarySession(t *testing.T, emu *emulator.Server, transport, version string, wire *transcript, stderr *lockedBuffer, state string) *canary {
	t.Helper()
	s := &canary{session: &session{progress: map[string][]*sdk.ProgressNotificationParams{}, arrived: make(chan struct{}, 1), stderr: stderr},
		updated: make(chan string, 64), listChanged: make(chan struct{}, 1)}
	var tr sdk.Transport
	switch transport {
	case "stdio":
		env := append(backendEnv(t, emu), envAuditLog+"="+filepath.Join(state, "audit.jsonl"))
		tr = &sdk.LoggingTransport{Writer: wire, Transport: &sdk.CommandTransport{
			Command: serverCommand(t, stderr, []string{"serve", "--log-level", "debug"}, env...), TerminateDuration: 5 * time.Second}}
	case "http":
		t.Setenv(envAuditLog, filepath.Join(state, "audit.jsonl"))
		tr = &sdk.StreamableClientTransport{Endpoint: serveHTTP(t, emu, "http", stderr, "--log-level", "debug") + "/mcp", MaxRetries: -1,
			HTTPClient: wire.httpClient()}
	case "sse":
		t.Setenv(envAuditLog, filepath.Join(state, "audit.jsonl"))
		tr = &sdk.SSEClientTransport{Endpoint: serveHTTP(t, emu, "sse", stderr, "--log-level", "debug") + "/sse", HTTPClient: wire.httpClient()}
	default:
		t.Fatalf("unknown transport %q", transport)
	}
	opts := &sdk.ClientOptions{
		ProgressNotificationHandler: s.onProgress,
		ElicitationHandler: func(_ context.Context, req *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
			return &sdk.ElicitResult{Action: "accept", Content: map[string]any{"confirm": "emulator-user/canary"}}, nil
		},
	}
	recordResourceNotifications(opts, s.updated, s.listChanged)
	client := sdk.NewClient(&sdk.Implementation{Name: "canary", Version: "1"}, opts)
	cs, err := client.Connect(t.Context(), tr, &sdk.ClientSessionOptions{ProtocolVersion: version})
	require.NoError(t, err, "server stderr:\n%s", stderr)
	s.ClientSession = cs
	return s
}

// exerciseEverything makes tool calls that succeed, report progress, fail in
// the tool, fail in the API and meet injected faults, and uses resources,
// subscriptions, prompts and completions, so that the server sends every
// kind of message it has.
func exerciseEverything(t *testing.T, c *canary, emu *emulator.Server) {
	s := c.session
	ok(t, s, emu, "whoami", map[string]any{})
	ok(t, s, emu, "list_hardware", map[string]any{"accelerator": "cpu"})
	spec := cpuSpec("canary", "openai-community/gpt2", "text-generation")
	spec["wait"] = true
	spec["secrets"] = map[string]any{"HF_TOKEN": distinctiveToken} // a user pasting the token as a secret
	spec["env"] = map[string]any{"NOTE": "harmless"}
	ok(t, s, emu, "create_endpoint", spec, "canary-create")
	uri := exerciseCanaryReads(t, c)
	require.NoError(t, c.Subscribe(t.Context(), &sdk.SubscribeParams{URI: uri}))
	waitPolls(t, emu, 3) // the server watches the endpoint, with a baseline

	ok(t, s, emu, "get_endpoint", map[string]any{"endpoint_name": "canary"})
	ok(t, s, emu, "list_endpoints", map[string]any{"namespace": "*"})
	ok(t, s, emu, "text_generation", map[string]any{"endpoint_name": "canary", "prompt": "Echo " + distinctiveToken[:6], "stream": true, "max_new_tokens": 6}, "canary-gen")
	ok(t, s, emu, "chat_completion", map[string]any{"endpoint_name": "canary", "messages": []any{map[string]any{"role": "user", "content": "hi"}}})
	ok(t, s, emu, "get_endpoint_metrics", map[string]any{"endpoint_name": "canary"})
	failing(t, s, emu, "get_endpoint", map[string]any{"endpoint_name": "missing"})
	failing(t, s, emu, "get_endpoint", map[string]any{"endpoint_name": "canary", "typo": 1})

	for _, f := range []emulator.Fault{
		{Method: "GET", Route: faultRouteEndpoint, Status: 500, Count: 1},
		{Method: "GET", Route: faultRouteEndpoint, MalformedJSON: true, Count: 1},
		{Method: "GET", Route: faultRouteEndpoint, Status: 401, Count: 1},
	} {
		require.NoError(t, emu.InjectFault(f))
		call(t, s, emu, "get_endpoint", map[string]any{"endpoint_name": "canary"})
	}
	emu.ClearFaults()
	drainCanaryUpdates(c) // what inference changed in the document
	ok(t, s, emu, "pause_endpoint", map[string]any{"endpoint_name": "canary"})
	assert.Equal(t, uri, nextURI(t, c.updated), "the subscription heard of the pause")
	// An endpoint appearing out of band changes the resource list.
	_, err := outOfBand(t, emu).Create(t.Context(), "", hfapi.CreateSpec{Name: "canary-two", Repository: "openai-community/gpt2",
		Framework: "pytorch", Task: "text-generation", Accelerator: "cpu", Vendor: "aws", Region: "us-east-1",
		InstanceType: "intel-spr", InstanceSize: "x1"})
	require.NoError(t, err)
	select {
	case <-c.listChanged:
	case <-time.After(20 * time.Second):
		t.Fatal("no notifications/resources/list_changed")
	}
	require.NoError(t, c.Unsubscribe(t.Context(), &sdk.UnsubscribeParams{URI: uri}))

	failing(t, s, emu, "text_generation", map[string]any{"endpoint_name": "canary", "prompt": "hi"})
	if res := call(t, s, emu, "delete_endpoint", map[string]any{"endpoint_name": "canary"}); res.IsError {
		t.Logf("delete_endpoint: %s", textOf(res))
	}
	s.progressFor(t, "canary-create", 1)
}

// exerciseCanaryReads lists and reads the resources (a missing one too),
// lists and gets the prompts (one without its required argument), asks for
// completions, and returns the canary endpoint's resource URI.
func exerciseCanaryReads(t *testing.T, c *canary) string {
	ctx := t.Context()
	list, err := c.ListResources(ctx, nil)
	require.NoError(t, err)
	require.Len(t, list.Resources, 1)
	uri := list.Resources[0].URI
	_, err = c.ListResourceTemplates(ctx, nil)
	require.NoError(t, err)
	res, err := c.ReadResource(ctx, &sdk.ReadResourceParams{URI: uri})
	require.NoError(t, err)
	require.Len(t, res.Contents, 1)
	_, err = c.ReadResource(ctx, &sdk.ReadResourceParams{URI: "hf-endpoints://" + emulator.DefaultUser + "/missing"})
	require.Error(t, err)

	prompts, err := c.ListPrompts(ctx, nil)
	require.NoError(t, err)
	require.NotEmpty(t, prompts.Prompts)
	args := map[string]map[string]string{"batch_job": {"endpoint_name": "canary"}, "troubleshoot_endpoint": {"endpoint_name": "canary"},
		"deploy_model": {"repository": "openai-community/gpt2"}}
	for _, p := range prompts.Prompts {
		_, err := c.GetPrompt(ctx, &sdk.GetPromptParams{Name: p.Name, Arguments: args[p.Name]})
		require.NoError(t, err, p.Name)
	}
	_, err = c.GetPrompt(ctx, &sdk.GetPromptParams{Name: "batch_job"})
	require.Error(t, err, "endpoint_name is required")

	for _, ref := range []*sdk.CompleteReference{{Type: "ref/prompt", Name: "batch_job"}, {Type: "ref/resource", URI: resources.URITemplate}} {
		for _, arg := range []string{"endpoint_name", "namespace"} {
			_, err := c.Complete(ctx, &sdk.CompleteParams{Ref: ref, Argument: sdk.CompleteParamsArgument{Name: arg, Value: "c"}})
			require.NoError(t, err, "%s %s", ref.Type, arg)
		}
	}
	return uri
}

func drainCanaryUpdates(c *canary) {
	for {
		select {
		case <-c.updated:
		default:
			return
		}
	}
}
