package e2e

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/cli"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/mcpserver"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/rawmcp"
)

// binPath is the server binary built once by TestMain.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hf-endpoints-mcp-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "hf-endpoints-mcp")
	args := []string{"build", "-o", binPath}
	if raceEnabled() {
		args = append(args, "-race") // the spawned server is race-checked too
	}
	if out, err := exec.Command("go", append(args, "github.com/hf-endpoints-mcp/hf-endpoints-mcp")...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building the server: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

// fastTimings keep lifecycle transitions in tens of milliseconds; idle
// endpoints never scale to zero on their own during a test.
var fastTimings = emulator.Timings{Deploy: 60 * time.Millisecond, Update: 40 * time.Millisecond,
	ScaleUp: 40 * time.Millisecond, IdleMinute: time.Hour}

// wantTools is the tool set the server must expose, no more, no less.
var wantTools = []string{
	"call_endpoint", "chat_completion", "create_endpoint", "create_endpoint_from_catalog", "delete_endpoint", "feature_extraction",
	"get_endpoint", "get_endpoint_logs", "get_endpoint_metrics", "list_catalog", "list_endpoint_replicas", "list_endpoints",
	"list_hardware", "pause_endpoint", "recommend_hardware", "resume_endpoint", "scale_endpoint_to_zero", "text_generation",
	"text_to_image", "update_endpoint", "wait_for_endpoint", "whoami",
}

var mutatingTools = []string{"create_endpoint", "create_endpoint_from_catalog", "update_endpoint",
	"pause_endpoint", "resume_endpoint", "scale_endpoint_to_zero", "delete_endpoint"}

// eras: the SDK's default (server/discover, 2026-07-28) and the last
// initialize-based version.
var eras = []struct{ name, version, want string }{
	{"discover", "", "2026-07-28"},
	{"initialize", "2025-11-25", "2025-11-25"},
}

var transports = []string{"stdio", "http", "sse"}

func startEmulator(t *testing.T, timings emulator.Timings) *emulator.Server {
	t.Helper()
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Timings: timings, Seed: 7})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	return emu
}

// backendEnv points the server at emu exactly as a user would point it at Hugging Face.
func backendEnv(t *testing.T, emu *emulator.Server) []string {
	return backendEnvFor(t.TempDir(), emu)
}

func backendEnvFor(home string, emu *emulator.Server) []string {
	return []string{
		"HF_TOKEN=" + emu.Token(),
		"HF_ENDPOINTS_API_URL=" + emu.APIBase(),
		"HF_ENDPOINT=" + emu.HubBase(),
		"HF_ENDPOINTS_CATALOG_URL=" + emu.CatalogBase(),
		"HF_HOME=" + home,
		"HF_MCP_STATE_DIR=" + filepath.Join(home, "state"), // signing key, ledger, audit log
		"HF_MCP_WAIT_POLL=20ms",
	}
}

// session is a connected client plus the progress notifications it received.
type session struct {
	*sdk.ClientSession
	stderr   *lockedBuffer
	mu       sync.Mutex
	progress map[string][]*sdk.ProgressNotificationParams
	logs     []*sdk.LoggingMessageParams
	arrived  chan struct{}
	outputs  map[string]*jsonschema.Resolved // tool name → output schema, from tools/list
}

// outputSchema returns a tool's output schema as the client saw it.
func (s *session) outputSchema(t *testing.T, name string) *jsonschema.Resolved {
	t.Helper()
	if s.outputs == nil {
		_, list := listedNames(t, s)
		s.outputs = map[string]*jsonschema.Resolved{}
		for _, tool := range list.Tools {
			b, err := json.Marshal(tool.OutputSchema)
			require.NoError(t, err)
			var schema jsonschema.Schema
			require.NoError(t, json.Unmarshal(b, &schema), tool.Name)
			resolved, err := schema.Resolve(nil)
			require.NoError(t, err, "%s output schema", tool.Name)
			require.Error(t, resolved.Validate(map[string]any{"not_a_field": true}), "%s output schema is strict", tool.Name)
			s.outputs[tool.Name] = resolved
		}
	}
	require.Contains(t, s.outputs, name)
	return s.outputs[name]
}

func (s *session) onProgress(_ context.Context, req *sdk.ProgressNotificationClientRequest) {
	s.mu.Lock()
	key := fmt.Sprint(req.Params.ProgressToken)
	s.progress[key] = append(s.progress[key], req.Params)
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}
}

func (s *session) onLog(_ context.Context, req *sdk.LoggingMessageRequest) {
	s.mu.Lock()
	s.logs = append(s.logs, req.Params)
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}
}

// logsSeen returns the log messages received so far.
func (s *session) logsSeen() []*sdk.LoggingMessageParams {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.logs)
}

// progressFor waits until at least n notifications for token arrived (they
// may trail the result on stdio) and returns them.
func (s *session) progressFor(t *testing.T, token string, n int) []*sdk.ProgressNotificationParams {
	t.Helper()
	return s.progressUntil(t, token, fmt.Sprintf("≥%d progress notifications", n),
		func(got []*sdk.ProgressNotificationParams) bool { return len(got) >= n })
}

// progressUntil waits until the notifications for token satisfy enough
// (they may come after the result, over another stream) and returns them.
func (s *session) progressUntil(t *testing.T, token, want string, enough func([]*sdk.ProgressNotificationParams) bool) []*sdk.ProgressNotificationParams {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		got := slices.Clone(s.progress[token])
		s.mu.Unlock()
		if enough(got) {
			return got
		}
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("want %s for %s, got %d: %q", want, token, len(got), messagesOf(got))
		}
	}
}

