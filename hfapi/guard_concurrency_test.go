package hfapi_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// billedCost is the estimate of ep as the emulator reports it, at its max replicas.
func billedCost(t *testing.T, vendors []hfapi.Vendor, ep *hfapi.Endpoint) float64 {
	t.Helper()
	cost, err := hfapi.EstimateEndpointCost(ep, vendors)
	require.NoError(t, err)
	return cost.Max
}

var (
	moreReplicas = hfapi.UpdateSpec{MaxReplica: ptr(8)}
	dearInstance = hfapi.UpdateSpec{Accelerator: ptr("gpu"), InstanceType: ptr("nvidia-h100"), InstanceSize: ptr("x1")}
)

// TestConcurrentUpdatesCannotPassTheCeilingTogether is the attack: on a cheap endpoint, two
// updates sent at once, {"max_replica": 8} (8 × 0.066 USD/h) and an nvidia-h100 x1 (1 × 10 USD/h),
// each within the 10 USD/h ceiling alone. Together they make 80 USD/h; one of them must need a
// confirmation, whichever goes first, and the endpoint must never end over the ceiling. The two
// calls use two clients, as a server builds one per request.
func TestConcurrentUpdatesCannotPassTheCeilingTogether(t *testing.T) {
	g := newGuardEnv(t)
	ctx := t.Context()
	c := g.client(t)
	vendors, err := c.ListHardware(ctx, "")
	require.NoError(t, err)
	callers := []*hfapi.Client{g.client(t), g.client(t)}
	const rounds = 100
	for i := range rounds {
		name := fmt.Sprintf("race-%d", i)
		_, err := c.Create(ctx, "", smallSpec(name))
		require.NoError(t, err)
		errs := make([]error, 2)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for j, spec := range []hfapi.UpdateSpec{moreReplicas, dearInstance} {
			wg.Go(func() {
				<-start
				_, errs[j] = callers[j].Update(ctx, "", name, spec)
			})
		}
		close(start)
		wg.Wait()

		ep, err := c.Get(ctx, "", name)
		require.NoError(t, err)
		cost := billedCost(t, vendors, ep)
		require.LessOrEqual(t, cost, 10.0, "round %d: both updates passed (%v, %v); the endpoint is now %s %s ×%d",
			i, errs[0], errs[1], ep.Compute.InstanceType, ep.Compute.InstanceSize, ep.Compute.Scaling.MaxReplica)
		passed, asked := 0, 0
		for _, err := range errs {
			var need *hfapi.ConfirmationRequiredError
			switch {
			case err == nil:
				passed++
			case errors.As(err, &need):
				asked++
				require.NotNil(t, need.Plan.Cost)
				assert.InDelta(t, 80.0, need.Plan.Cost.Max, 1e-9, "priced as the endpoint will be after it: h100 x1 × 8")
			default:
				require.NoError(t, err)
			}
		}
		require.Equal(t, [2]int{1, 1}, [2]int{passed, asked}, "round %d: one passes, the other asks", i)
	}
	assert.EqualValues(t, rounds, g.emu.Requests(http.MethodPut, routeEndpoint), "one PUT per round")
	assert.Zero(t, hfapi.EndpointLocksHeld(), "every lock was released")
}

