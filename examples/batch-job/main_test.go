package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/srcdeps"
)

// serverBin is the server, built once for every test.
var serverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "batch-job-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	serverBin, err = buildServer(ctx, dir)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startEmulator serves an emulator on loopback and points the server the
// example spawns at it, as a user points it at Hugging Face.
func startEmulator(t *testing.T) *emulator.Server {
	t.Helper()
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Seed: 3, Tokens: []string{testToken},
		Timings: emulator.Timings{Deploy: 300 * time.Millisecond, Update: 50 * time.Millisecond, ScaleUp: 50 * time.Millisecond, IdleMinute: time.Hour}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	t.Setenv("HF_TOKEN", emu.Token())
	t.Setenv("HF_ENDPOINTS_API_URL", emu.APIBase())
	t.Setenv("HF_ENDPOINT", emu.HubBase())
	t.Setenv("HF_ENDPOINTS_CATALOG_URL", emu.CatalogBase())
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_NAMESPACE", "")
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // the server's audit log stays in the test's files
	return emu
}

// testToken is distinctive, so its absence from the output means something.
const testToken = "hf_batchJobCanary0d9e8f7a6b5c"

func testConfig() config {
	return config{server: serverBin, serverArgs: []string{"serve"}, endpoint: "batch-test",
		concurrency: 4, maxTokens: 8, timeout: time.Minute}
}

// generateRoute is where text_generation posts: the endpoint URL itself.
const generateRoute = "/e/{id}"

func TestBatchJobCreatesWaitsRunsPausesAndDeletes(t *testing.T) {
	emu := startEmulator(t)
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), testConfig(), &out), out.String())
	log := out.String()

	steps := []string{"start the MCP server", "create endpoint batch-test", "wait until batch-test serves requests",
		"run 8 text-generation jobs, 4 at a time", "pause endpoint batch-test", "delete endpoint emulator-user/batch-test"}
	for i, step := range steps {
		assert.Contains(t, log, fmt.Sprintf("==> %d. %s", i+1, step), "steps in order")
	}
	assert.Regexp(t, `deploying \[[#.]+\] +\d+% .*pending — 0/1 replicas ready`, log, "the bar shows the states from progress")
	assert.Regexp(t, `deploying \[#+\] +100% .*(running — 1/1 replicas ready.*|done)\n    running at http://127.0.0.1:\d+/e/`, log)
	assert.Len(t, regexp.MustCompile(`job \d done in`).FindAllString(log, -1), len(prompts))
	assert.Contains(t, log, "state: paused")
	assert.Contains(t, log, `typed "emulator-user/batch-test" to confirm`)
	assert.Contains(t, log, "deleted: emulator-user/batch-test is gone")

	assert.Equal(t, int64(1), emu.Requests("POST", "/v2/endpoint/{namespace}"), "one create")
	assert.Equal(t, int64(len(prompts)), emu.Requests("POST", generateRoute), "one generation per job")
	assert.Equal(t, int64(1), emu.Requests("POST", "/v2/endpoint/{namespace}/{name}/pause"))
	assert.Equal(t, int64(1), emu.Requests("DELETE", "/v2/endpoint/{namespace}/{name}"))
	assert.NotContains(t, log, testToken[3:], "the token never reaches the output")
}

