package resources

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ten sessions holding a hundred subscriptions over fifty endpoints in two namespaces cost two
// list calls per cycle, and a change reaches exactly the subscribers of the changed endpoint.
func TestPollerListsEachNamespaceOncePerCycle(t *testing.T) {
	f := newFixture(t)
	names := map[string][]string{
		user: f.createRunning(t, user, "u", 25),
		org:  f.createRunning(t, org, "o", 25),
	}
	var uris []string
	for _, ns := range []string{user, org} {
		for _, n := range names[ns] {
			uris = append(uris, URI(ns, n))
		}
	}
	require.Len(t, uris, 50)

	listsBefore := f.lists()
	p := NewPoller(f.api, PollerOptions{Fast: 5 * time.Millisecond, Slow: 5 * time.Millisecond})
	t.Cleanup(func() { _ = p.Close() })
	sessions := make([]*recorder, 10)
	for i := range sessions {
		sessions[i] = newRecorder(fmt.Sprintf("session-%d", i))
	}
	// Each endpoint gets two subscriptions, from two different sessions.
	subscribersOf := map[string][]*recorder{}
	for i := range 100 {
		uri, s := uris[i%50], sessions[(i/50+i)%10]
		require.NoError(t, p.Registry().Subscribe(s, uri))
		subscribersOf[uri] = append(subscribersOf[uri], s)
	}
	require.Equal(t, 100, p.Registry().Len())
	require.Equal(t, 50, p.Registry().Count(user))
	require.Equal(t, 50, p.Registry().Count(org))
	require.Equal(t, 2, p.Running(), "one loop per namespace")

	waitCycles(t, p, 20, user, org)
	assert.Zero(t, p.Stats().Notifications, "steady endpoints must not be reported as updated")
	assert.EqualValues(t, 50, p.Stats().Decoded, "a steady endpoint is decoded once, from the first list")

	// Change one endpoint out of band: only its two subscribers hear of it.
	changed := URI(user, names[user][3])
	_, err := f.api.Pause(context.Background(), user, names[user][3])
	require.NoError(t, err)
	require.Eventually(t, func() bool { return p.Stats().Notifications == 2 }, 10*time.Second, time.Millisecond)
	for _, s := range sessions {
		want := []string(nil)
		for _, sub := range subscribersOf[changed] {
			if sub == s {
				want = []string{changed}
			}
		}
		assert.Equal(t, want, s.got(), "notifications of %s", s.id)
		assert.Empty(t, s.foreign())
	}
	waitCycles(t, p, 5, user, org)

	require.NoError(t, p.Close())
	st := p.Stats()
	lists := f.lists() - listsBefore
	assert.Equal(t, st.Cycles, st.ByNamespace[user]+st.ByNamespace[org])
	// Close may cut one list call per namespace short: it reached the emulator, it is no cycle.
	assert.GreaterOrEqual(t, lists, st.Cycles, "every cycle is one list call")
	assert.LessOrEqual(t, lists, st.Cycles+2, "no list call outside the cycles")
	cycles := max(st.ByNamespace[user], st.ByNamespace[org])
	assert.LessOrEqual(t, lists, 2*cycles+2, "at most two list calls per cycle: %d lists in %d cycles", lists, cycles)
	assert.EqualValues(t, 2, st.Notifications, "a paused endpoint stays paused: no further updates")
	assert.LessOrEqual(t, st.Decoded, int64(50+3), "only the paused endpoint is decoded again, once per version of it")
}

