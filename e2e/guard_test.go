package e2e

// Guardrail tests: confirmed deletes and costly actions, through the tool
// layer in-process (a randomized model check) and end to end with the
// official Go SDK client; and the audit log of a server killed mid-run.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/audit"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/confirm"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/mcpserver"
)

// envAuditLog names the audit log's path, as a user sets it.
const envAuditLog = "HF_MCP_AUDIT_LOG"

// init keeps servers run in-process by this package's tests from writing the
// audit log of the user running them; tests that audit name a file.
func init() {
	if os.Getenv(envAuditLog) == "" {
		_ = os.Setenv(envAuditLog, audit.Off)
	}
}

const (
	routeEndpoint = "/v2/endpoint/{namespace}/{name}"
	routeCreate   = "/v2/endpoint/{namespace}"
)

// handlerTransport serves HTTP requests with a handler in-process: no sockets.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// testClock is a settable time source for confirmation tokens.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// scriptedForm answers confirmation forms as the test says.
type scriptedForm struct {
	mu    sync.Mutex
	next  func(mcp.ElicitationRequest) *mcp.ElicitationResult
	asked int
}

func (f *scriptedForm) Elicit(_ context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked++
	if f.next == nil {
		return nil, fmt.Errorf("unexpected form: %s", req.Params.Message)
	}
	return f.next(req), nil
}

func (f *scriptedForm) answer(fn func(mcp.ElicitationRequest) *mcp.ElicitationResult) {
	f.mu.Lock()
	f.next = fn
	f.mu.Unlock()
}

func formAnswer(action mcp.ElicitationResponseAction, content map[string]any) func(mcp.ElicitationRequest) *mcp.ElicitationResult {
	return func(mcp.ElicitationRequest) *mcp.ElicitationResult {
		return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: action, Content: content}}
	}
}

// guardRig is the server with an in-process emulator behind it and two
// in-process clients: one without elicitation (token path), one with forms.
type guardRig struct {
	emu       *emulator.Emulator
	clock     *testClock
	tokenC    *mcpclient.Client
	formC     *mcpclient.Client
	form      *scriptedForm
	auditPath string
	ns        string
}

// newGuardRig builds the rig; auditPath "" leaves auditing off (fsyncing tens
// of thousands of lines would measure the disk, not the guardrails).
func newGuardRig(t testing.TB, version string, opts mcpserver.Options, auditPath string) *guardRig {
	t.Helper()
	emu, err := emulator.New(emulator.Options{Seed: 3, Timings: emulator.Timings{Deploy: time.Hour, Update: time.Hour, IdleMinute: time.Hour}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	clock := &testClock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	const base = "http://emulator.test"
	client, err := hfapi.New(hfapi.Config{Token: emulator.DefaultToken, APIBase: base + "/v2", HubBase: base,
		CatalogBase: base + "/api/catalog", HTTPClient: &http.Client{Transport: handlerTransport{emu}},
		Confirmations: confirm.NewIssuerAt(0, clock.Now)})
	require.NoError(t, err)
	r := &guardRig{emu: emu, clock: clock, form: &scriptedForm{}, ns: emulator.DefaultUser, auditPath: auditPath}
	if auditPath == "" {
		auditPath = audit.Off
	}
	log, err := audit.Open(auditPath)
	require.NoError(t, err)
	log.AddSecrets(emulator.DefaultToken)
	t.Cleanup(func() { _ = log.Close() })
	opts.Client, opts.Audit = client, log
	srv, err := mcpserver.New(opts)
	require.NoError(t, err)
	r.tokenC = inProcessClient(t, srv, version)
	r.formC = inProcessClient(t, srv, version, mcpclient.WithElicitationHandler(r.form))
	return r
}

func inProcessClient(t testing.TB, srv *mcpserver.Server, version string, opts ...mcpclient.ClientOption) *mcpclient.Client {
	t.Helper()
	c, err := mcpclient.NewInProcessClientWithOptions(srv.MCP(), opts...)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background()))
	t.Cleanup(func() { _ = c.Close() })
	var init mcp.InitializeRequest
	init.Params.ProtocolVersion = version
	init.Params.ClientInfo = mcp.Implementation{Name: "guard-test", Version: "1"}
	res, err := c.Initialize(context.Background(), init)
	require.NoError(t, err)
	require.Equal(t, version, res.ProtocolVersion)
	return c
}

func (r *guardRig) deletes() int64 { return r.emu.Requests(http.MethodDelete, routeEndpoint) }

// callTool returns the result's structured content, its text and whether it is an error.
func (r *guardRig) callTool(t testing.TB, c *mcpclient.Client, name string, args map[string]any) (map[string]any, string, bool) {
	t.Helper()
	return callStructured(t, c, name, args)
}

func cheapEndpoint(name string) map[string]any {
	return map[string]any{"endpoint_name": name, "repository": "openai-community/gpt2", "task": "text-generation",
		"accelerator": "cpu", "vendor": "aws", "region": "us-east-1", "instance_type": "intel-spr", "instance_size": "x2",
		"min_replica": 0, "max_replica": 1}
}

