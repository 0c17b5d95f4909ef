package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/replicas"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/replicas/redistest"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/resources"
)

// replica is one server process of a team deployment: streamable HTTP, one Redis, one signing key.
type replica struct {
	*session
	cmd    *exec.Cmd
	id     string // its replica ID in Redis
	stderr *lockedBuffer
}

var replicaID = regexp.MustCompile(`msg="sharing state through Redis" redis=\S+ replica=(\S+)`)

// sharedKey writes a signing key file (mode 0600) for replicas to share.
func sharedKey(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "signing.key")
	require.NoError(t, os.WriteFile(path, []byte("a2f1c0de5eed0123456789abcdef0123456789abcdef\n"), 0o600))
	return path
}

// startReplica runs the binary over streamable HTTP against emu with env and connects a
// 2025-11-25 session (sessions are what sticky routing pins) to it.
func startReplica(t *testing.T, emu *emulator.Server, env ...string) *replica {
	t.Helper()
	r := &replica{stderr: &lockedBuffer{}}
	pr, pw := io.Pipe()
	r.cmd = exec.Command(binPath, "serve", "--transport", "http", "--addr", "127.0.0.1:0")
	r.cmd.Env = append(append([]string{"HOME=" + t.TempDir(), "GORACE=atexit_sleep_ms=0", authOff}, backendEnv(t, emu)...), env...)
	r.cmd.Stderr = io.MultiWriter(r.stderr, pw)
	require.NoError(t, r.cmd.Start())
	t.Cleanup(func() { _ = r.cmd.Process.Kill(); _ = r.cmd.Wait() })
	var base string
	sc := bufio.NewScanner(pr)
	for base == "" && sc.Scan() {
		if m := replicaID.FindStringSubmatch(sc.Text()); m != nil {
			r.id = m[1]
		}
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
		}
	}
	require.NotEmpty(t, base, r.stderr.String())
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	s := &session{progress: map[string][]*sdk.ProgressNotificationParams{}, arrived: make(chan struct{}, 1), stderr: r.stderr}
	client := sdk.NewClient(&sdk.Implementation{Name: "e2e-replicas", Version: "1"}, nil)
	cs, err := client.Connect(t.Context(), &sdk.StreamableClientTransport{Endpoint: base + "/mcp", MaxRetries: -1},
		&sdk.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	require.NoError(t, err, r.stderr.String())
	t.Cleanup(func() { _ = cs.Close() })
	s.ClientSession = cs
	r.session = s
	return r
}

func startReplicas(t *testing.T, n int, emu *emulator.Server, env ...string) []*replica {
	var rs []*replica
	for range n {
		rs = append(rs, startReplica(t, emu, env...))
	}
	return rs
}

