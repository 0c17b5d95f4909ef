package main

// Fault-injection tests: the emulator fails in the ways the real service and
// networks do (429 with Retry-After, 5xx, answers slower than the client's
// timeout, dropped connections, malformed JSON), and the MCP tools, driven by
// the official Go SDK client, retry reads, never repeat a create, and report
// what is left as clear isError results. A last test scans every transcript
// and log for the token.

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/mcpserver"
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

// transcript records every JSON-RPC message a client sent and received.
type transcript struct{ lockedBuffer }

// TestFaultsTokenNeverAppearsInTranscriptsOrLogs drives the server binary
// over stdio, and the serve command over streamable HTTP, with debug logs,
// through successes, progress, failures, faults and a confirmed delete, and
// scans every message either way, the server's stderr and the emulator's log
// for the token.
func TestFaultsTokenNeverAppearsInTranscriptsOrLogs(t *testing.T) {
	for _, transport := range []string{"stdio", "http"} {
		t.Run(transport, func(t *testing.T) {
			emuLog := &lockedBuffer{}
			emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Tokens: []string{distinctiveToken}, Seed: 7, Timings: fastTimings,
				Logger: slog.New(slog.NewTextHandler(emuLog, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			require.NoError(t, err)
			t.Cleanup(func() { _ = emu.Close() })
			require.Equal(t, distinctiveToken, emu.Token())

			wire, stderr, state := &transcript{}, &lockedBuffer{}, t.TempDir()
			s := canarySession(t, emu, transport, wire, stderr, state)
			exerciseEverything(t, s, emu)
			require.NoError(t, s.Close())
			auditLog := readAuditLogs(t, state)
			require.Contains(t, auditLog, `"tool":"create_endpoint"`, "mutating calls were audited")

			require.Contains(t, wire.String(), `"tools/call"`, "the transcript was recorded")
			require.Contains(t, wire.String(), distinctiveToken, "the client did send the token (as a secret), so the scan can fail")
			require.Contains(t, stderr.String(), "level=DEBUG", "debug logs were on")
			for what, text := range map[string]string{"server's messages": fromServer(wire.String()),
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

// fromServer keeps the messages the client received from a LoggingTransport
// transcript; what the client sent may hold the token on purpose (a secret).
func fromServer(transcript string) string {
	var b strings.Builder
	for _, line := range strings.Split(transcript, "\n") {
		if strings.HasPrefix(line, "read: ") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// canarySession connects the Go SDK client, recording the transcript, to the
// binary over stdio or to the serve command over streamable HTTP.
func canarySession(t *testing.T, emu *emulator.Server, transport string, wire *transcript, stderr *lockedBuffer, state string) *session {
	t.Helper()
	s := &session{progress: map[string][]*sdk.ProgressNotificationParams{}, arrived: make(chan struct{}, 1), stderr: stderr}
	var tr sdk.Transport
	if transport == "stdio" {
		env := append(backendEnv(t, emu), envAuditLog+"="+filepath.Join(state, "audit.jsonl"))
		tr = &sdk.CommandTransport{Command: serverCommand(t, stderr, []string{"serve", "--log-level", "debug"}, env...),
			TerminateDuration: 5 * time.Second}
	} else {
		t.Setenv(envAuditLog, filepath.Join(state, "audit.jsonl"))
		tr = &sdk.StreamableClientTransport{Endpoint: serveHTTP(t, emu, "http", stderr, "--log-level", "debug") + "/mcp", MaxRetries: -1}
	}
	client := sdk.NewClient(&sdk.Implementation{Name: "canary", Version: "1"}, &sdk.ClientOptions{
		ProgressNotificationHandler: s.onProgress,
		ElicitationHandler: func(_ context.Context, req *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
			return &sdk.ElicitResult{Action: "accept", Content: map[string]any{"confirm": "emulator-user/canary"}}, nil
		},
	})
	cs, err := client.Connect(t.Context(), &sdk.LoggingTransport{Transport: tr, Writer: wire}, nil)
	require.NoError(t, err, "server stderr:\n%s", stderr)
	s.ClientSession = cs
	return s
}

// exerciseEverything makes calls that succeed, report progress, fail in the
// tool, fail in the API and meet injected faults.
func exerciseEverything(t *testing.T, s *session, emu *emulator.Server) {
	ok(t, s, emu, "whoami", map[string]any{})
	ok(t, s, emu, "list_hardware", map[string]any{"accelerator": "cpu"})
	spec := cpuSpec("canary", "openai-community/gpt2", "text-generation")
	spec["wait"] = true
	spec["secrets"] = map[string]any{"HF_TOKEN": distinctiveToken} // a user pasting the token as a secret
	spec["env"] = map[string]any{"NOTE": "harmless"}
	ok(t, s, emu, "create_endpoint", spec, "canary-create")
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
	ok(t, s, emu, "pause_endpoint", map[string]any{"endpoint_name": "canary"})
	failing(t, s, emu, "text_generation", map[string]any{"endpoint_name": "canary", "prompt": "hi"})
	if res := call(t, s, emu, "delete_endpoint", map[string]any{"endpoint_name": "canary"}); res.IsError {
		t.Logf("delete_endpoint: %s", textOf(res))
	}
	s.progressFor(t, "canary-create", 1)
}