// modelToken is a confirmation token the model check tracks.
type modelToken struct {
	name  string
	value string
	gen   int // the endpoint generation it was issued for
	epoch int // clock epoch: advancing the clock past the TTL expires every earlier token
	used  bool
}

// guardModel is what the randomized test believes about the world.
type guardModel struct {
	gen    map[string]int // endpoint name → generation (0: absent)
	nextG  int
	epoch  int
	tokens []*modelToken
	want   int64 // DELETE requests that must have been sent
}

func (m *guardModel) valid(tk *modelToken, target string) bool {
	return !tk.used && tk.name == target && m.gen[target] == tk.gen && tk.epoch == m.epoch
}

// TestGuardRandomSequencesThroughTheToolLayer drives 10,000 random call
// sequences through the MCP tool layer (in-process clients, both eras):
// deletes without a token, with wrong, forged, expired, reused and foreign
// tokens, tokens from before a delete and re-create, forms declined,
// cancelled, mistyped and accepted, interleaved with other tools. The
// emulator counts DELETE requests: none without a valid confirmation,
// exactly one per valid confirmation.
func TestGuardRandomSequencesThroughTheToolLayer(t *testing.T) {
	sequences := 10000
	if testing.Short() {
		sequences = 1000
	}
	seed := rand.Uint64()
	for i, era := range eras {
		version := era.version
		if version == "" {
			version = era.want
		}
		t.Run(era.name, func(t *testing.T) {
			seed := seed + uint64(i)
			r := newGuardRig(t, version, mcpserver.Options{}, "")
			defer func() {
				if t.Failed() {
					t.Logf("reproduce with seed %d (era %s)", seed, era.name)
				}
			}()
			runGuardSequences(t, r, rand.New(rand.NewPCG(seed, 0)), sequences/len(eras))
		})
	}
}