// lockedBuffer is an io.Writer safe for the concurrent writes of a server.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitForOutput waits until what a child process wrote to stderr contains
// want. The child's stderr is copied in the background, so a line it wrote
// before answering a request may arrive after the answer.
func waitForOutput(t *testing.T, stderr *lockedBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the server never wrote %q; stderr:\n%s", want, stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// connect starts a server on the given transport (the binary for stdio, the
// serve command in-process for HTTP) and connects an SDK client to it.
func connect(t *testing.T, emu *emulator.Server, transport, version string, args ...string) *session {
	t.Helper()
	s := &session{progress: map[string][]*sdk.ProgressNotificationParams{}, arrived: make(chan struct{}, 1), stderr: &lockedBuffer{}}
	client := sdk.NewClient(&sdk.Implementation{Name: "e2e", Version: "1"},
		&sdk.ClientOptions{ProgressNotificationHandler: s.onProgress, LoggingMessageHandler: s.onLog})
	var tr sdk.Transport
	switch transport {
	case "stdio":
		cmd := serverCommand(t, s.stderr, append([]string{"serve", "--log-level", "debug"}, args...), backendEnv(t, emu)...)
		tr = &sdk.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}
	case "http", "sse":
		base := serveHTTP(t, emu, transport, s.stderr, args...)
		if transport == "http" {
			tr = &sdk.StreamableClientTransport{Endpoint: base + "/mcp", MaxRetries: -1}
		} else {
			tr = &sdk.SSEClientTransport{Endpoint: base + "/sse"}
		}
	}
	cs, err := client.Connect(t.Context(), tr, &sdk.ClientSessionOptions{ProtocolVersion: version})
	require.NoError(t, err, "connect over %s; server stderr:\n%s", transport, s.stderr)
	t.Cleanup(func() { closeSession(t, cs, s.stderr) })
	s.ClientSession = cs
	return s
}

// serverCommand runs the built binary with a clean environment: no token or
// setting of the machine running the tests leaks in.
func serverCommand(t *testing.T, stderr io.Writer, args []string, env ...string) *exec.Cmd {
	cmd := exec.Command(binPath, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "HF_HOME=" + t.TempDir(),
		// The race runtime otherwise sleeps a second at exit.
		"GORACE=atexit_sleep_ms=0"}, env...)
	cmd.Stderr = stderr
	return cmd
}

// closeSession ends a session; a stdio server must then exit with status 0
// (a data race in a -race build exits non-zero).
func closeSession(t *testing.T, cs *sdk.ClientSession, stderr *lockedBuffer) {
	if err := cs.Close(); err != nil {
		t.Errorf("closing the session: %v; server stderr:\n%s", err, stderr)
	}
}

var listening = regexp.MustCompile(`msg="serving MCP over HTTP" streamable=(http://\S+)/mcp`)

// startHTTPBinary runs the built server as a streamable HTTP server against emu on a free
// loopback port and returns the process and its base URL; the process is killed when tb ends.
func startHTTPBinary(tb testing.TB, emu *emulator.Server) (*exec.Cmd, string) {
	tb.Helper()
	cmd, base, _ := startBinary(tb, append(backendEnvFor(tb.TempDir(), emu), authOff), "--transport", "http", "--addr", "127.0.0.1:0")
	return cmd, base
}

// startBinary starts the built server with env (later entries win) and args,
// and returns it with the base URL it reported and its stderr so far and to come.
func startBinary(tb testing.TB, env []string, args ...string) (*exec.Cmd, string, *lockedBuffer) {
	tb.Helper()
	stderr := &lockedBuffer{}
	pr, pw := io.Pipe()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append([]string{"HOME=" + tb.TempDir()}, env...)
	cmd.Stderr = io.MultiWriter(stderr, pw)
	require.NoError(tb, cmd.Start())
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var base string
	sc := bufio.NewScanner(pr)
	for base == "" && sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
		}
	}
	require.NotEmpty(tb, base, stderr.String())
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	return cmd, base, stderr
}

// authOff serves loopback HTTP without a bearer token, explicitly: tests that configure no
// authentication are about something else (the generated token has tests of its own,
// TestE2ELoopbackHTTPNeedsTheGeneratedToken).
const authOff = "MCP_AUTH_TOKEN=off"

// authOffUnlessSet sets authOff in the environment unless the test set MCP_AUTH_TOKEN itself.
func authOffUnlessSet(t *testing.T) {
	if os.Getenv("MCP_AUTH_TOKEN") == "" {
		t.Setenv("MCP_AUTH_TOKEN", "off")
	}
}

// serveHTTP runs the serve command in-process on a free loopback port and
// returns its base URL; the server stops when the test ends.
func serveHTTP(t *testing.T, emu *emulator.Server, transport string, stderr *lockedBuffer, args ...string) string {
	t.Helper()
	for _, kv := range backendEnv(t, emu) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	authOffUnlessSet(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	pr, pw := io.Pipe()
	go func() {
		done <- cli.Run(ctx, append([]string{"serve", "--transport", transport, "--addr", "127.0.0.1:0"}, args...), io.Discard, io.MultiWriter(stderr, pw))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "serve returns cleanly on shutdown")
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop after cancellation")
		}
		_ = pw.Close()
	})
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			go func() { _, _ = io.Copy(io.Discard, pr) }() // keep later log lines flowing
			return m[1]
		}
	}
	t.Fatalf("server did not report its address; stderr:\n%s", stderr)
	return ""
}