// TestE2EReplicasShareConfirmations: three server processes on one Redis and one key: a
// confirmation from A redeems on B and is refused when replayed on C, for a delete and for a
// costly create.
func TestE2EReplicasShareConfirmations(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	rdb := redistest.Start(t)
	rs := startReplicas(t, 3, emu, "HF_MCP_REDIS_URL="+rdb.URL, "HF_MCP_SIGNING_KEY_FILE="+sharedKey(t))
	a, b, c := rs[0], rs[1], rs[2]
	client := redis.NewClient(mustParse(t, rdb.URL))
	t.Cleanup(func() { _ = client.Close() })
	spent := func() int {
		keys, err := client.Keys(t.Context(), "hf-endpoints-mcp:confirm:used:*").Result()
		require.NoError(t, err)
		return len(keys)
	}

	// A costly create: previewed on A, confirmed on B, replayed on C.
	big := h100x8("big")
	need := ok(t, a.session, emu, "create_endpoint", big)
	require.Equal(t, "confirmation_required", need["status"])
	big["confirmation_token"] = need["confirmation_token"]
	created := ok(t, b.session, emu, "create_endpoint", big)
	require.NotNil(t, endpointOf(created), "B created it with A's token")
	msg := failing(t, c.session, emu, "create_endpoint", big)
	assert.Contains(t, msg, "already been used")
	assert.EqualValues(t, 1, emu.Requests("POST", "/v2/endpoint/{namespace}"), "one create reached the API")

	// A delete: previewed on A, confirmed on B, replayed on C.
	ok(t, a.session, emu, "create_endpoint", cheapEndpoint("doomed"))
	preview := ok(t, a.session, emu, "delete_endpoint", map[string]any{"endpoint_name": "doomed"})
	require.Equal(t, "confirmation_required", preview["status"])
	del := map[string]any{"endpoint_name": "doomed", "confirmation_token": preview["confirmation_token"]}
	assert.Equal(t, true, ok(t, b.session, emu, "delete_endpoint", del)["deleted"], "B deletes with A's token")
	failing(t, c.session, emu, "delete_endpoint", del)
	assert.EqualValues(t, 1, emu.Requests("DELETE", "/v2/endpoint/{namespace}/{name}"), "one DELETE reached the API")

	// A delete previewed on A while the endpoint exists, redeemed on B, replayed on C before it is gone.
	ok(t, a.session, emu, "create_endpoint", cheapEndpoint("twice"))
	preview = ok(t, a.session, emu, "delete_endpoint", map[string]any{"endpoint_name": "twice"})
	del = map[string]any{"endpoint_name": "twice", "confirmation_token": preview["confirmation_token"]}
	require.NoError(t, emu.InjectFault(emulator.Fault{Method: "DELETE", Route: "/v2/endpoint/{namespace}/{name}",
		Latency: 2 * time.Second, Count: 1}))
	before := spent()
	done := make(chan string, 1)
	go func() {
		res, err := b.CallTool(t.Context(), &sdk.CallToolParams{Name: "delete_endpoint", Arguments: del})
		if err != nil {
			done <- err.Error()
			return
		}
		done <- textOf(res)
	}()
	waitFor(t, func() bool { return spent() == before+1 }) // B redeemed the token; its DELETE is slow
	// C waits for B's change of the endpoint (the endpoint's lock is shared through Redis), then
	// finds the endpoint gone: either way the token does not delete twice.
	msg = failing(t, c.session, emu, "delete_endpoint", del)
	assert.Regexp(t, `already been used|not found`, msg, "C refuses the token B redeemed")
	assert.NotContains(t, <-done, "refused")
	assert.EqualValues(t, 2, emu.Requests("DELETE", "/v2/endpoint/{namespace}/{name}"), "one DELETE per token")
}