func runGuardSequences(t *testing.T, r *guardRig, rng *rand.Rand, n int) {
	m := &guardModel{gen: map[string]int{}}
	names := []string{"ep-a", "ep-b", "ep-c", "ep-d"}
	for seq := range n {
		name := names[rng.IntN(len(names))]
		other := names[(slicesIndex(names, name)+1+rng.IntN(len(names)-1))%len(names)]
		if m.gen[name] == 0 {
			r.create(t, m, name)
		}
		r.step(t, m, rng, seq, name, other)
		require.Equal(t, m.want, r.deletes(), "sequence %d: DELETE requests sent", seq)
	}
	require.Positive(t, m.want)
	t.Logf("%d sequences, %d confirmed deletes, %d forms shown", n, m.want, r.form.asked)
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func (r *guardRig) create(t *testing.T, m *guardModel, name string) {
	_, text, isErr := r.callTool(t, r.tokenC, "create_endpoint", cheapEndpoint(name))
	require.False(t, isErr, text)
	m.nextG++
	m.gen[name] = m.nextG
}

// preview asks for a delete preview on the token path and records the token.
func (r *guardRig) preview(t *testing.T, m *guardModel, name string) *modelToken {
	out, text, isErr := r.callTool(t, r.tokenC, "delete_endpoint", map[string]any{"endpoint_name": name})
	require.False(t, isErr, text)
	require.Equal(t, "confirmation_required", out["status"], text)
	require.Equal(t, false, out["deleted"])
	tok, _ := out["confirmation_token"].(string)
	require.NotEmpty(t, tok)
	tk := &modelToken{name: name, value: tok, gen: m.gen[name], epoch: m.epoch}
	m.tokens = append(m.tokens, tk)
	return tk
}

// useToken calls delete_endpoint on target with tk's token and checks the model's verdict.
func (r *guardRig) useToken(t *testing.T, m *guardModel, seq int, target string, tk *modelToken) {
	valid := m.valid(tk, target)
	out, text, isErr := r.callTool(t, r.tokenC, "delete_endpoint", map[string]any{"endpoint_name": target, "confirmation_token": tk.value})
	if !valid {
		require.True(t, isErr, "sequence %d: token for %s (gen %d, used %v) on %s (gen %d) must be refused: %s", seq, tk.name, tk.gen, tk.used, target, m.gen[target], text)
		return
	}
	require.False(t, isErr, "sequence %d: %s", seq, text)
	require.Equal(t, true, out["deleted"], text)
	tk.used, m.gen[target] = true, 0
	m.want++
}

func (r *guardRig) step(t *testing.T, m *guardModel, rng *rand.Rand, seq int, name, other string) {
	switch rng.IntN(12) {
	case 0: // the plain two-call flow
		r.useToken(t, m, seq, name, r.preview(t, m, name))
	case 1: // no token at all: a preview, nothing deleted
		r.preview(t, m, name)
	case 2: // garbage and forged tokens
		tk := r.preview(t, m, name)
		for _, bad := range []string{"not-a-token", tk.value[:len(tk.value)-4] + "AAAA", "x" + tk.value[1:]} {
			_, text, isErr := r.callTool(t, r.tokenC, "delete_endpoint", map[string]any{"endpoint_name": name, "confirmation_token": bad})
			require.True(t, isErr, "sequence %d: forged token accepted: %s", seq, text)
		}
	case 3: // an old token, maybe used, maybe of a deleted generation, maybe for another endpoint
		if len(m.tokens) > 0 {
			target := name
			if rng.IntN(2) == 0 {
				target = other
				if m.gen[other] == 0 {
					r.create(t, m, other)
				}
			}
			r.useToken(t, m, seq, target, m.tokens[rng.IntN(len(m.tokens))])
		}
	case 4: // a token of another endpoint
		if m.gen[other] == 0 {
			r.create(t, m, other)
		}
		r.useToken(t, m, seq, other, r.preview(t, m, name))
	case 5: // expired: the clock passes the TTL
		tk := r.preview(t, m, name)
		r.clock.Advance(confirm.DefaultTTL + time.Second)
		m.epoch++
		r.useToken(t, m, seq, name, tk)
	case 6: // deleted and re-created under the same name before the token is used
		stale := r.preview(t, m, name)
		r.useToken(t, m, seq, name, r.preview(t, m, name))
		r.create(t, m, name)
		r.useToken(t, m, seq, name, stale)
	case 7: // a form client may not use tokens
		tk := r.preview(t, m, name)
		_, text, isErr := r.callTool(t, r.formC, "delete_endpoint", map[string]any{"endpoint_name": name, "confirmation_token": tk.value})
		require.True(t, isErr, text)
	case 8, 9: // the form path
		r.formStep(t, m, rng, seq, name)
	default: // other tools in between
		r.otherTool(t, rng, name)
	}
}

func (r *guardRig) formStep(t *testing.T, m *guardModel, rng *rand.Rand, seq int, name string) {
	target := r.ns + "/" + name
	answers := []struct {
		fn      func(mcp.ElicitationRequest) *mcp.ElicitationResult
		deletes bool
		status  string
	}{
		{formAnswer(mcp.ElicitationResponseActionAccept, map[string]any{"confirm": target}), true, "deleted"},
		{formAnswer(mcp.ElicitationResponseActionAccept, map[string]any{"confirm": strings.ToUpper(target)}), false, "not_confirmed"},
		{formAnswer(mcp.ElicitationResponseActionAccept, map[string]any{"confirm": name}), false, "not_confirmed"},
		{formAnswer(mcp.ElicitationResponseActionAccept, map[string]any{}), false, "not_confirmed"},
		{formAnswer(mcp.ElicitationResponseActionDecline, nil), false, "declined"},
		{formAnswer(mcp.ElicitationResponseActionCancel, nil), false, "cancelled"},
	}
	a := answers[rng.IntN(len(answers))]
	var shown string
	r.form.answer(func(req mcp.ElicitationRequest) *mcp.ElicitationResult {
		shown = req.Params.Message
		return a.fn(req)
	})
	out, text, isErr := r.callTool(t, r.formC, "delete_endpoint", map[string]any{"endpoint_name": name})
	r.form.answer(nil)
	require.False(t, isErr, "sequence %d: %s", seq, text)
	require.Contains(t, shown, target, "the form names what will be deleted")
	require.Equal(t, a.status, out["status"], "sequence %d: %s", seq, text)
	require.Equal(t, a.deletes, out["deleted"])
	if a.deletes {
		m.gen[name] = 0
		m.want++
	}
}

func (r *guardRig) otherTool(t *testing.T, rng *rand.Rand, name string) {
	switch rng.IntN(4) {
	case 0:
		_, text, isErr := r.callTool(t, r.tokenC, "get_endpoint", map[string]any{"endpoint_name": name})
		require.False(t, isErr, text)
	case 1:
		_, text, isErr := r.callTool(t, r.formC, "list_endpoints", map[string]any{})
		require.False(t, isErr, text)
	case 2:
		_, text, isErr := r.callTool(t, r.tokenC, "pause_endpoint", map[string]any{"endpoint_name": name})
		require.False(t, isErr, text)
	default:
		_, text, isErr := r.callTool(t, r.formC, "update_endpoint", map[string]any{"endpoint_name": name, "tags": []any{"t" + name}})
		require.False(t, isErr, text)
	}
}

// formReply is how the SDK client's user answers the next form.
type formReply struct {
	mu     sync.Mutex
	action string
	typed  func(req *sdk.ElicitRequest) map[string]any
	shown  []string
}

func (f *formReply) set(action string, content func(*sdk.ElicitRequest) map[string]any) {
	f.mu.Lock()
	f.action, f.typed = action, content
	f.mu.Unlock()
}

func (f *formReply) handle(_ context.Context, req *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shown = append(f.shown, req.Params.Message)
	res := &sdk.ElicitResult{Action: f.action}
	if f.typed != nil {
		res.Content = f.typed(req)
	}
	return res, nil
}

func (f *formReply) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.shown) == 0 {
		return ""
	}
	return f.shown[len(f.shown)-1]
}