// call runs a tool and returns its result; the token must never appear in it.
func call(t *testing.T, s *session, emu *emulator.Server, name string, args map[string]any, progressToken ...string) *sdk.CallToolResult {
	t.Helper()
	params := &sdk.CallToolParams{Name: name, Arguments: args}
	if len(progressToken) > 0 {
		params.SetProgressToken(progressToken[0])
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	res, err := s.CallTool(ctx, params)
	require.NoError(t, err, "%s: protocol error", name)
	wire, err := json.Marshal(res)
	require.NoError(t, err)
	require.NotContains(t, string(wire), emu.Token(), "%s leaked the token", name)
	return res
}

// ok calls a tool that must succeed and decodes its structured content.
func ok(t *testing.T, s *session, emu *emulator.Server, name string, args map[string]any, progressToken ...string) map[string]any {
	t.Helper()
	res := call(t, s, emu, name, args, progressToken...)
	require.False(t, res.IsError, "%s failed: %s", name, textOf(res))
	require.NotEmpty(t, textOf(res), "%s has a text summary", name)
	var out map[string]any
	b, err := json.Marshal(res.StructuredContent)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &out), "%s structured content", name)
	require.NoError(t, s.outputSchema(t, name).Validate(out), "%s: structured content must match the declared output schema", name)
	return out
}

// failing calls a tool that must fail as a tool result and returns its text.
func failing(t *testing.T, s *session, emu *emulator.Server, name string, args map[string]any) string {
	t.Helper()
	res := call(t, s, emu, name, args)
	require.True(t, res.IsError, "%s should fail, got: %s", name, textOf(res))
	return textOf(res)
}

