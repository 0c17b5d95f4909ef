package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/resources"
)

// notifyPoll is the poll interval of the notification measurement. A change
// is seen on average half an interval after it happens, plus one list call:
// the latency figures scale with it (the server's defaults are 1 s while an
// endpoint is in transition and 10 s when all are steady).
const notifyPoll = 20 * time.Millisecond

// notifyEndpoints is how many endpoints the subscriptions are spread over.
const notifyEndpoints = 50

// countingLister counts the upstream list calls of the poller.
type countingLister struct {
	api   *hfapi.Client
	calls atomic.Int64
}

func (c *countingLister) ListRaw(ctx context.Context, ns string) ([]json.RawMessage, error) {
	c.calls.Add(1)
	return c.api.ListRaw(ctx, ns)
}

// arrival stands for one MCP session: it timestamps each notification.
type arrival struct {
	id string
	ch chan time.Time
}

func (a *arrival) ID() string { return a.id }

func (a *arrival) Notify(string, map[string]any) error {
	select {
	case a.ch <- time.Now():
		return nil
	default:
		return fmt.Errorf("subscriber %s is full", a.id)
	}
}

func (a *arrival) drain() {
	for {
		select {
		case <-a.ch:
		default:
			return
		}
	}
}

// measureNotifications measures, for 1, 100 and 1,000 subscriptions spread
// over notifyEndpoints endpoints of one namespace, the time from a state
// change made at the emulator (a pause) until every subscriber of the
// endpoint has its notification, and the list calls per poll cycle.
func measureNotifications(ctx context.Context, e *env, o options, r *report) error {
	ns, err := e.client.DefaultNamespace(ctx)
	if err != nil {
		return err
	}
	names, err := e.createMany(ctx, notifyEndpoints)
	if err != nil {
		return err
	}
	for _, subs := range []int{1, 100, 1000} {
		lat, perCycle, cycles, err := notifyLatency(ctx, e, ns, names, subs, o.notifySamples)
		if err != nil {
			return fmt.Errorf("notification latency, %d subscriptions: %w", subs, err)
		}
		r.line(fmt.Sprintf("notification latency, change at emulator → subscriber, %s", plural(subs, "sub")),
			fmt.Sprintf("median %s, p99 %s (n=%d)", ms(median(lat)), ms(percentile(lat, 0.99)), len(lat)), "", nil)
		r.line(fmt.Sprintf("poller list calls per cycle, %s, 1 namespace", plural(subs, "subscription")),
			fmt.Sprintf("%.2f (%d cycles)", perCycle, cycles), "1 per ns", check(perCycle <= 1.0+1.0/float64(cycles)))
	}
	r.note("poll interval %s for the latency rows: a change waits on average half an interval, plus one list call", notifyPoll)
	return nil
}

// notifyLatency subscribes sessions of up to notifyEndpoints subscriptions
// each (subs in all) and pauses names[0] samples times, resuming it in
// between. It returns the latencies to the last subscriber to hear of each
// pause, and the list calls per poll cycle meanwhile.
func notifyLatency(ctx context.Context, e *env, ns string, names []string, subs, samples int) ([]time.Duration, float64, int64, error) {
	lister := &countingLister{api: e.client}
	p := resources.NewPoller(lister, resources.PollerOptions{Fast: notifyPoll, Slow: notifyPoll})
	defer p.Close()
	var watchers []*arrival
	for s := range max(1, subs/len(names)) {
		a := &arrival{id: fmt.Sprintf("session-%d", s), ch: make(chan time.Time, 64)}
		for _, name := range names[:min(subs, len(names))] {
			if err := p.Registry().Subscribe(a, resources.URI(ns, name)); err != nil {
				return nil, 0, 0, err
			}
		}
		watchers = append(watchers, a)
	}
	if got := p.Registry().Len(); got != subs {
		return nil, 0, 0, fmt.Errorf("registry holds %d subscriptions, want %d", got, subs)
	}
	if err := waitCycles(ctx, p, ns, 2); err != nil {
		return nil, 0, 0, err
	}
	calls0, cycles0 := lister.calls.Load(), p.Stats().ByNamespace[ns]
	var lat []time.Duration
	for range max(1, samples) {
		start := time.Now()
		if _, err := e.client.Pause(ctx, ns, names[0]); err != nil {
			return nil, 0, 0, err
		}
		var last time.Time
		for _, w := range watchers {
			select {
			case t := <-w.ch:
				last = later(last, t)
			case <-time.After(10 * time.Second):
				return nil, 0, 0, fmt.Errorf("%s heard nothing of the pause within 10s", w.id)
			case <-ctx.Done():
				return nil, 0, 0, ctx.Err()
			}
		}
		lat = append(lat, last.Sub(start))
		if err := resumeQuietly(ctx, e, p, ns, names[0], watchers); err != nil {
			return nil, 0, 0, err
		}
	}
	cycles := p.Stats().ByNamespace[ns] - cycles0
	return lat, float64(lister.calls.Load()-calls0) / float64(max(cycles, 1)), cycles, nil
}

// resumeQuietly brings the endpoint back to running, lets a whole poll cycle
// see it (and notify it), forgets those notifications, and waits a random
// part of an interval: changes happen at any point of a cycle, not right
// after a poll.
func resumeQuietly(ctx context.Context, e *env, p *resources.Poller, ns, name string, watchers []*arrival) error {
	if _, err := e.client.Resume(ctx, ns, name, true); err != nil {
		return err
	}
	if _, err := e.client.Wait(ctx, ns, name, hfapi.WaitOptions{Timeout: 30 * time.Second, Poll: 5 * time.Millisecond}); err != nil {
		return err
	}
	if err := waitCycles(ctx, p, ns, 3); err != nil {
		return err
	}
	for _, w := range watchers {
		w.drain()
	}
	select {
	case <-time.After(rand.N(notifyPoll)):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitCycles waits until the poller has completed n more cycles of ns.
func waitCycles(ctx context.Context, p *resources.Poller, ns string, n int64) error {
	want := p.Stats().ByNamespace[ns] + n
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for p.Stats().ByNamespace[ns] < want {
		select {
		case <-deadline:
			return fmt.Errorf("poller did not complete %d cycles of %s in 30s", n, ns)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// createMany makes n running endpoints: benchEndpoint and n-1 more, created
// a few at a time.
func (e *env) createMany(ctx context.Context, n int) ([]string, error) {
	names := []string{benchEndpoint}
	for i := 1; i < n; i++ {
		names = append(names, fmt.Sprintf("poll-%d", i))
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, 8)
	for _, name := range names[1:] {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := e.createRunning(ctx, name); err != nil {
				mu.Lock()
				first = cmpErr(first, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return names, first
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