// connectWithForms is connect with an elicitation handler, so the client
// declares the elicitation capability.
func connectWithForms(t *testing.T, emu *emulator.Server, transport, version string, form *formReply, args ...string) *session {
	t.Helper()
	s := &session{progress: map[string][]*sdk.ProgressNotificationParams{}, arrived: make(chan struct{}, 1), stderr: &lockedBuffer{}}
	client := sdk.NewClient(&sdk.Implementation{Name: "e2e-forms", Version: "1"},
		&sdk.ClientOptions{ProgressNotificationHandler: s.onProgress, ElicitationHandler: form.handle})
	var tr sdk.Transport
	switch transport {
	case "stdio":
		cmd := serverCommand(t, s.stderr, append([]string{"serve", "--log-level", "debug"}, args...), backendEnv(t, emu)...)
		tr = &sdk.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}
	case "http":
		tr = &sdk.StreamableClientTransport{Endpoint: serveHTTP(t, emu, transport, s.stderr, args...) + "/mcp", MaxRetries: -1}
	case "sse":
		tr = &sdk.SSEClientTransport{Endpoint: serveHTTP(t, emu, transport, s.stderr, args...) + "/sse"}
	}
	cs, err := client.Connect(t.Context(), tr, &sdk.ClientSessionOptions{ProtocolVersion: version})
	require.NoError(t, err, "connect over %s; server stderr:\n%s", transport, s.stderr)
	t.Cleanup(func() { closeSession(t, cs, s.stderr) })
	s.ClientSession = cs
	return s
}

// h100x8 is an endpoint estimated at 80 USD/h, over the default 10 USD/h ceiling.
func h100x8(name string) map[string]any {
	return map[string]any{"endpoint_name": name, "repository": "openai-community/gpt2", "task": "text-generation",
		"accelerator": "gpu", "vendor": "aws", "region": "us-east-1", "instance_type": "nvidia-h100", "instance_size": "x8"}
}

func typed(text string) func(*sdk.ElicitRequest) map[string]any {
	return func(*sdk.ElicitRequest) map[string]any { return map[string]any{"confirm": text} }
}

// TestE2EGuardElicitation: a client with forms confirms deletes by typing
// namespace/endpoint_name and costly creates by approving, over stdio and
// streamable HTTP in both eras. Declined, cancelled and mistyped forms do nothing.
func TestE2EGuardElicitation(t *testing.T) {
	for _, transport := range []string{"stdio", "http", "sse"} {
		for _, era := range eras {
			if transport == "sse" && era.version != "" {
				continue // a 2025-11-25 SSE session cannot carry the form: TestE2EGuardTokenPath
			}
			t.Run(transport+"/"+era.name, func(t *testing.T) {
				emu := startEmulator(t, fastTimings)
				form := &formReply{}
				s := connectWithForms(t, emu, transport, era.version, form)
				require.Equal(t, era.want, s.InitializeResult().ProtocolVersion)
				ok(t, s, emu, "create_endpoint", cpuSpec("victim", "openai-community/gpt2", "text-generation"))
				del := map[string]any{"endpoint_name": "victim"}

				for _, tc := range []struct {
					action string
					text   func(*sdk.ElicitRequest) map[string]any
					status string
				}{
					{"decline", nil, "declined"},
					{"cancel", nil, "cancelled"},
					{"accept", typed("victim"), "not_confirmed"},
					{"accept", typed("emulator-user/victim2"), "not_confirmed"},
				} {
					form.set(tc.action, tc.text)
					out := ok(t, s, emu, "delete_endpoint", del)
					assert.Equal(t, tc.status, out["status"], "%s %v", tc.action, tc.text)
					assert.Equal(t, false, out["deleted"])
					assert.Zero(t, emu.Requests("DELETE", routeEndpoint))
				}
				assert.Contains(t, form.last(), "emulator-user/victim")
				assert.Contains(t, form.last(), "intel-spr x2")

				form.set("accept", typed("emulator-user/victim"))
				out := ok(t, s, emu, "delete_endpoint", del)
				assert.Equal(t, true, out["deleted"])
				assert.EqualValues(t, 1, emu.Requests("DELETE", routeEndpoint))
				failing(t, s, emu, "get_endpoint", del)

				form.set("decline", nil)
				out = ok(t, s, emu, "create_endpoint", h100x8("big"))
				assert.Equal(t, "declined", out["status"])
				assert.Zero(t, emu.Requests("POST", routeCreate)-1, "only the first create was sent")
				assert.Contains(t, form.last(), "80.00 USD/h")
				form.set("accept", func(*sdk.ElicitRequest) map[string]any { return map[string]any{"approve": true} })
				out = ok(t, s, emu, "create_endpoint", h100x8("big"))
				assert.Equal(t, "big", endpointOf(out)["name"])
				assert.EqualValues(t, 2, emu.Requests("POST", routeCreate))
			})
		}
	}
}