func textOf(res *sdk.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func endpointOf(out map[string]any) map[string]any {
	ep, _ := out["endpoint"].(map[string]any)
	return ep
}

func listedNames(t *testing.T, s *session) ([]string, *sdk.ListToolsResult) {
	t.Helper()
	res, err := s.ListTools(t.Context(), nil)
	require.NoError(t, err)
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	sort.Strings(names)
	return names, res
}

// forEachTransportAndEra runs fn against a fresh emulator for every transport
// in both protocol eras.
func forEachTransportAndEra(t *testing.T, timings emulator.Timings, fn func(t *testing.T, emu *emulator.Server, s *session, era string), args ...string) {
	for _, transport := range transports {
		for _, era := range eras {
			t.Run(transport+"/"+era.name, func(t *testing.T) {
				emu := startEmulator(t, timings)
				s := connect(t, emu, transport, era.version, args...)
				require.Equal(t, era.want, s.InitializeResult().ProtocolVersion, "negotiated version")
				fn(t, emu, s, era.name)
			})
		}
	}
}

func TestE2EToolsListAndArgumentChecks(t *testing.T) {
	forEachTransportAndEra(t, fastTimings, func(t *testing.T, emu *emulator.Server, s *session, _ string) {
		names, res := listedNames(t, s)
		assert.Equal(t, wantTools, names)
		for _, tool := range res.Tools {
			assert.NotEmpty(t, tool.Title, tool.Name)
			assert.NotNil(t, tool.OutputSchema, tool.Name)
			a := tool.Annotations
			require.NotNil(t, a, tool.Name)
			assert.NotNil(t, a.DestructiveHint, tool.Name)
			assert.NotNil(t, a.OpenWorldHint, tool.Name)
		}

		msg := failing(t, s, emu, "get_endpoint", map[string]any{"endpoint_name": "x", "endpoint": "typo"})
		assert.Contains(t, msg, `unknown argument "endpoint"`)
		assert.Contains(t, msg, "valid arguments are: endpoint_name, namespace")
		msg = failing(t, s, emu, "get_endpoint", map[string]any{"namespace": "emulator-user"})
		assert.Contains(t, msg, `missing required argument "endpoint_name"`)
		msg = failing(t, s, emu, "get_endpoint", map[string]any{"endpoint_name": "does-not-exist"})
		assert.Contains(t, msg, "list_endpoints", "a 404 names the next step")
	})
}

// cpuSpec is a valid CPU deployment of the emulator's catalog.
func cpuSpec(name, repo, task string) map[string]any {
	return map[string]any{"endpoint_name": name, "repository": repo, "task": task, "accelerator": "cpu",
		"vendor": "aws", "region": "us-east-1", "instance_type": "intel-spr", "instance_size": "x2"}
}

// TestE2EEndpointLifecycleAndInference uses every tool, over every transport,
// in both eras: create, wait with progress, inspect, run each inference task,
// update, pause (inference then names resume_endpoint), resume, scale to
// zero and wake on the next request.
func TestE2EEndpointLifecycleAndInference(t *testing.T) {
	forEachTransportAndEra(t, fastTimings, func(t *testing.T, emu *emulator.Server, s *session, era string) {
		who := ok(t, s, emu, "whoami", map[string]any{})
		assert.Equal(t, "emulator-user", who["name"])

		hw := ok(t, s, emu, "list_hardware", map[string]any{"vendor": "aws", "region": "us-east-1", "accelerator": "gpu"})
		require.Greater(t, hw["count"], 0.0)
		first := hw["hardware"].([]any)[0].(map[string]any)
		assert.Equal(t, "gpu", first["accelerator"])
		assert.Greater(t, first["price_per_hour"], 0.0)
		assert.Contains(t, first, "quota_max")

		catalog := ok(t, s, emu, "list_catalog", map[string]any{})
		assert.Contains(t, catalog["models"], "sentence-transformers/all-MiniLM-L6-v2")

		// Two endpoints deploy side by side; the image one is waited for in the create call.
		ok(t, s, emu, "create_endpoint", cpuSpec("emb", "sentence-transformers/all-MiniLM-L6-v2", "feature-extraction"))
		img := cpuSpec("img", "stabilityai/stable-diffusion-xl-base-1.0", "text-to-image")
		img["accelerator"], img["instance_type"], img["instance_size"], img["wait"] = "gpu", "nvidia-l4", "x1", true
		ready := ok(t, s, emu, "create_endpoint", img, "create-img")
		assert.Equal(t, true, ready["ready"])
		assert.Equal(t, "running", endpointOf(ready)["state"])
		s.progressFor(t, "create-img", 2)

		// wait_for_endpoint follows a fresh deployment through its states as increasing progress.
		created := ok(t, s, emu, "create_endpoint", cpuSpec("gen", "openai-community/gpt2", "text-generation"))
		assert.Contains(t, []any{"pending", "initializing"}, endpointOf(created)["state"])
		waited := ok(t, s, emu, "wait_for_endpoint", map[string]any{"endpoint_name": "gen", "poll_seconds": 0.01}, "wait-gen")
		assert.Equal(t, true, waited["ready"])
		// The deterministic progress checks are in TestE2EWaitReportsProgressAndTimesOutNormally;
		// here the deployment may already be over when the wait starts.
		notes := s.progressFor(t, "wait-gen", 1)
		assert.Regexp(t, `^waiting up to|(pending|initializing|running) — \d/1 replicas ready`, notes[0].Message)
		ok(t, s, emu, "wait_for_endpoint", map[string]any{"endpoint_name": "emb"})

		msg := failing(t, s, emu, "create_endpoint", cpuSpec("gen", "openai-community/gpt2", "text-generation"))
		assert.Contains(t, msg, "already exists")

		got := ok(t, s, emu, "get_endpoint", map[string]any{"endpoint_name": "gen", "namespace": "emulator-user"})
		ep := endpointOf(got)
		assert.Equal(t, "running", ep["state"])
		assert.NotEmpty(t, ep["url"])
		assert.Equal(t, "openai-community/gpt2", ep["repository"])
		assert.Equal(t, "emulator-user", ep["namespace"])

		list := ok(t, s, emu, "list_endpoints", map[string]any{})
		assert.Equal(t, 3.0, list["count"])
		running := ok(t, s, emu, "list_endpoints", map[string]any{"namespace": "*", "state": "running"})
		assert.Equal(t, 3.0, running["count"])

		gen := ok(t, s, emu, "text_generation", map[string]any{"endpoint_name": "gen", "prompt": "The sea is", "max_new_tokens": 8, "seed": 1, "details": true})
		assert.NotEmpty(t, gen["generated_text"])
		assert.Greater(t, gen["generated_tokens"], 0.0)
		streamed := ok(t, s, emu, "text_generation", map[string]any{"endpoint_name": "gen", "prompt": "The sea is", "max_new_tokens": 8, "seed": 1, "stream": true}, "stream-gen")
		text := streamed["generated_text"].(string)
		require.NotEmpty(t, text)
		partial := s.progressFor(t, "stream-gen", 1)
		assert.True(t, strings.HasPrefix(text, strings.TrimPrefix(partial[0].Message, "…")) || strings.Contains(text, strings.TrimPrefix(partial[0].Message, "…")),
			"progress carries the text so far: %q vs %q", partial[0].Message, text)

		chatArgs := map[string]any{"endpoint_name": "gen", "messages": []any{map[string]any{"role": "user", "content": "Say hi"}}, "max_tokens": 8, "temperature": 0}
		chat := ok(t, s, emu, "chat_completion", chatArgs)
		assert.Equal(t, "assistant", chat["role"])
		assert.NotEmpty(t, chat["content"])
		chatArgs["stream"] = true
		streamedChat := ok(t, s, emu, "chat_completion", chatArgs, "stream-chat")
		assert.Equal(t, chat["content"], streamedChat["content"], "a streamed reply is the same reply")
		assert.Equal(t, chat["finish_reason"], streamedChat["finish_reason"])
		s.progressUntil(t, "stream-chat", "the whole reply as progress", func(got []*sdk.ProgressNotificationParams) bool {
			return slices.ContainsFunc(got, func(n *sdk.ProgressNotificationParams) bool { return n.Message == chat["content"] })
		})

		emb := ok(t, s, emu, "feature_extraction", map[string]any{"endpoint_name": "emb", "inputs": []any{"first text", "second text"}, "normalize": true})
		assert.Equal(t, 2.0, emb["count"])
		assert.Greater(t, emb["dimensions"], 0.0)
		one := ok(t, s, emu, "feature_extraction", map[string]any{"endpoint_name": "emb", "inputs": "just one"})
		assert.Equal(t, 1.0, one["count"])

		checkImage(t, call(t, s, emu, "text_to_image", map[string]any{"endpoint_name": "img", "prompt": "a lighthouse at dawn", "width": 64, "height": 64}))

		metrics := ok(t, s, emu, "get_endpoint_metrics", map[string]any{"endpoint_name": "gen"})
		assert.NotEmpty(t, metrics["metrics"])

		updated := ok(t, s, emu, "update_endpoint", map[string]any{"endpoint_name": "gen", "max_replica": 2, "wait": true})
		assert.Equal(t, true, updated["ready"])
		msg = failing(t, s, emu, "update_endpoint", map[string]any{"endpoint_name": "gen"})
		assert.Contains(t, msg, "updatable:")

		paused := ok(t, s, emu, "pause_endpoint", map[string]any{"endpoint_name": "gen"})
		assert.Equal(t, "paused", endpointOf(paused)["state"])
		msg = failing(t, s, emu, "text_generation", map[string]any{"endpoint_name": "gen", "prompt": "hello"})
		assert.Contains(t, msg, "paused")
		assert.Contains(t, msg, "resume_endpoint")
		msg = failing(t, s, emu, "wait_for_endpoint", map[string]any{"endpoint_name": "gen", "timeout_seconds": 5})
		assert.Contains(t, msg, "resume_endpoint", "waiting on a paused endpoint says how to get out")
		resumed := ok(t, s, emu, "resume_endpoint", map[string]any{"endpoint_name": "gen", "wait": true})
		assert.Equal(t, true, resumed["ready"])
		again := ok(t, s, emu, "resume_endpoint", map[string]any{"endpoint_name": "gen"})
		assert.Equal(t, "running", endpointOf(again)["state"], "running_ok defaults to true")

		zero := ok(t, s, emu, "scale_endpoint_to_zero", map[string]any{"endpoint_name": "emb"})
		assert.Equal(t, "scaledToZero", endpointOf(zero)["state"])
		asleep := ok(t, s, emu, "wait_for_endpoint", map[string]any{"endpoint_name": "emb", "timeout_seconds": 60})
		assert.Equal(t, false, asleep["ready"], "waiting does not wake a scaled-to-zero endpoint, and does not hang either")
		assert.Contains(t, asleep["note"], "wakes on the next inference request")
		woken := ok(t, s, emu, "feature_extraction", map[string]any{"endpoint_name": "emb", "inputs": "wake up"}, "wake-emb")
		assert.Equal(t, 1.0, woken["count"])
		wake := s.progressFor(t, "wake-emb", 1)
		assert.Contains(t, wake[0].Message, "wak", "a cold start is reported as waking")

		ok(t, s, emu, "scale_endpoint_to_zero", map[string]any{"endpoint_name": "img"})
		awake := ok(t, s, emu, "resume_endpoint", map[string]any{"endpoint_name": "img", "wait": true})
		assert.Equal(t, true, awake["ready"], "resume wakes a scaled-to-zero endpoint")

		fromCatalog := ok(t, s, emu, "create_endpoint_from_catalog", map[string]any{"repository": "BAAI/bge-base-en-v1.5", "endpoint_name": "bge-" + era, "accelerator": "cpu"})
		assert.Equal(t, "bge-"+era, endpointOf(fromCatalog)["name"])

		assert.Zero(t, emu.Requests("DELETE", "/v2/endpoint/{namespace}/{name}"), "nothing is ever deleted")
	})
}

func checkImage(t *testing.T, res *sdk.CallToolResult) {
	t.Helper()
	image := imageOf(t, res)
	assert.Equal(t, "image/png", image.MIMEType)
	decoded, err := png.Decode(bytes.NewReader(image.Data))
	require.NoError(t, err, "the image is a PNG")
	meta, _ := res.StructuredContent.(map[string]any)
	require.NotNil(t, meta)
	assert.Equal(t, float64(decoded.Bounds().Dx()), meta["width"])
	assert.Equal(t, float64(len(image.Data)), meta["bytes"])
}

// imageOf returns the image content of a successful result.
func imageOf(t *testing.T, res *sdk.CallToolResult) *sdk.ImageContent {
	t.Helper()
	require.False(t, res.IsError, textOf(res))
	for _, c := range res.Content {
		if ic, ok := c.(*sdk.ImageContent); ok {
			return ic
		}
	}
	require.Fail(t, "the result has no image content", textOf(res))
	return nil
}

func TestE2EReadOnlyHidesEveryMutatingTool(t *testing.T) {
	forEachTransportAndEra(t, fastTimings, func(t *testing.T, emu *emulator.Server, s *session, _ string) {
		names, _ := listedNames(t, s)
		for _, name := range mutatingTools {
			assert.NotContains(t, names, name)
		}
		assert.Contains(t, names, "get_endpoint")
		assert.Contains(t, names, "text_generation")
		_, err := s.CallTool(t.Context(), &sdk.CallToolParams{Name: "create_endpoint",
			Arguments: cpuSpec("nope", "openai-community/gpt2", "text-generation")})
		require.Error(t, err, "a hidden tool cannot be called")
		assert.Zero(t, emu.Requests("POST", "/v2/endpoint/{namespace}"))
	}, "--read-only")
}

func TestE2EToolsetsSelect(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	s := connect(t, emu, "stdio", "", "--toolsets", "inference")
	names, _ := listedNames(t, s)
	assert.Equal(t, []string{"call_endpoint", "chat_completion", "feature_extraction", "text_generation", "text_to_image"}, names)
}

// TestE2EConcurrentCallsKeepTheirProgressApart: several waits and inference
// calls at once on one session, each with its own progress token.
func TestE2EConcurrentCallsKeepTheirProgressApart(t *testing.T) {
	forEachTransportAndEra(t, fastTimings, func(t *testing.T, emu *emulator.Server, s *session, _ string) {
		names := []string{"c1", "c2", "c3"}
		var releases []func()
		for _, name := range names {
			release := emu.HoldNextDeploy("emulator-user", name)
			t.Cleanup(release)
			releases = append(releases, release)
			ok(t, s, emu, "create_endpoint", cpuSpec(name, "openai-community/gpt2", "text-generation"))
		}
		var wg sync.WaitGroup
		for _, name := range names {
			wg.Go(func() {
				out := ok(t, s, emu, "wait_for_endpoint", map[string]any{"endpoint_name": name, "poll_seconds": 0.01}, "wait-"+name)
				assert.Equal(t, true, out["ready"])
				assert.Equal(t, name, endpointOf(out)["name"])
				gen := ok(t, s, emu, "text_generation", map[string]any{"endpoint_name": name, "prompt": "Hi " + name, "stream": true, "max_new_tokens": 4}, "gen-"+name)
				assert.NotEmpty(t, gen["generated_text"])
			})
		}
		// Every wait has reported the deployment in progress before any
		// deployment may finish, so all three run side by side.
		for _, name := range names {
			s.progressFor(t, "wait-"+name, 2)
		}
		for _, release := range releases {
			release()
		}
		wg.Wait()
		for _, name := range names {
			// Notifications sent just before a result are delivered too:
			// the ready state is the last thing a wait reports.
			notes := s.progressUntil(t, "wait-"+name, "the ready state", func(got []*sdk.ProgressNotificationParams) bool {
				return slices.ContainsFunc(got, func(n *sdk.ProgressNotificationParams) bool {
					return strings.Contains(n.Message, "running — 1/1 replicas ready")
				})
			})
			for _, n := range notes {
				assert.Equal(t, "wait-"+name, n.ProgressToken)
			}
			s.progressFor(t, "gen-"+name, 1)
		}
	})
}

// TestE2EStdoutCarriesOnlyJSONRPC: with debug logging on, every line the
// stdio server writes to stdout is a JSON-RPC message; logs go to stderr.
func TestE2EStdoutCarriesOnlyJSONRPC(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	stderr := &lockedBuffer{}
	cmd := serverCommand(t, stderr, []string{"--log-level", "debug"}, backendEnv(t, emu)...)
	cmd.Stdin = strings.NewReader(initializeLine +
		`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n" +
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}` + "\n" +
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"whoami","arguments":{}}}` + "\n")
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.NotEmpty(t, lines)
	listed := false
	for _, line := range lines {
		var msg map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &msg), "stdout line is not JSON: %q", line)
		assert.Equal(t, "2.0", msg["jsonrpc"], line)
		if msg["id"] == 2.0 {
			listed = true
			assert.LessOrEqual(t, len(line), 28_000, "the tools/list answer, as sent, fits in 28 kB")
		}
	}
	assert.True(t, listed, "tools/list was answered")
	assert.Contains(t, stderr.String(), "level=DEBUG", "logs went to stderr")
}

// TestE2EWaitReportsProgressAndTimesOutNormally, over every transport in
// both eras: a wait on a deployment that does not finish sends increasing
// progress naming the state, and running out of time is a normal result
// saying where the endpoint is.
func TestE2EWaitReportsProgressAndTimesOutNormally(t *testing.T) {
	slow := fastTimings
	slow.Deploy = time.Hour
	forEachTransportAndEra(t, slow, func(t *testing.T, emu *emulator.Server, s *session, _ string) {
		ok(t, s, emu, "create_endpoint", cpuSpec("slow", "openai-community/gpt2", "text-generation"))
		out := ok(t, s, emu, "wait_for_endpoint", map[string]any{"endpoint_name": "slow", "timeout_seconds": 0.3, "poll_seconds": 0.01}, "wait-slow")
		assert.Equal(t, false, out["ready"])
		assert.Equal(t, "pending", endpointOf(out)["state"])
		assert.Contains(t, out["note"], "not ready yet")

		// Both notifications precede the result by the rest of the timeout, so
		// no transport can lose them to the result. A legacy streamable HTTP
		// session may deliver them over two streams, so they are put in
		// progress order first: the values must follow the order of events.
		notes := s.progressFor(t, "wait-slow", 2)[:2]
		slices.SortFunc(notes, func(a, b *sdk.ProgressNotificationParams) int { return cmp.Compare(a.Progress, b.Progress) })
		assert.Greater(t, notes[1].Progress, notes[0].Progress, "progress increases")
		assert.Contains(t, notes[0].Message, "waiting up to 300ms for slow")
		assert.Contains(t, notes[1].Message, "pending — 0/1 replicas ready", "progress names the state")
	})
}

// TestE2EFailuresAreToolResultsWithNextSteps: a failed deployment, a failed
// update and a rejected token come back as isError results saying what to do.
func TestE2EFailuresAreToolResultsWithNextSteps(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	emu.FailNextDeploy("emulator-user", "broken", "CUDA out of memory")
	s := connect(t, emu, "stdio", "")
	spec := cpuSpec("broken", "openai-community/gpt2", "text-generation")
	spec["wait"] = true
	msg := failing(t, s, emu, "create_endpoint", spec)
	assert.Contains(t, msg, "failed to deploy")
	assert.Contains(t, msg, "CUDA out of memory")
	assert.Contains(t, msg, "update_endpoint")
	msg = failing(t, s, emu, "text_generation", map[string]any{"endpoint_name": "broken", "prompt": "hi"})
	assert.Contains(t, msg, "failed")

	ok(t, s, emu, "create_endpoint", cpuSpec("fine", "openai-community/gpt2", "text-generation"))
	ok(t, s, emu, "wait_for_endpoint", map[string]any{"endpoint_name": "fine", "poll_seconds": 0.01})
	emu.FailNextUpdate("emulator-user", "fine", "bad revision")
	msg = failing(t, s, emu, "update_endpoint", map[string]any{"endpoint_name": "fine", "revision": "nope", "wait": true})
	assert.Contains(t, msg, "failed to update")

	stderr := &lockedBuffer{}
	env := backendEnv(t, emu)
	env[0] = "HF_TOKEN=hf_not_a_valid_token"
	cmd := serverCommand(t, stderr, nil, env...)
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "e2e", Version: "1"}, nil).Connect(t.Context(), &sdk.CommandTransport{Command: cmd}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { closeSession(t, cs, stderr) })
	res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "list_endpoints", Arguments: map[string]any{"namespace": "emulator-user"}})
	require.NoError(t, err)
	require.True(t, res.IsError)
	assert.Contains(t, textOf(res), "401")
	assert.Contains(t, textOf(res), "token")
	assert.NotContains(t, textOf(res), "hf_not_a_valid_token", "the token is never echoed")
	assert.NotContains(t, stderr.String(), "hf_not_a_valid_token", "the token is never logged")
}

// TestE2ETransientAPIFailuresAreRetriedAndPersistentOnesReported: a brief
// 503 on a read is retried away; a lasting one, or a malformed answer, is an
// isError result (never a protocol error or a hang).
func TestE2ETransientAPIFailuresAreRetriedAndPersistentOnesReported(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	s := connect(t, emu, "http", "2025-11-25")
	ok(t, s, emu, "create_endpoint", cpuSpec("flaky", "openai-community/gpt2", "text-generation"))
	const route = "/v2/endpoint/{namespace}/{name}"

	require.NoError(t, emu.InjectFault(emulator.Fault{Method: "GET", Route: route, Status: 503, Count: 1}))
	before := emu.Requests("GET", route)
	got := ok(t, s, emu, "get_endpoint", map[string]any{"endpoint_name": "flaky"})
	assert.Equal(t, "flaky", endpointOf(got)["name"])
	assert.Equal(t, int64(2), emu.Requests("GET", route)-before, "one failed attempt, one retry")

	emu.ClearFaults()
	require.NoError(t, emu.InjectFault(emulator.Fault{Method: "GET", Route: route, MalformedJSON: true, Count: 1}))
	msg := failing(t, s, emu, "get_endpoint", map[string]any{"endpoint_name": "flaky"})
	assert.Contains(t, msg, "get_endpoint failed")

	emu.ClearFaults()
	require.NoError(t, emu.InjectFault(emulator.Fault{Method: "POST", Route: "/v2/endpoint/{namespace}/{name}/pause", Status: 500}))
	msg = failing(t, s, emu, "pause_endpoint", map[string]any{"endpoint_name": "flaky"})
	assert.Contains(t, msg, "500")
	assert.Equal(t, int64(1), emu.Requests("POST", "/v2/endpoint/{namespace}/{name}/pause"), "a mutation is not retried blindly")
}

// TestE2EEmulatorModeIsLazyAndOffline: --emulator needs no token, and starts
// the emulator only when a tool first needs it.
func TestE2EEmulatorModeIsLazyAndOffline(t *testing.T) {
	stderr := &lockedBuffer{}
	cmd := serverCommand(t, stderr, []string{"--emulator", "--log-level", "info"})
	client := sdk.NewClient(&sdk.Implementation{Name: "e2e", Version: "1"}, nil)
	cs, err := client.Connect(t.Context(), &sdk.CommandTransport{Command: cmd}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { closeSession(t, cs, stderr) })
	names, err := cs.ListTools(t.Context(), nil)
	require.NoError(t, err)
	assert.Len(t, names.Tools, len(wantTools))
	assert.NotContains(t, stderr.String(), "emulator started", "no emulator before a tool needs it")

	res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
	require.NoError(t, err)
	require.False(t, res.IsError, textOf(res))
	assert.Contains(t, textOf(res), "emulator-user")
	waitForOutput(t, stderr, "emulator started")
	res, err = cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "list_hardware", Arguments: map[string]any{"accelerator": "cpu"}})
	require.NoError(t, err)
	require.False(t, res.IsError, textOf(res))
}

// TestE2EMissingTokenIsAToolResult: without a token the server still starts,
// and each tool says where to put one.
func TestE2EMissingTokenIsAToolResult(t *testing.T) {
	stderr := &lockedBuffer{}
	cmd := serverCommand(t, stderr, nil)
	client := sdk.NewClient(&sdk.Implementation{Name: "e2e", Version: "1"}, nil)
	cs, err := client.Connect(t.Context(), &sdk.CommandTransport{Command: cmd}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { closeSession(t, cs, stderr) })
	waitForOutput(t, stderr, "no Hugging Face token yet") // the missing token is visible at start
	res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "list_endpoints", Arguments: map[string]any{}})
	require.NoError(t, err)
	assert.True(t, res.IsError)
	assert.Contains(t, textOf(res), "HF_TOKEN")
}

// Benchmarks. Run without -race, one at a time on a quiet machine:
//
//	go test -run '^$' -bench . -benchtime 200x .
//
// They report medians, which is what the performance goals are stated in.

// median returns the median of ds.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

const initializeLine = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}` + "\n"

// BenchmarkStdioSpawnToInitialize measures spawn → initialize answered, and
// the resident memory of the idle server after initialize and tools/list.
func BenchmarkStdioSpawnToInitialize(b *testing.B) {
	var times []time.Duration
	var rss []float64
	for b.Loop() {
		cmd := exec.Command(binPath)
		home := b.TempDir()
		cmd.Env = []string{"HF_TOKEN=hf_bench", "HOME=" + home, "HF_HOME=" + home, "GORACE=atexit_sleep_ms=0"}
		stdin, err := cmd.StdinPipe()
		require.NoError(b, err)
		stdout, err := cmd.StdoutPipe()
		require.NoError(b, err)
		out := bufio.NewReader(stdout)
		start := time.Now()
		require.NoError(b, cmd.Start())
		_, err = io.WriteString(stdin, initializeLine)
		require.NoError(b, err)
		line, err := out.ReadString('\n')
		require.NoError(b, err)
		times = append(times, time.Since(start))
		require.Contains(b, line, `"protocolVersion":"2025-11-25"`)
		_, err = io.WriteString(stdin, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n"+
			`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`+"\n")
		require.NoError(b, err)
		_, err = out.ReadString('\n')
		require.NoError(b, err)
		if mb, ok := residentMB(cmd.Process.Pid); ok {
			rss = append(rss, mb)
		}
		require.NoError(b, stdin.Close())
		require.NoError(b, cmd.Wait())
	}
	b.ReportMetric(float64(median(times).Microseconds())/1000, "ms-median-initialize")
	if len(rss) > 0 {
		slices.Sort(rss)
		b.ReportMetric(rss[len(rss)/2], "MB-idle-RSS")
	}
}

// residentMB reads a process's resident set size from /proc (Linux only).
func residentMB(pid int) (float64, bool) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb float64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%f kB", &kb); err != nil {
				return 0, false
			}
			return kb / 1024, true
		}
	}
	return 0, false
}

