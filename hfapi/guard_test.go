package hfapi_test

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

const (
	routeEndpoint = "/v2/endpoint/{namespace}/{name}"
	routeCreate   = "/v2/endpoint/{namespace}"
	routeResume   = "/v2/endpoint/{namespace}/{name}/resume"
	routeDeploy   = "/api/catalog/deploy"
)

// inProcess serves requests with the emulator's handler directly: no sockets, so thousands of
// request sequences take seconds.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// guardEnv is an in-process emulator and a client for it with the given config tweaks.
type guardEnv struct {
	emu *emulator.Emulator
	cfg hfapi.Config
}

func newGuardEnv(t *testing.T) *guardEnv {
	t.Helper()
	emu, err := emulator.New(emulator.Options{Seed: 11, Timings: emulator.Timings{Deploy: time.Hour, Update: time.Hour, IdleMinute: time.Hour}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	const base = "http://emulator.test"
	return &guardEnv{emu: emu, cfg: hfapi.Config{Token: emulator.DefaultToken, APIBase: base + "/v2", HubBase: base,
		CatalogBase: base + "/api/catalog", Namespace: emulator.DefaultUser, HTTPClient: &http.Client{Transport: inProcess{emu}}}}
}

func (g *guardEnv) client(t *testing.T, mutate ...func(*hfapi.Config)) *hfapi.Client {
	t.Helper()
	cfg := g.cfg
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := hfapi.New(cfg)
	require.NoError(t, err)
	return c
}

func (g *guardEnv) deletes() int64 { return g.emu.Requests(http.MethodDelete, routeEndpoint) }
func (g *guardEnv) creates() int64 { return g.emu.Requests(http.MethodPost, routeCreate) }

// gpuSpec is an nvidia-h100 spec on aws us-east-1 (10 USD/h per accelerator in the emulator).
func gpuSpec(name, size string, maxReplica int) hfapi.CreateSpec {
	return hfapi.CreateSpec{Name: name, Repository: "openai-community/gpt2", Framework: "pytorch", Task: "text-generation",
		Accelerator: "gpu", InstanceType: "nvidia-h100", InstanceSize: size, Vendor: "aws", Region: "us-east-1",
		MinReplica: ptr(0), MaxReplica: ptr(maxReplica), Secrets: map[string]string{"API_KEY": "s3cr3t-value"}}
}

func smallSpec(name string) hfapi.CreateSpec {
	return hfapi.CreateSpec{Name: name, Repository: "openai-community/gpt2", Framework: "pytorch", Task: "text-generation",
		Accelerator: "cpu", InstanceType: "intel-spr", InstanceSize: "x2", Vendor: "aws", Region: "us-east-1",
		MinReplica: ptr(0), MaxReplica: ptr(1)}
}

func refusal(t *testing.T, err error) *hfapi.ConfirmationRefusedError {
	t.Helper()
	var ref *hfapi.ConfirmationRefusedError
	require.ErrorAs(t, err, &ref)
	return ref
}

func TestPrepareDeleteThenDelete(t *testing.T) {
	g := newGuardEnv(t)
	c := g.client(t)
	ctx := t.Context()
	_, err := c.Create(ctx, "", smallSpec("doomed"))
	require.NoError(t, err)

	plan, err := c.PrepareDelete(ctx, "", "doomed")
	require.NoError(t, err)
	assert.Equal(t, hfapi.ActionDelete, plan.Action)
	assert.Equal(t, emulator.DefaultUser+"/doomed", plan.Target())
	require.NotNil(t, plan.Endpoint)
	assert.Equal(t, hfapi.StatePending, plan.Endpoint.Status.State)
	require.NotNil(t, plan.Cost, plan.CostNote)
	assert.InDelta(t, 0.066, plan.Cost.Max, 1e-9, "intel-spr x2 at one replica")
	assert.Contains(t, plan.Summary(), "Delete endpoint emulator-user/doomed permanently")
	assert.Contains(t, plan.Summary(), "intel-spr x2")
	assert.NotEmpty(t, plan.Token)
	assert.WithinDuration(t, time.Now().Add(5*time.Minute), plan.Expires, time.Minute)
	assert.Zero(t, g.deletes(), "preparing deletes nothing")

	ep, err := c.Delete(ctx, "", "doomed", plan.Token)
	require.NoError(t, err)
	assert.Equal(t, "doomed", ep.Name)
	assert.EqualValues(t, 1, g.deletes())
	_, err = c.Get(ctx, "", "doomed")
	assert.True(t, hfapi.IsNotFound(err))
}

func TestDeleteRefusesBadTokensWithoutSendingDelete(t *testing.T) {
	g := newGuardEnv(t)
	c := g.client(t)
	ctx := t.Context()
	for _, name := range []string{"alpha", "beta"} {
		_, err := c.Create(ctx, "", smallSpec(name))
		require.NoError(t, err)
	}
	alpha, err := c.PrepareDelete(ctx, "", "alpha")
	require.NoError(t, err)
	foreign, err := g.client(t).PrepareDelete(ctx, "", "alpha") // another client: another key
	require.NoError(t, err)
	short := g.client(t, func(cfg *hfapi.Config) { cfg.Confirmations = hfapi.NewIssuer(time.Nanosecond) })
	expired, err := short.PrepareDelete(ctx, "", "alpha")
	require.NoError(t, err)
	createTok := func() string {
		_, err := c.Create(ctx, "", gpuSpec("gamma", "x8", 1))
		var need *hfapi.ConfirmationRequiredError
		require.ErrorAs(t, err, &need)
		return need.Plan.Token
	}()
	enc, mac, _ := strings.Cut(alpha.Token, ".")

	cases := []struct {
		name, ns, target, token string
		client                  *hfapi.Client
		why                     error // nil: any refusal
	}{
		{"no token", "", "alpha", "", c, nil},
		{"garbage", "", "alpha", "not-a-token", c, hfapi.ErrConfirmationMalformed},
		{"forged signature", "", "alpha", enc + "." + strings.Repeat("A", len(mac)), c, hfapi.ErrConfirmationForged},
		{"another process's token", "", "alpha", foreign.Token, c, hfapi.ErrConfirmationForged},
		{"expired", "", "alpha", expired.Token, short, hfapi.ErrConfirmationExpired},
		{"token of another endpoint", "", "beta", alpha.Token, c, hfapi.ErrConfirmationMismatch},
		{"token of another namespace", "someone-else", "alpha", alpha.Token, c, hfapi.ErrConfirmationMismatch},
		{"token of another action", "", "gamma", createTok, c, hfapi.ErrConfirmationMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.client.Delete(ctx, tc.ns, tc.target, tc.token)
			ref := refusal(t, err)
			if tc.why != nil {
				assert.ErrorIs(t, err, tc.why)
			}
			assert.NotContains(t, err.Error(), alpha.Token, "refusals never echo a token")
			assert.NotEmpty(t, ref.Op)
			assert.Zero(t, g.deletes())
		})
	}

	_, err = c.Delete(ctx, "", "alpha", alpha.Token)
	require.NoError(t, err, "the right token still works after the refusals")
	assert.EqualValues(t, 1, g.deletes())
}

// TestConfirmationsBelongToTheCallerWhoAsked: clients sharing an issuer (one
// per caller token, as with HF token pass-through) accept each other's
// tokens only for the same caller.
func TestConfirmationsBelongToTheCallerWhoAsked(t *testing.T) {
	g := newGuardEnv(t)
	shared := hfapi.NewIssuer(0)
	alice := g.client(t, func(cfg *hfapi.Config) { cfg.Confirmations = shared })
	aliceAgain := g.client(t, func(cfg *hfapi.Config) { cfg.Confirmations = shared })
	bob := g.client(t, func(cfg *hfapi.Config) { cfg.Confirmations, cfg.Token = shared, "hf_bob_token" })
	ctx := t.Context()
	_, err := alice.Create(ctx, "", smallSpec("shared"))
	require.NoError(t, err)

	plan, err := alice.PrepareDelete(ctx, "", "shared")
	require.NoError(t, err)
	_, err = bob.Delete(ctx, "", "shared", plan.Token)
	refusal(t, err)
	assert.ErrorIs(t, err, hfapi.ErrConfirmationCaller)
	assert.Contains(t, err.Error(), "another caller")
	assert.Zero(t, g.deletes())

	spec := gpuSpec("big", "x8", 1)
	_, err = alice.Create(ctx, "", spec)
	var need *hfapi.ConfirmationRequiredError
	require.ErrorAs(t, err, &need)
	creates := g.creates()
	_, err = bob.Create(ctx, "", spec, hfapi.WithConfirmation(need.Plan.Token))
	assert.ErrorIs(t, err, hfapi.ErrConfirmationCaller)
	assert.Equal(t, creates, g.creates(), "nothing is sent for another caller's token")

	// Refusing another caller does not use the token up: its owner (through
	// any client with the same token) still can.
	_, err = aliceAgain.Delete(ctx, "", "shared", plan.Token)
	require.NoError(t, err)
	_, err = alice.Create(ctx, "", spec, hfapi.WithConfirmation(need.Plan.Token))
	require.NoError(t, err)
	assert.EqualValues(t, 1, g.deletes())
}

// TestConfirmationsFollowTheCallerAcrossTokens: with Config.Caller, a caller
// whose token changed (an OAuth refresh) still redeems what it was issued,
// and a client of the same token without that caller does not.
func TestConfirmationsFollowTheCallerAcrossTokens(t *testing.T) {
	g := newGuardEnv(t)
	require.NoError(t, g.emu.Close())
	emu, err := emulator.New(emulator.Options{Seed: 11, Tokens: []string{"hf_before_refresh", "hf_after_refresh"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	g.emu, g.cfg.HTTPClient = emu, &http.Client{Transport: inProcess{emu}}
	shared := hfapi.NewIssuer(0)
	as := func(token, caller string) *hfapi.Client {
		return g.client(t, func(cfg *hfapi.Config) { cfg.Confirmations, cfg.Token, cfg.Caller = shared, token, caller })
	}
	before, after := as("hf_before_refresh", "hf-user:alice"), as("hf_after_refresh", "hf-user:alice")
	ctx := t.Context()
	_, err = before.Create(ctx, "", smallSpec("kept"))
	require.NoError(t, err)
	plan, err := before.PrepareDelete(ctx, "", "kept")
	require.NoError(t, err)

	for _, other := range []*hfapi.Client{as("hf_after_refresh", ""), as("hf_after_refresh", "hf-user:bob")} {
		_, err = other.Delete(ctx, "", "kept", plan.Token)
		assert.ErrorIs(t, err, hfapi.ErrConfirmationCaller)
	}
	_, err = after.Delete(ctx, "", "kept", plan.Token)
	require.NoError(t, err)
	assert.EqualValues(t, 1, g.deletes())
}

func TestDeleteTokenDoesNotOutliveTheEndpoint(t *testing.T) {
	g := newGuardEnv(t)
	c := g.client(t)
	ctx := t.Context()
	_, err := c.Create(ctx, "", smallSpec("phoenix"))
	require.NoError(t, err)
	stale, err := c.PrepareDelete(ctx, "", "phoenix")
	require.NoError(t, err)
	used, err := c.PrepareDelete(ctx, "", "phoenix")
	require.NoError(t, err)
	_, err = c.Delete(ctx, "", "phoenix", used.Token)
	require.NoError(t, err)

	// Re-created under the same name (possibly within the same millisecond, so the same createdAt).
	_, err = c.Create(ctx, "", smallSpec("phoenix"))
	require.NoError(t, err)
	for _, tok := range []string{stale.Token, used.Token} {
		_, err = c.Delete(ctx, "", "phoenix", tok)
		refusal(t, err)
	}
	assert.EqualValues(t, 1, g.deletes(), "no token from before the re-creation deletes the new endpoint")

	// A separate client (e.g. after a restart) with its own key refuses them too.
	_, err = g.client(t).Delete(ctx, "", "phoenix", stale.Token)
	assert.ErrorIs(t, err, hfapi.ErrConfirmationForged)
}

func TestDeleteTokenIsSingleUseUnderConcurrency(t *testing.T) {
	g := newGuardEnv(t)
	c := g.client(t)
	ctx := t.Context()
	_, err := c.Create(ctx, "", smallSpec("racy"))
	require.NoError(t, err)
	plan, err := c.PrepareDelete(ctx, "", "racy")
	require.NoError(t, err)
	errs := make(chan error, 8)
	for range 8 {
		go func() { _, err := c.Delete(ctx, "", "racy", plan.Token); errs <- err }()
	}
	ok := 0
	for range 8 {
		if <-errs == nil {
			ok++
		}
	}
	assert.Equal(t, 1, ok)
	assert.EqualValues(t, 1, g.deletes())
}

func TestCreateOverCeilingSendsNothingUntilConfirmed(t *testing.T) {
	g := newGuardEnv(t)
	c := g.client(t)
	ctx := t.Context()
	spec := gpuSpec("big-h100", "x8", 1)

	_, err := c.Create(ctx, "", spec)
	var need *hfapi.ConfirmationRequiredError
	require.ErrorAs(t, err, &need)
	assert.Zero(t, g.creates(), "no POST without a confirmation")
	p := need.Plan
	assert.Equal(t, hfapi.ActionCreate, p.Action)
	require.NotNil(t, p.Cost)
	assert.InDelta(t, 80.0, p.Cost.Max, 1e-9, "nvidia-h100 x8 = 8 × 10 USD/h")
	assert.InDelta(t, hfapi.DefaultMaxHourlyCost, p.Ceiling, 0)
	assert.Contains(t, p.Summary(), "80.00 USD/h")
	assert.Contains(t, p.Summary(), "above the 10.00 USD/h ceiling")
	assert.NotContains(t, err.Error(), p.Token)
	assert.NotContains(t, err.Error(), "s3cr3t-value")

	// The token binds the exact spec: another spec (name, replicas or secret) cannot use it.
	for _, other := range []hfapi.CreateSpec{gpuSpec("other-name", "x8", 1), gpuSpec("big-h100", "x8", 2),
		func() hfapi.CreateSpec {
			s := gpuSpec("big-h100", "x8", 1)
			s.Secrets = map[string]string{"API_KEY": "x"}
			return s
		}()} {
		_, err = c.Create(ctx, "", other, hfapi.WithConfirmation(p.Token))
		assert.ErrorIs(t, err, hfapi.ErrConfirmationMismatch)
	}
	assert.Zero(t, g.creates())

	ep, err := c.Create(ctx, "", spec, hfapi.WithConfirmation(p.Token))
	require.NoError(t, err)
	assert.Equal(t, "big-h100", ep.Name)
	assert.EqualValues(t, 1, g.creates())
	_, err = c.Create(ctx, "", spec, hfapi.WithConfirmation(p.Token))
	assert.ErrorIs(t, err, hfapi.ErrConfirmationUsed)
	assert.EqualValues(t, 1, g.creates())
}

func TestCostCeilingSettings(t *testing.T) {
	g := newGuardEnv(t)
	ctx := t.Context()
	cases := []struct {
		name    string
		ceiling float64
		spec    hfapi.CreateSpec
		confirm bool
	}{
		{"default ceiling, cheap cpu", 0, smallSpec("cheap"), false},
		{"default ceiling, exactly 10 USD/h is not over it", 0, gpuSpec("h100-x1", "x1", 1), false},
		{"default ceiling, two replicas of 10 USD/h", 0, gpuSpec("h100-x1-r2", "x1", 2), true},
		{"raised ceiling", 100, gpuSpec("h100-x8-ok", "x8", 1), false},
		{"no ceiling", hfapi.NoCostCeiling, gpuSpec("h100-x8-free", "x8", 2), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := g.client(t, func(cfg *hfapi.Config) { cfg.MaxHourlyCost = tc.ceiling })
			before := g.creates()
			_, err := c.Create(ctx, "", tc.spec)
			var need *hfapi.ConfirmationRequiredError
			if tc.confirm {
				require.ErrorAs(t, err, &need)
				assert.Equal(t, before, g.creates())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, before+1, g.creates())
		})
	}
	ceiling, on := g.client(t).MaxHourlyCost()
	assert.True(t, on)
	assert.InDelta(t, 10.0, ceiling, 0)
	_, on = g.client(t, func(cfg *hfapi.Config) { cfg.MaxHourlyCost = hfapi.NoCostCeiling }).MaxHourlyCost()
	assert.False(t, on)
}

func TestUpdateAndResumeOverCeiling(t *testing.T) {
	g := newGuardEnv(t)
	ctx := t.Context()
	c := g.client(t)
	_, err := c.Create(ctx, "", smallSpec("grow"))
	require.NoError(t, err)
	puts := func() int64 { return g.emu.Requests(http.MethodPut, routeEndpoint) }

	up := hfapi.UpdateSpec{Accelerator: ptr("gpu"), InstanceType: ptr("nvidia-h100"), InstanceSize: ptr("x4")}
	_, err = c.Update(ctx, "", "grow", up)
	var need *hfapi.ConfirmationRequiredError
	require.ErrorAs(t, err, &need)
	assert.Zero(t, puts())
	require.NotNil(t, need.Plan.Cost)
	assert.InDelta(t, 40.0, need.Plan.Cost.Max, 1e-9)
	assert.Equal(t, "nvidia-h100", need.Plan.Compute.InstanceType)

	_, err = c.Update(ctx, "", "grow", hfapi.UpdateSpec{Accelerator: ptr("gpu"), InstanceType: ptr("nvidia-h100"), InstanceSize: ptr("x8")},
		hfapi.WithConfirmation(need.Plan.Token))
	assert.ErrorIs(t, err, hfapi.ErrConfirmationMismatch, "a confirmed x4 does not authorize x8")
	ep, err := c.Update(ctx, "", "grow", up, hfapi.WithConfirmation(need.Plan.Token))
	require.NoError(t, err)
	assert.Equal(t, "x4", ep.Compute.InstanceSize)
	assert.EqualValues(t, 1, puts())

	// Changing something that does not affect the cost needs no confirmation, even on a costly endpoint.
	_, err = c.Update(ctx, "", "grow", hfapi.UpdateSpec{Tags: []string{"prod"}})
	require.NoError(t, err)
	assert.EqualValues(t, 2, puts())

	// Resume: a paused 40 USD/h endpoint needs a confirmation; a running one does not.
	_, err = c.Pause(ctx, "", "grow")
	require.NoError(t, err)
	_, err = c.Resume(ctx, "", "grow", true)
	require.ErrorAs(t, err, &need)
	assert.Equal(t, hfapi.ActionResume, need.Plan.Action)
	assert.Zero(t, g.emu.Requests(http.MethodPost, routeResume))
	_, err = c.Resume(ctx, "", "grow", true, hfapi.WithConfirmation(need.Plan.Token))
	require.NoError(t, err)
	assert.EqualValues(t, 1, g.emu.Requests(http.MethodPost, routeResume))
}

func TestCreateFromCatalogBoundsTheCost(t *testing.T) {
	g := newGuardEnv(t)
	ctx := t.Context()
	c := g.client(t)
	deploys := func() int64 { return g.emu.Requests(http.MethodPost, routeDeploy) }

	ep, err := c.CreateFromCatalog(ctx, "", hfapi.CatalogSpec{RepoID: "BAAI/bge-base-en-v1.5", Accelerator: "cpu"})
	require.NoError(t, err, "every cpu instance is under the ceiling")
	assert.NotEmpty(t, ep.Name)

	spec := hfapi.CatalogSpec{RepoID: "Qwen/Qwen2.5-7B-Instruct", EndpointName: "qwen", Accelerator: "gpu"}
	_, err = c.CreateFromCatalog(ctx, "", spec)
	var need *hfapi.ConfirmationRequiredError
	require.ErrorAs(t, err, &need)
	assert.EqualValues(t, 1, deploys())
	assert.Contains(t, need.Plan.CostNote, "the catalog picks the instance")
	_, err = c.CreateFromCatalog(ctx, "", spec, hfapi.WithConfirmation(need.Plan.Token))
	require.NoError(t, err)
	assert.EqualValues(t, 2, deploys())
}

func TestRequestIDsOfMutations(t *testing.T) {
	g := newGuardEnv(t)
	c := g.client(t)
	ctx, ids := hfapi.WithRequestIDs(t.Context())
	_, err := c.Create(ctx, "", smallSpec("traced"))
	require.NoError(t, err)
	plan, err := c.PrepareDelete(ctx, "", "traced")
	require.NoError(t, err)
	require.Len(t, ids.IDs(), 1, "GETs are not recorded: %v", ids.IDs())
	_, err = c.Delete(ctx, "", "traced", plan.Token)
	require.NoError(t, err)
	require.Len(t, ids.IDs(), 2)
	assert.True(t, strings.HasPrefix(ids.Last(), "emu-"), ids.Last())
	assert.Empty(t, (*hfapi.RequestIDs)(nil).Last())
}

// TestRandomDeleteSequences runs many random interleavings of previews, deletes with good and bad
// tokens, and re-creations against a model of which tokens must work: no DELETE is ever sent without
// a valid confirmation, and each valid confirmation sends exactly one.
func TestRandomDeleteSequences(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	g := newGuardEnv(t)
	c := g.client(t)
	ctx := context.Background()
	names := []string{"ep-a", "ep-b", "ep-c"}
	type tok struct {
		name, token string
		gen         int // generation of the endpoint it was issued for
		used        bool
	}
	gen := map[string]int{} // name → generation (0: absent)
	var tokens []*tok
	want := int64(0)
	for step := range 3000 {
		name := names[r.IntN(len(names))]
		switch op := r.IntN(4); {
		case op == 0 && gen[name] == 0:
			_, err := c.Create(ctx, "", smallSpec(name))
			require.NoError(t, err, "seed %d step %d", seed, step)
			gen[name] = step + 1
		case op == 1 && gen[name] != 0:
			p, err := c.PrepareDelete(ctx, "", name)
			require.NoError(t, err, "seed %d step %d", seed, step)
			tokens = append(tokens, &tok{name: name, token: p.Token, gen: gen[name]})
		case op == 2 && len(tokens) > 0:
			tk := tokens[r.IntN(len(tokens))]
			target := name
			valid := !tk.used && target == tk.name && gen[target] == tk.gen
			_, err := c.Delete(ctx, "", target, tk.token)
			if valid {
				require.NoError(t, err, "seed %d step %d: a fresh token for the live endpoint deletes it", seed, step)
				tk.used, gen[target] = true, 0
				want++
			} else {
				require.Error(t, err, "seed %d step %d: token for %s (gen %d, used %v) on %s (gen %d)", seed, step, tk.name, tk.gen, tk.used, target, gen[target])
			}
		default:
			_, err := c.Delete(ctx, "", name, fmt.Sprintf("junk-%d", r.Int()))
			require.Error(t, err)
		}
		require.Equal(t, want, g.deletes(), "seed %d step %d", seed, step)
	}
	require.Positive(t, want)
	var refused *hfapi.ConfirmationRefusedError
	_, err := c.Delete(ctx, "", "ep-a", "")
	assert.True(t, errors.As(err, &refused))
}

// TestOnlyDeleteSendsDELETE reads the package source: the DELETE method appears in Client.Delete
// and nowhere else, so no other exported path can delete without a confirmation.
func TestOnlyDeleteSendsDELETE(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	require.NoError(t, err)
	var found []string
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			for _, decl := range f.Decls {
				ast.Inspect(decl, func(n ast.Node) bool {
					switch x := n.(type) {
					case *ast.SelectorExpr:
						if x.Sel.Name == "MethodDelete" {
							found = append(found, funcName(decl))
						}
					case *ast.BasicLit:
						if x.Value == `"DELETE"` || x.Value == "`DELETE`" {
							found = append(found, funcName(decl))
						}
					}
					return true
				})
			}
		}
	}
	assert.Equal(t, []string{"Delete"}, found)
}

func funcName(d ast.Decl) string {
	if fd, ok := d.(*ast.FuncDecl); ok {
		return fd.Name.Name
	}
	return "(declaration)"
}

func TestCreateFromCatalogChecksTheRepository(t *testing.T) {
	g := newGuardEnv(t)
	ctx := t.Context()
	deploys := func() int64 { return g.emu.Requests(http.MethodPost, routeDeploy) }
	lists := func() int64 { return g.emu.Requests(http.MethodGet, "/api/catalog/repo-list") }

	for _, ceiling := range []float64{0, hfapi.NoCostCeiling} {
		c := g.client(t, func(cfg *hfapi.Config) { cfg.MaxHourlyCost = ceiling })
		_, err := c.CreateFromCatalog(ctx, "", hfapi.CatalogSpec{RepoID: "nobody/not-a-model", Accelerator: "gpu"})
		var invalid *hfapi.ValidationError
		require.ErrorAs(t, err, &invalid, "ceiling %v: %v", ceiling, err)
		assert.Equal(t, "repoId", invalid.Field)
		for _, want := range []string{`"nobody/not-a-model" is not in the Inference Catalog`, "list_catalog", "ListCatalog", "create_endpoint"} {
			assert.Contains(t, err.Error(), want)
		}
		assert.NotContains(t, err.Error(), "confirmation")
		assert.Zero(t, deploys())
	}

	c := g.client(t)
	_, err := c.CreateFromCatalog(ctx, "", hfapi.CatalogSpec{RepoID: "baai/BGE-base-en-v1.5"})
	assert.ErrorContains(t, err, `did you mean "BAAI/bge-base-en-v1.5"?`)
	listed := lists()
	for _, name := range []string{"bge-one", "bge-two"} {
		_, err = c.CreateFromCatalog(ctx, "", hfapi.CatalogSpec{RepoID: " BAAI/bge-base-en-v1.5 ", EndpointName: name, Accelerator: "cpu"})
		require.NoError(t, err)
	}
	assert.Equal(t, listed, lists(), "the catalog list is reused")
	assert.EqualValues(t, 2, deploys())
	_, err = c.CreateFromCatalog(ctx, "", hfapi.CatalogSpec{RepoID: "nobody/else"})
	require.Error(t, err)
	assert.Equal(t, listed+1, lists(), "a repository missing from the cached list is looked up afresh")

	// A catalog that cannot be read stops the deploy too.
	require.NoError(t, g.emu.InjectFault(emulator.Fault{Method: http.MethodGet, Route: "/api/catalog/repo-list", Status: http.StatusInternalServerError}))
	flaky := g.client(t, func(cfg *hfapi.Config) { cfg.Retry = hfapi.RetryPolicy{MaxAttempts: 1} })
	_, err = flaky.CreateFromCatalog(ctx, "", hfapi.CatalogSpec{RepoID: "BAAI/bge-base-en-v1.5", Accelerator: "cpu"})
	assert.ErrorContains(t, err, "checking the repository is in the catalog")
	assert.EqualValues(t, 2, deploys())
}

// TestHardwareThatIsNotOfferedIsRefusedNotConfirmed: a create or update on an instance the catalog
// does not offer would be refused by the API, so it is an error that names list_hardware and the
// nearest offers, never a cost confirmation, and nothing is sent.
func TestHardwareThatIsNotOfferedIsRefusedNotConfirmed(t *testing.T) {
	g := newGuardEnv(t)
	ctx := t.Context()
	c := g.client(t)
	puts := func() int64 { return g.emu.Requests(http.MethodPut, routeEndpoint) }

	spec := gpuSpec("typo", "x1", 1)
	spec.InstanceType = "nvidia-h1000"
	_, err := c.Create(ctx, "", spec)
	var unknown *hfapi.UnknownHardwareError
	require.ErrorAs(t, err, &unknown, "got %v", err)
	var need *hfapi.ConfirmationRequiredError
	assert.False(t, errors.As(err, &need), "not a cost confirmation")
	assert.Contains(t, err.Error(), "create endpoint emulator-user/typo: no gpu instance nvidia-h1000 x1 is offered in aws us-east-1; list_hardware lists the offers; the nearest are gpu nvidia-h100 x1 (aws us-east-1")
	require.NotEmpty(t, unknown.Nearest)
	assert.Equal(t, "nvidia-h100", unknown.Nearest[0].Hardware.InstanceType)
	assert.Zero(t, g.creates())

	_, err = c.Create(ctx, "", smallSpec("small"))
	require.NoError(t, err)
	for _, up := range []hfapi.UpdateSpec{
		{InstanceSize: ptr("x64")},
		{Accelerator: ptr("gpu"), InstanceType: ptr("nvidia-b9000"), InstanceSize: ptr("x1")},
	} {
		_, err = c.Update(ctx, "", "small", up)
		require.ErrorAs(t, err, &unknown, "got %v", err)
		assert.Contains(t, err.Error(), "update endpoint emulator-user/small: no ")
		assert.Contains(t, err.Error(), "list_hardware")
	}
	assert.Zero(t, puts())
}

// fakeLocks is an EndpointLocker that records the keys it locks, or refuses.
type fakeLocks struct {
	mu     sync.Mutex
	keys   []string
	held   int
	refuse error
}

func (f *fakeLocks) Lock(_ context.Context, key string) (func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse != nil {
		return nil, f.refuse
	}
	f.keys, f.held = append(f.keys, key), f.held+1
	return func() { f.mu.Lock(); f.held--; f.mu.Unlock() }, nil
}

// TestChangesTakeTheSharedEndpointLock: with Config.EndpointLocks every change of an endpoint
// holds the shared lock too, and releases it; a shared lock that cannot be taken refuses the
// change before anything is sent.
func TestChangesTakeTheSharedEndpointLock(t *testing.T) {
	g := newGuardEnv(t)
	ctx := t.Context()
	locks := &fakeLocks{}
	c := g.client(t, func(cfg *hfapi.Config) { cfg.EndpointLocks = locks })
	_, err := c.Create(ctx, "", smallSpec("shared"))
	require.NoError(t, err)
	_, err = c.Update(ctx, "", "shared", hfapi.UpdateSpec{MaxReplica: ptr(2)})
	require.NoError(t, err)
	_, err = c.Pause(ctx, "", "shared")
	require.NoError(t, err)
	require.Len(t, locks.keys, 3)
	for _, k := range locks.keys {
		assert.True(t, strings.HasSuffix(k, "\x00emulator-user/shared"), k)
	}
	assert.Zero(t, locks.held, "every lock was released")

	locks.refuse = errors.New("redis at 127.0.0.1:6379: connection refused")
	puts := g.emu.Requests(http.MethodPut, routeEndpoint)
	_, err = c.Update(ctx, "", "shared", hfapi.UpdateSpec{MaxReplica: ptr(3)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is unavailable, so nothing was done")
	assert.Contains(t, err.Error(), "connection refused")
	assert.Equal(t, puts, g.emu.Requests(http.MethodPut, routeEndpoint))
}