// TestE2EGuardColdStartsOfCostlyHardware: an inference request does not wake
// a scaled-to-zero endpoint whose hardware costs more than the ceiling; it
// names resume_endpoint, which asks for the confirmation. A cheap endpoint
// still wakes on its own.
func TestE2EGuardColdStartsOfCostlyHardware(t *testing.T) {
	forEachTransportAndEra(t, fastTimings, func(t *testing.T, emu *emulator.Server, s *session, _ string) {
		spec := h100x8("big")
		spec["min_replica"], spec["wait"] = 0, true
		need := ok(t, s, emu, "create_endpoint", spec)
		spec["confirmation_token"] = need["confirmation_token"]
		ready := ok(t, s, emu, "create_endpoint", spec)
		require.Equal(t, true, ready["ready"])
		ok(t, s, emu, "scale_endpoint_to_zero", map[string]any{"endpoint_name": "big"})

		generate := map[string]any{"endpoint_name": "big", "prompt": "Hello", "max_new_tokens": 4}
		posts := emu.Requests("POST", "/e/{id}")
		msg := failing(t, s, emu, "text_generation", generate)
		assert.Contains(t, msg, "scaled to zero")
		assert.Contains(t, msg, "80.00 USD/h")
		assert.Contains(t, msg, "resume_endpoint")
		assert.Equal(t, posts, emu.Requests("POST", "/e/{id}"), "nothing reached the endpoint")
		assert.Equal(t, "scaledToZero", endpointOf(ok(t, s, emu, "get_endpoint", map[string]any{"endpoint_name": "big"}))["state"])

		resume := map[string]any{"endpoint_name": "big", "wait": true}
		need = ok(t, s, emu, "resume_endpoint", resume)
		require.Equal(t, "confirmation_required", need["status"])
		resume["confirmation_token"] = need["confirmation_token"]
		require.Equal(t, true, ok(t, s, emu, "resume_endpoint", resume)["ready"])
		assert.NotEmpty(t, ok(t, s, emu, "text_generation", generate)["generated_text"], "once resumed, it serves")

		cheap := cpuSpec("cheap", "openai-community/gpt2", "text-generation")
		cheap["min_replica"], cheap["wait"] = 0, true
		ok(t, s, emu, "create_endpoint", cheap)
		ok(t, s, emu, "scale_endpoint_to_zero", map[string]any{"endpoint_name": "cheap"})
		generate["endpoint_name"] = "cheap"
		assert.NotEmpty(t, ok(t, s, emu, "text_generation", generate)["generated_text"], "within the ceiling a request wakes it")
	})
}

// TestE2EGuardTokenPath: clients without forms (and every 2025-11-25 SSE
// session) get a preview and a confirmation_token; only a second call with it acts.
func TestE2EGuardTokenPath(t *testing.T) {
	forEachTransportAndEra(t, fastTimings, func(t *testing.T, emu *emulator.Server, s *session, _ string) {
		ok(t, s, emu, "create_endpoint", cpuSpec("victim", "openai-community/gpt2", "text-generation"))
		preview := ok(t, s, emu, "delete_endpoint", map[string]any{"endpoint_name": "victim"})
		assert.Equal(t, "confirmation_required", preview["status"])
		assert.Equal(t, false, preview["deleted"])
		tok, _ := preview["confirmation_token"].(string)
		require.NotEmpty(t, tok)
		assert.Contains(t, preview["preview"].(map[string]any)["summary"], "emulator-user/victim")
		assert.Zero(t, emu.Requests("DELETE", routeEndpoint))

		msg := failing(t, s, emu, "delete_endpoint", map[string]any{"endpoint_name": "victim", "confirmation_token": tok + "x"})
		assert.Contains(t, msg, "not issued by this server")
		ok(t, s, emu, "create_endpoint", cpuSpec("bystander", "openai-community/gpt2", "text-generation"))
		msg = failing(t, s, emu, "delete_endpoint", map[string]any{"endpoint_name": "bystander", "confirmation_token": tok})
		assert.Contains(t, msg, "different action or endpoint")
		assert.Zero(t, emu.Requests("DELETE", routeEndpoint))

		out := ok(t, s, emu, "delete_endpoint", map[string]any{"endpoint_name": "victim", "confirmation_token": tok})
		assert.Equal(t, true, out["deleted"])
		assert.EqualValues(t, 1, emu.Requests("DELETE", routeEndpoint))
		ok(t, s, emu, "create_endpoint", cpuSpec("victim", "openai-community/gpt2", "text-generation"))
		msg = failing(t, s, emu, "delete_endpoint", map[string]any{"endpoint_name": "victim", "confirmation_token": tok})
		assert.Contains(t, msg, "ask for a new preview")
		assert.EqualValues(t, 1, emu.Requests("DELETE", routeEndpoint))

		// An nvidia-h100 x8 over the ceiling: no POST until confirmed.
		posts := emu.Requests("POST", routeCreate)
		need := ok(t, s, emu, "create_endpoint", h100x8("big"))
		assert.Equal(t, "confirmation_required", need["status"])
		assert.Equal(t, posts, emu.Requests("POST", routeCreate), "no POST without a confirmation")
		cost := need["preview"].(map[string]any)["hourly_cost_usd"]
		assert.InDelta(t, 80.0, cost, 1e-9)
		other := h100x8("big")
		other["max_replica"] = 2
		other["confirmation_token"] = need["confirmation_token"]
		failing(t, s, emu, "create_endpoint", other)
		assert.Equal(t, posts, emu.Requests("POST", routeCreate), "the token is for the exact request")
		confirmed := h100x8("big")
		confirmed["confirmation_token"] = need["confirmation_token"]
		out = ok(t, s, emu, "create_endpoint", confirmed)
		assert.Equal(t, "big", endpointOf(out)["name"])
		assert.Equal(t, posts+1, emu.Requests("POST", routeCreate))
	})
}