func TestBatchJobResumesAPausedEndpointAndCanKeepIt(t *testing.T) {
	emu := startEmulator(t)
	client, err := hfapi.New(hfapi.Config{Token: emu.Token(), APIBase: emu.APIBase(), HubBase: emu.HubBase(), CatalogBase: emu.CatalogBase()})
	require.NoError(t, err)
	ctx := t.Context()
	_, err = client.Create(ctx, "", hfapi.CreateSpec{Name: "batch-test", Repository: "openai-community/gpt2", Framework: "pytorch",
		Task: "text-generation", Accelerator: "cpu", Vendor: "aws", Region: "us-east-1", InstanceType: "intel-spr", InstanceSize: "x2"})
	require.NoError(t, err)
	_, err = client.Pause(ctx, "", "batch-test")
	require.NoError(t, err)

	cfg := testConfig()
	cfg.keep = true
	var out bytes.Buffer
	require.NoError(t, run(ctx, cfg, &out), out.String())
	log := out.String()
	assert.Contains(t, log, "resume endpoint batch-test (it was paused)")
	assert.NotContains(t, log, "create endpoint")
	assert.Contains(t, log, "keep the endpoint (-keep)")
	assert.Equal(t, int64(1), emu.Requests("POST", "/v2/endpoint/{namespace}"), "only the setup created it")
	assert.Zero(t, emu.Requests("DELETE", "/v2/endpoint/{namespace}/{name}"))
	ep, err := client.Get(ctx, "", "batch-test")
	require.NoError(t, err)
	assert.Equal(t, hfapi.StatePaused, ep.Status.State)
}

// TestBatchJobConfirmsWithATokenToo: a server that confirms with tokens
// answers the first delete with a preview; the second call carries its token.
func TestBatchJobConfirmsWithATokenToo(t *testing.T) {
	emu := startEmulator(t)
	cfg := testConfig()
	cfg.serverArgs = append(cfg.serverArgs, "--confirm-with", "token")
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), cfg, &out), out.String())
	log := out.String()
	assert.Contains(t, log, "preview: Delete endpoint emulator-user/batch-test permanently")
	assert.Contains(t, log, "agreed: calling delete_endpoint again with its confirmation_token")
	assert.Contains(t, log, "deleted: emulator-user/batch-test is gone")
	assert.NotContains(t, log, "typed", "no form was shown")
	assert.Equal(t, int64(1), emu.Requests("DELETE", "/v2/endpoint/{namespace}/{name}"))
}

// TestBatchJobFailsWhenJobsFail: a failing job makes the run fail (main
// then exits 1), with the server's message.
func TestBatchJobFailsWhenJobsFail(t *testing.T) {
	emu := startEmulator(t)
	require.NoError(t, emu.InjectFault(emulator.Fault{Method: "POST", Route: generateRoute, Status: 400, Count: 1}))
	var out bytes.Buffer
	err := run(t.Context(), testConfig(), &out)
	require.Error(t, err, out.String())
	assert.Contains(t, err.Error(), "1 of 8 jobs failed")
	assert.Contains(t, err.Error(), "400")
	assert.NotContains(t, out.String(), "pause endpoint", "the flow stops at the failure")
}

func TestBatchJobFailsWhenTheServerCannotStart(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	cfg := testConfig()
	cfg.serverArgs = []string{"serve", "--no-such-flag"}
	var out bytes.Buffer
	err := run(t.Context(), cfg, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no-such-flag", "the server's own complaint is shown")
}

func TestFractionNeverGoesBackwards(t *testing.T) {
	b := &bar{out: &printer{w: &bytes.Buffer{}}, label: "x"}
	var last float64
	for _, msg := range []string{"waiting up to 5m0s for x", "pending — 0/1 replicas ready", "initializing — 0/2 replicas ready",
		"initializing — 1/2 replicas ready", "pending — 0/1 replicas ready", "running — 2/2 replicas ready"} {
		b.update(msg)
		assert.GreaterOrEqual(t, b.frac, last, msg)
		last = b.frac
	}
	assert.Equal(t, 1.0, last)
	assert.InDelta(t, 0.6, fraction("initializing — 1/2 replicas ready"), 1e-9)
	assert.True(t, strings.HasSuffix(clip("a  b\nc", 10), "a b c"))
}

// TestCacheFollowsServerSources makes the server's sources inputs of this package's
// tests: the server is built by a subprocess, whose reads go test cannot see.
func TestCacheFollowsServerSources(t *testing.T) { srcdeps.Read(t) }