// benchEndpoint starts an emulator (closed when b ends) holding one CPU endpoint named
// "bench", and returns it with a client for it.
func benchEndpoint(b *testing.B) (*emulator.Server, *hfapi.Client) {
	b.Helper()
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Timings: fastTimings, Seed: 7})
	require.NoError(b, err)
	b.Cleanup(func() { _ = emu.Close() })
	client, err := hfapi.New(hfapi.Config{Token: emu.Token(), APIBase: emu.APIBase(), HubBase: emu.HubBase(), CatalogBase: emu.CatalogBase()})
	require.NoError(b, err)
	_, err = client.Create(context.Background(), "", hfapi.CreateSpec{Name: "bench", Repository: "openai-community/gpt2",
		Framework: "pytorch", Accelerator: "cpu", InstanceSize: "x2", InstanceType: "intel-spr", Region: "us-east-1",
		Vendor: "aws", Task: "text-generation"})
	require.NoError(b, err)
	return emu, client
}

// BenchmarkGetEndpoint compares get_endpoint through MCP with the direct
// hfapi call it wraps, against the same emulator: in-process (JSON-RPC
// decoding, argument checks, result encoding) and over streamable HTTP in both
// eras. Each iteration makes one direct and one MCP call, so both see the same
// machine state; medians of each are reported.
func BenchmarkGetEndpoint(b *testing.B) {
	_, client := benchEndpoint(b)
	ctx := context.Background()
	srv, err := mcpserver.New(mcpserver.Options{Client: client, Version: "bench"})
	require.NoError(b, err)
	require.NoError(b, srv.RegisterTools())
	direct := func() {
		_, err := client.Get(ctx, "", "bench")
		require.NoError(b, err)
	}

	b.Run("in-process", func(b *testing.B) {
		msg := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_endpoint","arguments":{"endpoint_name":"bench"}}}`)
		paired(b, direct, func() {
			wire, err := json.Marshal(srv.MCP().HandleMessage(ctx, msg))
			require.NoError(b, err)
			require.Contains(b, string(wire), `"state"`)
		})
	})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	defer srv.HTTPHandler().CloseSessions(ctx)
	// A bare JSON-RPC client isolates the server's share of the HTTP cost
	// from the SDK client's.
	for _, era := range eras {
		b.Run("streamable-http-raw-client-"+era.name, func(b *testing.B) {
			c, err := rawmcp.Open(ctx, &http.Client{}, ts.URL+"/mcp", era.want)
			require.NoError(b, err)
			paired(b, direct, func() {
				body, err := c.CallTool(ctx, "get_endpoint", `{"endpoint_name":"bench"}`)
				require.NoError(b, err)
				require.Contains(b, string(body), `"state"`)
			})
		})
	}
	for _, era := range eras {
		b.Run("streamable-http-sdk-client-"+era.name, func(b *testing.B) {
			sdkClient := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil)
			cs, err := sdkClient.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: ts.URL + "/mcp", MaxRetries: -1},
				&sdk.ClientSessionOptions{ProtocolVersion: era.version})
			require.NoError(b, err)
			defer cs.Close()
			params := &sdk.CallToolParams{Name: "get_endpoint", Arguments: map[string]any{"endpoint_name": "bench"}}
			paired(b, direct, func() {
				res, err := cs.CallTool(ctx, params)
				require.NoError(b, err)
				require.False(b, res.IsError)
			})
		})
	}
}