// TestE2EAuditLogSurvivesSIGKILL: a stdio server is killed with SIGKILL while
// a call is in flight, its create sent and unanswered. Every call that
// completed before is in the log, each change preceded by its intent line; the
// in-flight create left its intent line; every line parses, and neither the HF
// token nor any secret or env value is there.
func TestE2EAuditLogSurvivesSIGKILL(t *testing.T) {
	const hfToken = "hf_e2eAuditSECRETtoken42"
	slow := fastTimings
	slow.Deploy = time.Hour // the in-flight wait never finishes on its own
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Timings: slow, Seed: 7, Tokens: []string{hfToken}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	auditPath := filepath.Join(t.TempDir(), "state", "audit.jsonl")
	stderr := &lockedBuffer{}
	cmd := serverCommand(t, stderr, []string{"serve", "--audit-log", auditPath}, backendEnv(t, emu)...)
	client := sdk.NewClient(&sdk.Implementation{Name: "e2e-audit", Version: "7"}, nil)
	cs, err := client.Connect(t.Context(), &sdk.CommandTransport{Command: cmd}, nil)
	require.NoError(t, err)
	s := &session{ClientSession: cs, stderr: stderr, progress: map[string][]*sdk.ProgressNotificationParams{}, arrived: make(chan struct{}, 1)}

	const secretValue, envValue = "sk-live-NEVER-IN-THE-LOG", "env-value-NEVER-IN-THE-LOG"
	spec := cpuSpec("audited", "openai-community/gpt2", "text-generation")
	spec["secrets"] = map[string]any{"API_KEY": secretValue}
	spec["env"] = map[string]any{"MODE": envValue}
	ok(t, s, emu, "create_endpoint", spec)
	ok(t, s, emu, "update_endpoint", map[string]any{"endpoint_name": "audited", "tags": []any{"owner-" + hfToken},
		"secrets": map[string]any{"API_KEY": secretValue + "2"}})
	ok(t, s, emu, "pause_endpoint", map[string]any{"endpoint_name": "audited"})
	preview := ok(t, s, emu, "delete_endpoint", map[string]any{"endpoint_name": "audited"})
	tok := preview["confirmation_token"].(string)
	failing(t, s, emu, "delete_endpoint", map[string]any{"endpoint_name": "audited", "confirmation_token": "forged." + tok[len(tok)-8:]})
	ok(t, s, emu, "delete_endpoint", map[string]any{"endpoint_name": "audited", "confirmation_token": tok})
	ok(t, s, emu, "create_endpoint", h100x8("big"))
	failing(t, s, emu, "pause_endpoint", map[string]any{"endpoint_name": "nope"})
	ok(t, s, emu, "list_endpoints", map[string]any{}) // read-only: not audited
	want := []struct{ tool, outcome string }{
		{"create_endpoint", "ok"}, {"update_endpoint", "ok"}, {"pause_endpoint", "ok"},
		{"delete_endpoint", "confirmation_required"}, {"delete_endpoint", "refused"}, {"delete_endpoint", "ok"},
		{"create_endpoint", "confirmation_required"}, {"pause_endpoint", "error"},
	}

	// Mid-run: a create whose POST the API holds for an hour.
	require.NoError(t, emu.InjectFault(emulator.Fault{Method: "POST", Route: routeCreate, Latency: time.Hour}))
	posts := emu.Requests("POST", routeCreate)
	inflight := cpuSpec("inflight", "openai-community/gpt2", "text-generation")
	go func() {
		_, _ = cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "create_endpoint", Arguments: inflight})
	}()
	require.Eventually(t, func() bool { return emu.Requests("POST", routeCreate) > posts }, 30*time.Second, 5*time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cs.Wait() // the session ends when the killed process's stdout closes (the SDK reaps it)

	fi, err := os.Stat(auditPath)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	raw, err := os.ReadFile(auditPath)
	require.NoError(t, err)
	for _, leak := range []string{hfToken, secretValue, envValue, tok} {
		assert.NotContains(t, string(raw), leak)
	}
	var got, intents []audit.Entry
	var last audit.Entry
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		var e audit.Entry
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e), "every line parses: %s", sc.Text())
		if last = e; e.Outcome == audit.OutcomeIntent {
			intents = append(intents, e)
			continue
		}
		got = append(got, e)
	}
	require.GreaterOrEqual(t, len(got), len(want), "every completed mutating call is logged:\n%s", raw)
	// One intent per change sent: create, update, pause, delete, the failed pause, the in-flight create.
	require.Len(t, intents, 6, "%s", raw)
	for i, action := range []string{"create endpoint emulator-user/audited", "update endpoint emulator-user/audited",
		"pause endpoint emulator-user/audited", "delete endpoint emulator-user/audited", "pause endpoint emulator-user/nope",
		"create endpoint emulator-user/inflight"} {
		assert.Equal(t, action, intents[i].Action, "intent %d", i)
		assert.Equal(t, "e2e-audit/7", intents[i].Client)
	}
	assert.Equal(t, audit.Redacted, intents[0].Arguments["secrets"].(map[string]any)["API_KEY"])
	assert.Equal(t, audit.OutcomeIntent, last.Outcome, "the in-flight create's intent is the last line: the kill came before its outcome")
	assert.Equal(t, "inflight", last.Endpoint)
	for i, w := range want {
		assert.Equal(t, w.tool, got[i].Tool, "line %d", i)
		assert.Equal(t, w.outcome, got[i].Outcome, "line %d: %+v", i, got[i])
		assert.Equal(t, "e2e-audit/7", got[i].Client)
		assert.Contains(t, got[i].Transport, "stdio")
		assert.False(t, got[i].Time.IsZero())
	}
	assert.Len(t, got, len(want), "the in-flight call has no outcome line")
	assert.Equal(t, "emulator-user", got[0].Namespace)
	assert.Equal(t, "audited", got[0].Endpoint)
	assert.NotEmpty(t, got[0].RequestID, "the API request id of the create")
	assert.Equal(t, audit.Redacted, got[0].Arguments["secrets"].(map[string]any)["API_KEY"])
	assert.Equal(t, audit.Redacted, got[0].Arguments["env"].(map[string]any)["MODE"])
	assert.Equal(t, audit.Redacted, got[5].Arguments["confirmation_token"])
	assert.Equal(t, "emulator-user", got[7].Namespace, "a call that failed still names its whole target")
	assert.Equal(t, "nope", got[7].Endpoint)
}