// TestConfirmationRepricedAtRedemption: a confirmation of the h100 x1 update, shown as 10 USD/h
// over a 5 USD/h ceiling, is refused once another (cheap, unconfirmed) update raised max
// replicas to 8: redeemed then, it would start 80 USD/h. The same holds for a resume.
func TestConfirmationRepricedAtRedemption(t *testing.T) {
	g := newGuardEnv(t)
	ctx := t.Context()
	c := g.client(t, func(cfg *hfapi.Config) { cfg.MaxHourlyCost = 5 })
	_, err := c.Create(ctx, "", smallSpec("later"))
	require.NoError(t, err)

	_, err = c.Update(ctx, "", "later", dearInstance)
	var need *hfapi.ConfirmationRequiredError
	require.ErrorAs(t, err, &need)
	require.NotNil(t, need.Plan.Cost)
	assert.InDelta(t, 10.0, need.Plan.Cost.Max, 1e-9)

	_, err = c.Update(ctx, "", "later", moreReplicas)
	require.NoError(t, err, "8 × 0.066 USD/h is within the ceiling")
	puts := g.emu.Requests(http.MethodPut, routeEndpoint)
	_, err = c.Update(ctx, "", "later", dearInstance, hfapi.WithConfirmation(need.Plan.Token))
	assert.ErrorIs(t, err, hfapi.ErrEndpointChanged)
	assert.Equal(t, puts, g.emu.Requests(http.MethodPut, routeEndpoint), "nothing was sent")

	_, err = c.Update(ctx, "", "later", dearInstance)
	require.ErrorAs(t, err, &need, "a new preview shows the real cost")
	assert.InDelta(t, 80.0, need.Plan.Cost.Max, 1e-9)
	_, err = c.Update(ctx, "", "later", dearInstance, hfapi.WithConfirmation(need.Plan.Token))
	require.NoError(t, err)

	// Resume: confirmed at 8 replicas, then max replicas changed (a cheaper update, confirmed
	// too): the resume token no longer describes the endpoint.
	_, err = c.Pause(ctx, "", "later")
	require.NoError(t, err)
	_, err = c.Resume(ctx, "", "later", true)
	require.ErrorAs(t, err, &need)
	resumeToken := need.Plan.Token
	_, err = c.Update(ctx, "", "later", hfapi.UpdateSpec{MaxReplica: ptr(4)})
	require.ErrorAs(t, err, &need)
	_, err = c.Update(ctx, "", "later", hfapi.UpdateSpec{MaxReplica: ptr(4)}, hfapi.WithConfirmation(need.Plan.Token))
	require.NoError(t, err)
	_, err = c.Resume(ctx, "", "later", true, hfapi.WithConfirmation(resumeToken))
	assert.ErrorIs(t, err, hfapi.ErrEndpointChanged)
	assert.Zero(t, g.emu.Requests(http.MethodPost, routeResume))
}

// pendingConfirmation is a preview some goroutine got, for another to redeem later.
type pendingConfirmation struct {
	name   string
	spec   *hfapi.UpdateSpec // nil: a resume
	token  string
	shown  float64 // the cost the preview showed
	action hfapi.Action
}