// paired times base and viaMCP alternately and reports both medians, the
// overhead of the medians and their ratio.
func paired(b *testing.B, base, viaMCP func()) {
	var baseTimes, mcpTimes []time.Duration
	for b.Loop() {
		start := time.Now()
		base()
		baseTimes = append(baseTimes, time.Since(start))
		start = time.Now()
		viaMCP()
		mcpTimes = append(mcpTimes, time.Since(start))
	}
	d, m := median(baseTimes), median(mcpTimes)
	b.ReportMetric(float64(d.Microseconds()), "µs-direct")
	b.ReportMetric(float64(m.Microseconds()), "µs-mcp")
	b.ReportMetric(float64((m - d).Microseconds()), "µs-overhead")
	b.ReportMetric(float64(m)/float64(d), "x-direct")
}

// BenchmarkGetEndpointBinaryHTTP is BenchmarkGetEndpoint's streamable HTTP
// case with the server as users run it: the built binary, in its own process,
// without the per-caller rate limit (the benchmark calls far more than 100
// times a second).
func BenchmarkGetEndpointBinaryHTTP(b *testing.B) {
	emu, client := benchEndpoint(b)
	ctx := context.Background()

	_, base, _ := startBinary(b, append(backendEnvFor(b.TempDir(), emu), authOff),
		"--transport", "http", "--addr", "127.0.0.1:0", "--rate-limit", "off")

	direct := func() {
		_, err := client.Get(ctx, "", "bench")
		require.NoError(b, err)
	}
	for _, era := range eras {
		b.Run(era.name, func(b *testing.B) {
			cs, err := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil).Connect(ctx,
				&sdk.StreamableClientTransport{Endpoint: base + "/mcp", MaxRetries: -1}, &sdk.ClientSessionOptions{ProtocolVersion: era.version})
			require.NoError(b, err)
			defer cs.Close()
			params := &sdk.CallToolParams{Name: "get_endpoint", Arguments: map[string]any{"endpoint_name": "bench"}}
			paired(b, direct, func() {
				res, err := cs.CallTool(ctx, params)
				require.NoError(b, err)
				require.False(b, res.IsError)
			})
		})
	}
}

func messagesOf(notes []*sdk.ProgressNotificationParams) []string {
	out := make([]string, len(notes))
	for i, n := range notes {
		out[i] = n.Message
	}
	return out
}