// TestE2EGuardFlags: --disable-destructive, --confirm-with and --max-hourly-cost.
func TestE2EGuardFlags(t *testing.T) {
	t.Run("disable-destructive", func(t *testing.T) {
		emu := startEmulator(t, fastTimings)
		s := connect(t, emu, "stdio", "", "--disable-destructive")
		names, _ := listedNames(t, s)
		assert.NotContains(t, names, "delete_endpoint")
		assert.Contains(t, names, "update_endpoint")
		_, err := s.CallTool(t.Context(), &sdk.CallToolParams{Name: "delete_endpoint", Arguments: map[string]any{"endpoint_name": "x"}})
		require.Error(t, err, "a removed tool cannot be called")
	})
	t.Run("token mode even for clients with forms", func(t *testing.T) {
		emu := startEmulator(t, fastTimings)
		form := &formReply{}
		form.set("accept", typed("emulator-user/victim"))
		s := connectWithForms(t, emu, "stdio", "", form, "--confirm-with", "token")
		ok(t, s, emu, "create_endpoint", cpuSpec("victim", "openai-community/gpt2", "text-generation"))
		out := ok(t, s, emu, "delete_endpoint", map[string]any{"endpoint_name": "victim"})
		assert.Equal(t, "confirmation_required", out["status"])
		assert.Empty(t, form.last(), "no form is shown")
		assert.Zero(t, emu.Requests("DELETE", routeEndpoint))
	})
	t.Run("elicitation only, over legacy SSE", func(t *testing.T) {
		emu := startEmulator(t, fastTimings)
		form := &formReply{}
		s := connectWithForms(t, emu, "sse", "2025-11-25", form, "--confirm-with", "elicitation")
		ok(t, s, emu, "create_endpoint", cpuSpec("victim", "openai-community/gpt2", "text-generation"))
		msg := failing(t, s, emu, "delete_endpoint", map[string]any{"endpoint_name": "victim"})
		assert.Contains(t, msg, "cannot show one")
		msg = failing(t, s, emu, "create_endpoint", h100x8("big"))
		assert.Contains(t, msg, "nothing was done")
		assert.Zero(t, emu.Requests("DELETE", routeEndpoint))
		assert.EqualValues(t, 1, emu.Requests("POST", routeCreate))
	})
	for _, ceiling := range []string{"100", "off"} {
		t.Run("max-hourly-cost "+ceiling, func(t *testing.T) {
			emu := startEmulator(t, fastTimings)
			s := connect(t, emu, "stdio", "", "--max-hourly-cost", ceiling)
			out := ok(t, s, emu, "create_endpoint", h100x8("big"))
			assert.Equal(t, "big", endpointOf(out)["name"], "80 USD/h needs no confirmation")
		})
	}
	t.Run("a low ceiling guards update and resume", func(t *testing.T) {
		emu := startEmulator(t, fastTimings)
		s := connect(t, emu, "http", "", "--max-hourly-cost", "0.05")
		ok(t, s, emu, "create_endpoint", map[string]any{"endpoint_name": "small", "repository": "openai-community/gpt2",
			"task": "text-generation", "accelerator": "cpu", "vendor": "aws", "region": "us-east-1", "instance_type": "intel-spr", "instance_size": "x1"})
		ok(t, s, emu, "wait_for_endpoint", map[string]any{"endpoint_name": "small", "poll_seconds": 0.01})
		up := map[string]any{"endpoint_name": "small", "instance_size": "x4"}
		need := ok(t, s, emu, "update_endpoint", up)
		assert.Equal(t, "confirmation_required", need["status"])
		assert.Zero(t, emu.Requests("PUT", routeEndpoint))
		up["confirmation_token"] = need["confirmation_token"]
		ok(t, s, emu, "update_endpoint", up)
		assert.EqualValues(t, 1, emu.Requests("PUT", routeEndpoint))

		ok(t, s, emu, "wait_for_endpoint", map[string]any{"endpoint_name": "small", "poll_seconds": 0.01})
		ok(t, s, emu, "pause_endpoint", map[string]any{"endpoint_name": "small"})
		need = ok(t, s, emu, "resume_endpoint", map[string]any{"endpoint_name": "small"})
		assert.Equal(t, "confirmation_required", need["status"])
		assert.Zero(t, emu.Requests("POST", routeEndpoint+"/resume"))
		out := ok(t, s, emu, "resume_endpoint", map[string]any{"endpoint_name": "small", "confirmation_token": need["confirmation_token"]})
		assert.NotEqual(t, "paused", endpointOf(out)["state"])
	})
}