// TestRandomConcurrentMixesKeepTheCeiling runs random mixes of guarded changes of a few endpoints
// from many goroutines at once, each call with its own client: updates of replicas and hardware,
// pause, resume, scale to zero, and confirmations previewed by one goroutine and redeemed by
// another after other changes. Whatever the interleaving, every change that went through leaves
// its endpoint (as the API answered that very change) within the ceiling, or within the cost the
// human confirmed.
func TestRandomConcurrentMixesKeepTheCeiling(t *testing.T) {
	g := newGuardEnv(t)
	ctx := t.Context()
	setup := g.client(t)
	names := []string{"mix-a", "mix-b", "mix-c"}
	for _, n := range names {
		_, err := setup.Create(ctx, "", smallSpec(n))
		require.NoError(t, err)
	}
	vendors, err := setup.ListHardware(ctx, "")
	require.NoError(t, err)
	const ceiling = 10.0
	costOf := func(ep *hfapi.Endpoint) float64 {
		cost, err := hfapi.EstimateEndpointCost(ep, vendors)
		if !assert.NoError(t, err) {
			return 1e9
		}
		return cost.Max
	}
	instances := []hfapi.UpdateSpec{
		{Accelerator: ptr("cpu"), InstanceType: ptr("intel-spr"), InstanceSize: ptr("x2")},
		{Accelerator: ptr("gpu"), InstanceType: ptr("nvidia-h100"), InstanceSize: ptr("x1")},
		{Accelerator: ptr("gpu"), InstanceType: ptr("nvidia-t4"), InstanceSize: ptr("x1")},
		{Accelerator: ptr("gpu"), InstanceType: ptr("nvidia-h100"), InstanceSize: ptr("x2")},
	}

	var mu sync.Mutex
	var pending []pendingConfirmation
	var passed, asked, confirmed int
	worker := func(seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 11))
		c := g.client(t)
		for range 60 {
			name := names[rng.IntN(len(names))]
			var ep *hfapi.Endpoint
			var err error
			var spec *hfapi.UpdateSpec
			var redeemed *pendingConfirmation
			switch op := rng.IntN(12); {
			case op < 3:
				spec = &hfapi.UpdateSpec{MaxReplica: ptr(1 + rng.IntN(8))}
			case op < 6:
				s := instances[rng.IntN(len(instances))]
				spec = &s
			case op == 6:
				_, err = c.Pause(ctx, "", name)
				if !assert.NoError(t, err) {
					return
				}
				continue
			case op == 7:
				_, err = c.ScaleToZero(ctx, "", name)
				continue // refused when paused: fine, it lowers the cost anyway
			case op == 8:
				ep, err = c.Resume(ctx, "", name, true)
			default:
				mu.Lock()
				if len(pending) > 0 {
					i := rng.IntN(len(pending))
					p := pending[i]
					pending = append(pending[:i], pending[i+1:]...)
					redeemed = &p
				}
				mu.Unlock()
				if redeemed == nil {
					continue
				}
				name = redeemed.name
				if redeemed.spec != nil {
					ep, err = c.Update(ctx, "", name, *redeemed.spec, hfapi.WithConfirmation(redeemed.token))
				} else {
					ep, err = c.Resume(ctx, "", name, true, hfapi.WithConfirmation(redeemed.token))
				}
			}
			if spec != nil && redeemed == nil {
				ep, err = c.Update(ctx, "", name, *spec)
			}
			var need *hfapi.ConfirmationRequiredError
			var refused *hfapi.ConfirmationRefusedError
			var apiErr *hfapi.APIError
			switch {
			case err == nil:
				limit := ceiling
				if redeemed != nil {
					limit = max(ceiling, redeemed.shown)
				}
				if !assert.LessOrEqual(t, costOf(ep), limit, "%s %s: the change left it at %s %s ×%d",
					name, redeemed, ep.Compute.InstanceType, ep.Compute.InstanceSize, ep.Compute.Scaling.MaxReplica) {
					return
				}
				mu.Lock()
				if redeemed != nil {
					confirmed++
				} else {
					passed++
				}
				mu.Unlock()
			case errors.As(err, &need):
				shown := 1e9
				if need.Plan.Cost != nil {
					shown = need.Plan.Cost.Max
				}
				mu.Lock()
				asked++
				// Redeemed by whichever goroutine next picks it: at once, or after other changes.
				pending = append(pending, pendingConfirmation{name: name, spec: spec, token: need.Plan.Token, shown: shown, action: need.Plan.Action})
				mu.Unlock()
			case errors.As(err, &refused):
				if !assert.NotNil(t, redeemed, "only a token can be refused: %v", err) {
					return
				}
			case errors.As(err, &apiErr):
				// e.g. resume of an endpoint already starting: answered, nothing changed by us
			default:
				assert.NoError(t, err)
				return
			}
		}
	}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() { worker(uint64(w)) })
	}
	wg.Wait()
	t.Logf("passed %d, asked %d, confirmed %d", passed, asked, confirmed)
	assert.Positive(t, passed)
	assert.Positive(t, asked)
	assert.Positive(t, confirmed)
	assert.Zero(t, hfapi.EndpointLocksHeld())
}

func (p *pendingConfirmation) String() string {
	if p == nil {
		return "(unconfirmed)"
	}
	return fmt.Sprintf("(confirmed %s at %.2f USD/h)", p.action, p.shown)
}
