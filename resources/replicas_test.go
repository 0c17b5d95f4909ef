package resources

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/replicas"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/replicas/redistest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReplicasShareThePollingOfANamespace: three pollers on one Redis, each with a
// subscriber, cost about one list call per cycle, and every subscriber hears of a change.
func TestReplicasShareThePollingOfANamespace(t *testing.T) {
	f := newFixture(t)
	srv := redistest.Start(t)
	names := f.createRunning(t, user, "u", 2)
	uri := URI(user, names[0])

	const cycle = 20 * time.Millisecond
	var pollers []*Poller
	var subs []*recorder
	for i := range 3 {
		store, err := replicas.Open(srv.URL, replicas.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = store.Close() })
		p := NewPoller(f.api, PollerOptions{Fast: cycle, Slow: cycle,
			Share: func(ns string, onList func([]byte), onLead func()) PollShare {
				return store.Share("", ns, onList, onLead)
			}})
		t.Cleanup(func() { _ = p.Close() })
		s := newRecorder(fmt.Sprintf("replica-%d", i))
		require.NoError(t, p.Registry().Subscribe(s, uri))
		pollers, subs = append(pollers, p), append(subs, s)
	}
	cycles := func() (total int64) {
		for _, p := range pollers {
			total += p.Stats().Cycles
		}
		return total
	}
	require.Eventually(t, func() bool { return cycles() >= 5 }, 10*time.Second, time.Millisecond)
	listsBefore, cyclesBefore := f.lists(), cycles()
	start := time.Now()
	require.Eventually(t, func() bool { return cycles()-cyclesBefore >= 40 }, 20*time.Second, time.Millisecond)
	lists, elapsed := f.lists()-listsBefore, time.Since(start)
	perCycle := float64(lists) / (float64(elapsed) / float64(cycle))
	t.Logf("3 replicas: %d list calls in %v at one cycle per %v: %.2f per cycle", lists, elapsed.Round(time.Millisecond), cycle, perCycle)
	assert.Less(t, perCycle, 1.5, "about one list call per cycle, not three")
	polling := 0
	for _, p := range pollers {
		if p.Stats().Cycles > 0 {
			polling++
		}
	}
	assert.Equal(t, 1, polling, "one replica polls")

	_, err := f.api.Pause(context.Background(), user, names[0])
	require.NoError(t, err)
	for _, s := range subs {
		require.Eventually(t, func() bool { return len(s.got()) > 0 }, 10*time.Second, time.Millisecond,
			"the subscriber on %s hears of the change", s.id)
		assert.Equal(t, uri, s.got()[0])
	}

	// Without Redis, every replica polls on its own.
	srv.Stop()
	before := make([]int64, len(pollers))
	for i, p := range pollers {
		before[i] = p.Stats().Cycles
	}
	for i, p := range pollers {
		require.Eventually(t, func() bool { return p.Stats().Cycles > before[i]+2 }, 20*time.Second, time.Millisecond,
			"replica %d polls while Redis is down", i)
	}
}

// TestReplicasSharePollingPerCaller: with a client per caller (token pass-through), each caller's
// namespace has a lease of its own: of two replicas, one polls for each caller, and callers
// never share a poll.
func TestReplicasSharePollingPerCaller(t *testing.T) {
	f := newFixture(t)
	srv := redistest.Start(t)
	names := f.createRunning(t, user, "u", 1)
	uri := URI(user, names[0])
	callers := []string{"caller-a", "caller-b"}
	as := func(who string) context.Context { return context.WithValue(context.Background(), callerKey{}, who) }

	var services []*Service
	for range 2 {
		store, err := replicas.Open(srv.URL, replicas.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = store.Close() })
		s, err := New(Options{FastPoll: 20 * time.Millisecond, SlowPoll: 20 * time.Millisecond,
			APIFor: func(ctx context.Context) (string, API, error) {
				who, _ := ctx.Value(callerKey{}).(string)
				return who, f.api, nil
			},
			SharePolling: func(scope, ns string, onList func([]byte), onLead func()) PollShare {
				return store.Share(scope, ns, onList, onLead)
			}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		for _, who := range callers {
			require.NotNil(t, s.subscribe(as(who), newRecorder(who), uri))
		}
		services = append(services, s)
	}
	polls := func(s *Service, who string) int64 {
		sc, err := s.scopeFor(as(who))
		require.NoError(t, err)
		return sc.poller.Stats().Cycles
	}
	for _, who := range callers {
		require.Eventually(t, func() bool { return polls(services[0], who)+polls(services[1], who) >= 10 },
			10*time.Second, time.Millisecond, "%s's namespace is polled", who)
		a, b := polls(services[0], who), polls(services[1], who)
		assert.True(t, (a == 0) != (b == 0), "one replica polls for %s: %d and %d cycles", who, a, b)
	}
}