// TestGuardRandomCostlyCreates is the same model check for creates over the
// cost ceiling: a POST is sent for a cheap create, or for an nvidia-h100 x8
// create only with a valid confirmation (a fresh token for the exact
// request, or an approved form), exactly once per confirmation.
func TestGuardRandomCostlyCreates(t *testing.T) {
	sequences := 2000
	if testing.Short() {
		sequences = 200
	}
	seed := rand.Uint64()
	r := newGuardRig(t, "2025-11-25", mcpserver.Options{}, "")
	defer func() {
		if t.Failed() {
			t.Logf("reproduce with seed %d", seed)
		}
	}()
	rng := rand.New(rand.NewPCG(seed, 0))
	posts := func() int64 { return r.emu.Requests(http.MethodPost, routeCreate) }
	want := int64(0)
	for seq := range sequences {
		name := fmt.Sprintf("big-%d", seq)
		spec := h100x8(name)
		preview := func() string {
			out, text, isErr := r.callTool(t, r.tokenC, "create_endpoint", spec)
			require.False(t, isErr, text)
			require.Equal(t, "confirmation_required", out["status"], text)
			return out["confirmation_token"].(string)
		}
		with := func(c *mcpclient.Client, args map[string]any, token string) (string, bool) {
			a := map[string]any{}
			for k, v := range args {
				a[k] = v
			}
			a["confirmation_token"] = token
			_, text, isErr := r.callTool(t, c, "create_endpoint", a)
			return text, isErr
		}
		switch rng.IntN(8) {
		case 0, 1: // preview, then confirm (sometimes twice)
			tok := preview()
			text, isErr := with(r.tokenC, spec, tok)
			require.False(t, isErr, "sequence %d: %s", seq, text)
			want++
			if rng.IntN(2) == 0 {
				_, isErr = with(r.tokenC, spec, tok)
				require.True(t, isErr, "sequence %d: a used token", seq)
			}
		case 2: // the token of another request
			other := h100x8(name)
			other["max_replica"] = 1 + rng.IntN(3)
			other["region"] = []string{"us-east-1", "us-east-2"}[rng.IntN(2)]
			tok := preview()
			if other["max_replica"] == 1 && other["region"] == "us-east-1" {
				other["endpoint_name"] = name + "-x"
			}
			_, isErr := with(r.tokenC, other, tok)
			require.True(t, isErr, "sequence %d: a token confirms only its own request", seq)
		case 3: // garbage, forged, expired
			tok := preview()
			for _, bad := range []string{"garbage", tok[:len(tok)-3] + "abc"} {
				_, isErr := with(r.tokenC, spec, bad)
				require.True(t, isErr, "sequence %d", seq)
			}
			r.clock.Advance(confirm.DefaultTTL + time.Second)
			_, isErr := with(r.tokenC, spec, tok)
			require.True(t, isErr, "sequence %d: expired", seq)
		case 4: // a form client may not use a token
			_, isErr := with(r.formC, spec, preview())
			require.True(t, isErr, "sequence %d", seq)
		case 5, 6: // the form: declined, cancelled, unticked, or approved
			answers := []struct {
				fn func(mcp.ElicitationRequest) *mcp.ElicitationResult
				ok bool
			}{
				{formAnswer(mcp.ElicitationResponseActionDecline, nil), false},
				{formAnswer(mcp.ElicitationResponseActionCancel, nil), false},
				{formAnswer(mcp.ElicitationResponseActionAccept, map[string]any{"approve": false}), false},
				{formAnswer(mcp.ElicitationResponseActionAccept, map[string]any{"approve": true}), true},
				{formAnswer(mcp.ElicitationResponseActionAccept, map[string]any{}), false},
				{formAnswer(mcp.ElicitationResponseActionAccept, map[string]any{"approve": "true"}), false},
			}
			a := answers[rng.IntN(len(answers))]
			r.form.answer(a.fn)
			out, text, isErr := r.callTool(t, r.formC, "create_endpoint", spec)
			r.form.answer(nil)
			require.False(t, isErr, "sequence %d: %s", seq, text)
			if a.ok {
				require.Equal(t, name, out["endpoint"].(map[string]any)["name"], text)
				want++
			} else {
				require.Contains(t, []any{"declined", "cancelled", "not_confirmed"}, out["status"], text)
			}
		default: // under the ceiling: no confirmation
			_, text, isErr := r.callTool(t, r.formC, "create_endpoint", cheapEndpoint(name))
			require.False(t, isErr, text)
			want++
		}
		require.Equal(t, want, posts(), "sequence %d: POST requests sent", seq)
	}
	t.Logf("%d sequences, %d creates sent", sequences, want)
}