// TestE2EReplicasPollOncePerCycle: every replica has a subscriber on one namespace; the
// emulator counts the list calls. Then the lease holder is killed and the lease moves.
func TestE2EReplicasPollOncePerCycle(t *testing.T) {
	const cycle = 100 * time.Millisecond
	emu := startEmulator(t, fastTimings)
	rdb := redistest.Start(t)
	ns := emulator.DefaultUser
	uri := resources.URI(ns, "watched")

	measure := func(t *testing.T, n int, shared bool) ([]*replica, float64) {
		env := []string{"HF_MCP_WAIT_POLL=" + cycle.String()}
		if shared {
			env = append(env, "HF_MCP_REDIS_URL="+rdb.URL, "HF_MCP_SIGNING_KEY_FILE="+sharedKey(t))
		}
		rs := startReplicas(t, n, emu, env...)
		if emu.Requests("POST", "/v2/endpoint/{namespace}") == 0 {
			ok(t, rs[0].session, emu, "create_endpoint", cheapEndpoint("watched"))
		}
		for _, r := range rs {
			require.NoError(t, r.Subscribe(t.Context(), &sdk.SubscribeParams{URI: uri}))
		}
		// Measure once these replicas poll (a killed predecessor's lease may still be running out).
		polled := emu.Requests("GET", listRoute)
		waitFor(t, func() bool { return emu.Requests("GET", listRoute) > polled+1 })
		before, start := emu.Requests("GET", listRoute), time.Now()
		waitFor(t, func() bool { return time.Since(start) >= 30*cycle })
		lists, elapsed := emu.Requests("GET", listRoute)-before, time.Since(start)
		perCycle := float64(lists) / (float64(elapsed) / float64(cycle))
		t.Logf("%d replica(s) watching one namespace, Redis %v: %d list calls in %v (one cycle per %v): %.2f per cycle",
			n, shared, lists, elapsed.Round(time.Millisecond), cycle, perCycle)
		return rs, perCycle
	}
	var one float64
	t.Run("1 replica", func(t *testing.T) {
		_, one = measure(t, 1, true)
		require.Greater(t, one, 0.3, "the replica polls about once per cycle (less when the machine is busy)")
	})
	t.Run("3 replicas without Redis", func(t *testing.T) {
		_, alone := measure(t, 3, false)
		assert.Greater(t, alone, 2*one, "each replica polls on its own")
	})
	rs, three := measure(t, 3, true)
	assert.Less(t, three, 1.5*one, "three replicas on one Redis cost about what one does")

	// Kill the holder (no shutdown: its lease must expire) and time the move.
	client := redis.NewClient(mustParse(t, rdb.URL))
	t.Cleanup(func() { _ = client.Close() })
	holderID, err := client.Get(t.Context(), replicas.LeaseKey("", ns)).Result()
	require.NoError(t, err)
	var holder *replica
	var others []*replica
	for _, r := range rs {
		if r.id == holderID {
			holder = r
		} else {
			others = append(others, r)
		}
	}
	require.NotNil(t, holder, "the lease holder is one of the three")
	require.NoError(t, holder.cmd.Process.Signal(syscall.SIGKILL))
	killed := time.Now()
	var newHolder string
	waitFor(t, func() bool {
		newHolder, _ = client.Get(t.Context(), replicas.LeaseKey("", ns)).Result()
		return newHolder != "" && newHolder != holderID
	})
	moved := time.Since(killed)
	t.Logf("the lease moved %v after its holder was killed (lease TTL %v)", moved.Round(time.Millisecond), replicas.DefaultLeaseTTL)
	assert.Less(t, moved, 2*replicas.DefaultLeaseTTL)
	before := emu.Requests("GET", listRoute)
	waitFor(t, func() bool { return emu.Requests("GET", listRoute) > before+3 }) // the new holder polls
	assert.Len(t, others, 2)
}

func mustParse(t *testing.T, url string) *redis.Options {
	o, err := redis.ParseURL(url)
	require.NoError(t, err)
	return o
}

// waitFor polls cond until it holds, failing after 20 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 20*time.Second, 5*time.Millisecond)
}

// TestE2EReplicasRedisDown: with Redis stopped, confirmations are refused with a clear
// error and reads keep working.
func TestE2EReplicasRedisDown(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	rdb := redistest.Start(t)
	rs := startReplicas(t, 2, emu, "HF_MCP_REDIS_URL="+rdb.URL, "HF_MCP_SIGNING_KEY_FILE="+sharedKey(t))
	ok(t, rs[0].session, emu, "create_endpoint", cheapEndpoint("kept"))
	preview := ok(t, rs[0].session, emu, "delete_endpoint", map[string]any{"endpoint_name": "kept"})
	require.Equal(t, "confirmation_required", preview["status"])

	rdb.Stop()
	msg := failing(t, rs[1].session, emu, "delete_endpoint",
		map[string]any{"endpoint_name": "kept", "confirmation_token": preview["confirmation_token"]})
	t.Logf("with Redis stopped: %s", msg)
	assert.Contains(t, msg, "is unavailable") // the shared lock of the endpoint, or the confirmation store
	assert.Contains(t, msg, "nothing was done")
	assert.Contains(t, msg, "again with the same confirmation_token", "the token was not spent")
	assert.Zero(t, emu.Requests("DELETE", "/v2/endpoint/{namespace}/{name}"))
	for _, r := range rs {
		out := ok(t, r.session, emu, "list_endpoints", map[string]any{})
		assert.Contains(t, textOf(call(t, r.session, emu, "get_endpoint", map[string]any{"endpoint_name": "kept"})), "kept")
		assert.NotEmpty(t, out)
	}
}