// Only endpoints whose bytes changed since the last list are decoded again; the documents of the
// others are reused, and a change is still reported to exactly its subscribers.
func TestPollerDecodesOnlyWhatChanged(t *testing.T) {
	api := &fakeLister{eps: []hfapi.Endpoint{endpoint("a", hfapi.StateRunning), endpoint("b", hfapi.StateRunning),
		endpoint("c", hfapi.StatePaused)}}
	p := NewPoller(api, PollerOptions{Fast: time.Millisecond, Slow: time.Millisecond})
	t.Cleanup(func() { _ = p.Close() })
	onA, onB := newRecorder("a"), newRecorder("b")
	require.NoError(t, p.Registry().Subscribe(onA, URI(user, "a")))
	require.NoError(t, p.Registry().Subscribe(onB, URI(user, "b")))
	waitCycles(t, p, 5, user)
	assert.EqualValues(t, 3, p.Stats().Decoded, "each endpoint is decoded once while nothing changes")

	api.set(endpoint("a", hfapi.StateRunning), endpoint("b", hfapi.StateScaledToZero), endpoint("c", hfapi.StatePaused))
	require.Eventually(t, func() bool { return len(onB.got()) == 1 }, 10*time.Second, time.Millisecond)
	waitCycles(t, p, 5, user)
	assert.EqualValues(t, 4, p.Stats().Decoded, "only the changed endpoint is decoded again")
	assert.Equal(t, []string{URI(user, "b")}, onB.got())
	assert.Empty(t, onA.got())

	api.set(endpoint("a", hfapi.StateRunning), endpoint("b", hfapi.StateScaledToZero), endpoint("c", hfapi.StatePaused),
		endpoint("d", hfapi.StatePending))
	require.Eventually(t, func() bool { return p.Stats().Decoded == 5 }, 10*time.Second, time.Millisecond, "a new endpoint is decoded")
	api.set(endpoint("b", hfapi.StateScaledToZero), endpoint("c", hfapi.StatePaused), endpoint("d", hfapi.StatePending))
	require.Eventually(t, func() bool { return len(onA.got()) == 1 }, 10*time.Second, time.Millisecond, "a removal is reported")
	waitCycles(t, p, 3, user)
	assert.EqualValues(t, 5, p.Stats().Decoded, "a removal decodes nothing")
}

func TestPollerListChangedOnCreateAndDelete(t *testing.T) {
	f := newFixture(t)
	steady := f.createRunning(t, user, "steady", 1)[0]
	changes := &listChanges{}
	p := NewPoller(f.api, PollerOptions{Fast: 2 * time.Millisecond, Slow: 5 * time.Millisecond, OnListChanged: changes.record})
	t.Cleanup(func() { _ = p.Close() })

	onSteady, onNew := newRecorder("steady"), newRecorder("new")
	require.NoError(t, p.Registry().Subscribe(onSteady, URI(user, steady)))
	// A subscription may precede the endpoint: it hears of its creation and deletion.
	require.NoError(t, p.Registry().Subscribe(onNew, URI(user, "fresh")))
	waitCycles(t, p, 1, user)

	f.createRaw(t, user, "fresh")
	require.Eventually(t, func() bool { return changes.count(user) == 1 }, 10*time.Second, time.Millisecond)
	f.waitState(t, user, hfapi.StateRunning, "fresh")
	require.Eventually(t, func() bool {
		got := onNew.got()
		return len(got) > 0 && p.Registry().Subscribed(URI(user, "fresh"))
	}, 10*time.Second, time.Millisecond)
	waitCycles(t, p, 2, user) // the running state is seen
	updatesBeforeDelete := len(onNew.got())

	f.deleteRaw(t, user, "fresh")
	require.Eventually(t, func() bool { return changes.count(user) == 2 }, 10*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return len(onNew.got()) == updatesBeforeDelete+1 }, 10*time.Second, time.Millisecond)
	for _, uri := range onNew.got() {
		assert.Equal(t, URI(user, "fresh"), uri)
	}
	assert.Empty(t, onSteady.got(), "the unchanged endpoint is not reported")
	assert.Zero(t, changes.count(org), "an unwatched namespace is never listed")
}

func TestPollerStopsWhenTheLastSubscriberLeaves(t *testing.T) {
	f := newFixture(t)
	u := f.createRunning(t, user, "u", 2)
	o := f.createRunning(t, org, "o", 1)
	f.transport.CloseIdleConnections()
	baseline := runtime.NumGoroutine()

	p := NewPoller(f.api, PollerOptions{Fast: 2 * time.Millisecond, Slow: 2 * time.Millisecond})
	t.Cleanup(func() { _ = p.Close() })
	a, b := newRecorder("a"), newRecorder("b")
	require.NoError(t, p.Registry().Subscribe(a, URI(user, u[0])))
	require.NoError(t, p.Registry().Subscribe(a, URI(org, o[0])))
	require.NoError(t, p.Registry().Subscribe(b, URI(user, u[1])))
	waitCycles(t, p, 3, user, org)
	require.Equal(t, 2, p.Running())

	p.Registry().Unsubscribe("a", URI(org, o[0]))
	require.Eventually(t, func() bool { return p.Running() == 1 }, 10*time.Second, time.Millisecond, "org loop must end")
	orgCycles := p.Stats().ByNamespace[org]
	waitCycles(t, p, 3, user)
	assert.Equal(t, orgCycles, p.Stats().ByNamespace[org], "no org polling once nobody watches it")

	p.Registry().Drop("a") // session ended
	assert.Equal(t, 1, p.Running(), "b still watches the user namespace")
	p.Registry().Unsubscribe("b", URI(user, u[1]))
	require.Eventually(t, func() bool { return p.Running() == 0 }, 10*time.Second, time.Millisecond)
	assert.Zero(t, p.Registry().Len())
	assert.Empty(t, p.Registry().Namespaces())

	lists := f.lists()
	f.transport.CloseIdleConnections()
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= baseline }, 10*time.Second, 5*time.Millisecond,
		"goroutines: %d, baseline %d", runtime.NumGoroutine(), baseline)
	assert.Equal(t, lists, f.lists(), "no list call after the last subscriber left")
}