// serverSession runs `serve serveArgs…` over stdio with env and connects to it; the caller
// ends it with closeSession (audit_test.go's stdioSession ends it only with the test).
func serverSession(t *testing.T, env []string, serveArgs ...string) *session {
	t.Helper()
	s := &session{progress: map[string][]*sdk.ProgressNotificationParams{}, arrived: make(chan struct{}, 1), stderr: &lockedBuffer{}}
	cmd := serverCommand(t, s.stderr, append([]string{"serve"}, serveArgs...), env...)
	client := sdk.NewClient(&sdk.Implementation{Name: "stdio", Version: "1"}, nil)
	cs, err := client.Connect(t.Context(), &sdk.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, nil)
	require.NoError(t, err, s.stderr.String())
	s.ClientSession = cs
	return s
}

// tool calls name on s and returns its structured result, its text and whether it failed.
func tool(t *testing.T, s *session, name string, args map[string]any) (map[string]any, string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	res, err := s.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: args})
	require.NoError(t, err, "%s; server stderr:\n%s", name, s.stderr)
	var out map[string]any
	if res.StructuredContent != nil {
		b, err := json.Marshal(res.StructuredContent)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &out))
	}
	return out, textOf(res), res.IsError
}

// oneShot runs one tool call in a new stdio server process, as clients that start a server per
// call do, and returns its structured result and text.
func oneShot(t *testing.T, emu *emulator.Server, env []string, name string, args map[string]any, serveArgs ...string) (map[string]any, string, bool) {
	t.Helper()
	s := serverSession(t, env, serveArgs...)
	defer closeSession(t, s.ClientSession, s.stderr)
	out, text, isErr := tool(t, s, name, args)
	if emu != nil {
		require.NotContains(t, text, emu.Token())
	}
	return out, text, isErr
}

// TestE2ETokensSurviveARestart: a confirmation issued by one process redeems in the next, which
// shares only the state directory, and is refused when replayed in a third.
func TestE2ETokensSurviveARestart(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	env := append(backendEnv(t, emu), "HF_MCP_STATE_DIR="+filepath.Join(t.TempDir(), "state"))
	big := h100x8("big")
	need, text, isErr := oneShot(t, emu, env, "create_endpoint", big)
	require.False(t, isErr, text)
	require.Equal(t, "confirmation_required", need["status"], text)
	big["confirmation_token"] = need["confirmation_token"]
	_, text, isErr = oneShot(t, emu, env, "create_endpoint", big)
	require.False(t, isErr, "a token issued before the restart redeems after it: %s", text)
	_, text, isErr = oneShot(t, emu, env, "create_endpoint", big)
	require.True(t, isErr)
	assert.Contains(t, text, "already been used")
	assert.EqualValues(t, 1, emu.Requests("POST", "/v2/endpoint/{namespace}"))
}

// TestE2EOneShotStdioEmulator: `serve --emulator` started anew for every call keeps its
// endpoints in the state directory: create, wait, generate and delete each in a new process.
func TestE2EOneShotStdioEmulator(t *testing.T) {
	env := []string{"HF_MCP_STATE_DIR=" + filepath.Join(t.TempDir(), "state"), "HF_MCP_WAIT_POLL=50ms"}
	spec := cpuSpec("oneshot", "openai-community/gpt2", "text-generation")
	_, text, isErr := oneShot(t, nil, env, "create_endpoint", spec, "--emulator")
	require.False(t, isErr, text)
	out, text, isErr := oneShot(t, nil, env, "wait_for_endpoint", map[string]any{"endpoint_name": "oneshot"}, "--emulator")
	require.False(t, isErr, text)
	require.Equal(t, "running", endpointOf(out)["state"], text)
	out, text, isErr = oneShot(t, nil, env, "text_generation", map[string]any{"endpoint_name": "oneshot", "prompt": "Hello", "max_new_tokens": 4}, "--emulator")
	require.False(t, isErr, text)
	assert.NotEmpty(t, out["generated_text"])
	preview, text, isErr := oneShot(t, nil, env, "delete_endpoint", map[string]any{"endpoint_name": "oneshot"}, "--emulator")
	require.False(t, isErr, text)
	require.Equal(t, "confirmation_required", preview["status"], text)
	out, text, isErr = oneShot(t, nil, env, "delete_endpoint",
		map[string]any{"endpoint_name": "oneshot", "confirmation_token": preview["confirmation_token"]}, "--emulator")
	require.False(t, isErr, text)
	assert.Equal(t, true, out["deleted"])
	_, text, isErr = oneShot(t, nil, env, "get_endpoint", map[string]any{"endpoint_name": "oneshot"}, "--emulator")
	assert.True(t, isErr, "deleted for good: %s", text)
}