// fakeLister serves lists from a function and can hold a call until released.
type fakeLister struct {
	mu      sync.Mutex
	eps     []hfapi.Endpoint
	gate    chan struct{} // when non-nil, List waits for it
	calls   int
	entered chan struct{}
}

func (l *fakeLister) ListRaw(ctx context.Context, _ string) ([]json.RawMessage, error) {
	l.mu.Lock()
	eps, gate, entered := append([]hfapi.Endpoint(nil), l.eps...), l.gate, l.entered
	l.calls++
	l.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	items := make([]json.RawMessage, len(eps))
	for i := range eps {
		raw, err := json.Marshal(eps[i])
		if err != nil {
			return nil, err
		}
		items[i] = raw
	}
	return items, nil
}

func (l *fakeLister) set(eps ...hfapi.Endpoint) {
	l.mu.Lock()
	l.eps = eps
	l.mu.Unlock()
}

func endpoint(name string, state hfapi.State) hfapi.Endpoint {
	var ep hfapi.Endpoint
	ep.Name, ep.Status.State = name, state
	return ep
}

// A tool's publish reaches subscribers at once, and a list requested before the publish does
// not undo it (nor report it twice).
func TestPollerPublish(t *testing.T) {
	api := &fakeLister{eps: []hfapi.Endpoint{endpoint("a", hfapi.StateRunning)}}
	p := NewPoller(api, PollerOptions{Fast: time.Millisecond, Slow: time.Millisecond})
	t.Cleanup(func() { _ = p.Close() })
	sub := newRecorder("s")
	uri := URI(user, "a")

	p.Publish(user, ptr(endpoint("a", hfapi.StatePaused)))
	assert.Empty(t, sub.got(), "publishing to an unwatched namespace does nothing")

	require.NoError(t, p.Registry().Subscribe(sub, uri))
	waitCycles(t, p, 2, user)
	require.Empty(t, sub.got())

	// Hold the next list (which still returns "running"), publish "paused", release the list.
	entered := make(chan struct{})
	gate := make(chan struct{})
	api.mu.Lock()
	api.gate, api.entered = gate, entered
	api.mu.Unlock()
	<-entered
	api.mu.Lock()
	api.gate, api.entered = nil, nil
	api.mu.Unlock()
	paused := endpoint("a", hfapi.StatePaused)
	api.set(paused) // lists from now on see the change; the held one does not
	p.Publish(user, &paused)
	require.Equal(t, []string{uri}, sub.got(), "publish notifies at once")
	close(gate)
	waitCycles(t, p, 3, user)
	assert.Equal(t, []string{uri}, sub.got(), "neither the stale list nor the next one reports it again")

	api.set()
	p.PublishRemoval(user, "a")
	assert.Equal(t, []string{uri, uri}, sub.got(), "removal notifies at once")
}

func ptr[T any](v T) *T { return &v }

func TestPollerIntervalAdapts(t *testing.T) {
	api := &fakeLister{eps: []hfapi.Endpoint{endpoint("a", hfapi.StateRunning), endpoint("b", hfapi.StateInitializing)}}
	p := NewPoller(api, PollerOptions{Fast: time.Millisecond, Slow: time.Hour})
	t.Cleanup(func() { _ = p.Close() })
	require.NoError(t, p.Registry().Subscribe(newRecorder("s"), URI(user, "a")))
	waitPolled(t, p, 1, user)
	l := p.loop(user)
	require.NotNil(t, l)
	assert.Equal(t, time.Hour, p.interval(l), "b is transitional but nobody watches it")

	require.NoError(t, p.Registry().Subscribe(newRecorder("t"), URI(user, "b")))
	assert.Equal(t, time.Millisecond, p.interval(l), "a watched endpoint is transitional")
	// The new subscription woke the loop: it now polls fast, so cycles keep coming.
	waitCycles(t, p, 3, user)

	p.Publish(user, ptr(endpoint("b", hfapi.StateRunning)))
	assert.Equal(t, time.Hour, p.interval(l), "all watched endpoints are steady")
}

func TestRegistry(t *testing.T) {
	w := &watchLog{}
	r := NewRegistry(w)
	a, b := newRecorder("a"), newRecorder("b")
	u1, u2, o1 := URI(user, "one"), URI(user, "two"), URI(org, "one")

	require.NoError(t, r.Subscribe(a, u1))
	require.NoError(t, r.Subscribe(a, u1)) // duplicate: no-op
	require.NoError(t, r.Subscribe(b, u1))
	require.NoError(t, r.Subscribe(a, u2))
	require.NoError(t, r.Subscribe(b, o1))
	assert.Equal(t, 3, r.Count(user))
	assert.Equal(t, 1, r.Count(org))
	assert.Equal(t, []string{org, user}, r.Namespaces())
	assert.ElementsMatch(t, []string{"a", "b"}, ids(r.Subscribers(u1)))
	assert.Error(t, r.Subscribe(a, "file:///etc/passwd"), "not an endpoint URI")

	r.Unsubscribe("b", o1)
	assert.Equal(t, []string{"-" + org}, w.unwatched())
	r.Unsubscribe("b", o1) // twice: no-op
	r.Unsubscribe("nobody", u1)
	r.Drop("a")
	assert.Equal(t, []string{"b"}, ids(r.Subscribers(u1)))
	assert.Empty(t, r.Subscribers(u2))
	assert.Equal(t, 1, r.Count(user))
	r.Drop("b")
	assert.Zero(t, r.Len())
	assert.Equal(t, []string{"-" + org, "-" + user}, w.unwatched())
}

type watchLog struct {
	mu  sync.Mutex
	log []string
}

func (w *watchLog) Watch(ns string) { w.mu.Lock(); w.log = append(w.log, "+"+ns); w.mu.Unlock() }

func (w *watchLog) Unwatch(ns string) { w.mu.Lock(); w.log = append(w.log, "-"+ns); w.mu.Unlock() }

func (w *watchLog) unwatched() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, e := range w.log {
		if e[0] == '-' {
			out = append(out, e)
		}
	}
	return out
}

func ids(subs []Subscriber) []string {
	out := make([]string, 0, len(subs))
	for _, s := range subs {
		out = append(out, s.ID())
	}
	return out
}

// A namespace the token cannot read does not disturb the others, and its failures are
// logged as a warning once, not every cycle.
func TestPollerSurvivesAnUnreadableNamespace(t *testing.T) {
	f := newFixture(t)
	u := f.createRunning(t, user, "u", 1)[0]
	logs := &levelCounter{}
	p := NewPoller(f.api, PollerOptions{Fast: 2 * time.Millisecond, Slow: 2 * time.Millisecond, Logger: slog.New(logs)})
	t.Cleanup(func() { _ = p.Close() })
	mine, theirs := newRecorder("mine"), newRecorder("theirs")
	require.NoError(t, p.Registry().Subscribe(mine, URI(user, u)))
	require.NoError(t, p.Registry().Subscribe(theirs, URI("someone-else", "x")))
	waitCycles(t, p, 3, user, "someone-else")

	_, err := f.api.Pause(context.Background(), user, u)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(mine.got()) == 1 }, 10*time.Second, time.Millisecond)
	assert.Empty(t, theirs.got())
	assert.Equal(t, 1, logs.count(slog.LevelWarn), "one warning for the unreadable namespace")
	assert.GreaterOrEqual(t, logs.count(slog.LevelDebug), 2, "then quieter")
}

// levelCounter is a slog.Handler counting records by level.
type levelCounter struct {
	mu sync.Mutex
	n  map[slog.Level]int
}

func (h *levelCounter) Enabled(context.Context, slog.Level) bool { return true }

func (h *levelCounter) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == nil {
		h.n = map[slog.Level]int{}
	}
	h.n[r.Level]++
	return nil
}

func (h *levelCounter) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h *levelCounter) WithGroup(string) slog.Handler { return h }

func (h *levelCounter) count(l slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[l]
}