// TestE2EEmulatorTakenOverWhenItsServerStops: a second `serve --emulator` on the same state
// directory uses the first one's emulator; when the first exits, the second serves the
// endpoints itself, at the same address, and its calls go on working.
func TestE2EEmulatorTakenOverWhenItsServerStops(t *testing.T) {
	env := []string{"HF_MCP_STATE_DIR=" + filepath.Join(t.TempDir(), "state")}
	first := serverSession(t, env, "--emulator")
	_, text, isErr := tool(t, first, "create_endpoint", cpuSpec("kept", "openai-community/gpt2", "text-generation"))
	require.False(t, isErr, text)

	second := serverSession(t, env, "--emulator")
	t.Cleanup(func() { closeSession(t, second.ClientSession, second.stderr) })
	out, text, isErr := tool(t, second, "get_endpoint", map[string]any{"endpoint_name": "kept"})
	require.False(t, isErr, text)
	require.Equal(t, "kept", endpointOf(out)["name"])
	waitForOutput(t, second.stderr, "emulator attached")

	closeSession(t, first.ClientSession, first.stderr)
	out, text, isErr = tool(t, second, "get_endpoint", map[string]any{"endpoint_name": "kept"})
	require.False(t, isErr, "the second server took the emulator over: %s\n%s", text, second.stderr)
	assert.Equal(t, "kept", endpointOf(out)["name"])
	waitForOutput(t, second.stderr, "emulator started") // logged by a copy of stderr that may lag the answer
}

// TestE2EReplicasKeepTheCeilingTogether: the two updates of the cost-ceiling race, sent at
// once to two replicas sharing Redis, are priced one after the other: one passes, the other
// is asked to confirm at what both together would cost. Each replica's own lock cannot see
// the other's change; the endpoint's lock in Redis does.
func TestE2EReplicasKeepTheCeilingTogether(t *testing.T) {
	emu := startEmulator(t, fastTimings)
	rdb := redistest.Start(t)
	rs := startReplicas(t, 2, emu, "HF_MCP_REDIS_URL="+rdb.URL, "HF_MCP_SIGNING_KEY_FILE="+sharedKey(t))
	callers := [2]*sdk.ClientSession{rs[0].session.ClientSession, rs[1].session.ClientSession}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replica A:\n%s\nreplica B:\n%s", rs[0].stderr, rs[1].stderr)
		}
	})
	for round := range 12 {
		name := fmt.Sprintf("replica-race-%d", round)
		ok(t, rs[0].session, emu, "create_endpoint", cpuSpec(name, "openai-community/gpt2", "text-generation"))
		outs := concurrentCalls(t, callers, "update_endpoint", []map[string]any{
			{"endpoint_name": name, "max_replica": 8},
			{"endpoint_name": name, "accelerator": "gpu", "instance_type": "nvidia-h100", "instance_size": "x1"},
		})
		passed, asked := 0, 0
		for _, out := range outs {
			switch out["status"] {
			case nil:
				passed++
			case "confirmation_required":
				asked++
			}
		}
		view := endpointOf(ok(t, rs[0].session, emu, "get_endpoint", map[string]any{"endpoint_name": name}))
		require.False(t, view["instance_type"] == "nvidia-h100" && view["max_replica"] == 8.0,
			"round %d: both updates went through on two replicas, leaving an 80 USD/h endpoint unconfirmed", round)
		require.Equal(t, [2]int{1, 1}, [2]int{passed, asked}, "round %d: one passes, one asks", round)
	}
}
