package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/resources"
)

// countingLister counts the upstream list calls of the poller.
type countingLister struct {
	api   *hfapi.Client
	calls atomic.Int64
}

func (c *countingLister) List(ctx context.Context, ns string) ([]hfapi.Endpoint, error) {
	c.calls.Add(1)
	return c.api.List(ctx, ns)
}

// subscriber stands for one MCP session's subscriptions.
type subscriber struct{ id string }

func (s subscriber) ID() string                          { return s.id }
func (s subscriber) Notify(string, map[string]any) error { return nil }

// measurePoller subscribes 10 sessions to 10 endpoints each (100
// subscriptions in one namespace) and counts the list calls per poll cycle.
func measurePoller(ctx context.Context, e *env, o options, r *report) error {
	ns, err := e.client.DefaultNamespace(ctx)
	if err != nil {
		return err
	}
	names := []string{benchEndpoint}
	for i := 1; i < 10; i++ {
		name := fmt.Sprintf("poll-%d", i)
		if err := e.createRunning(ctx, name); err != nil {
			return err
		}
		names = append(names, name)
	}
	lister := &countingLister{api: e.client}
	p := resources.NewPoller(lister, resources.PollerOptions{Fast: 20 * time.Millisecond, Slow: 20 * time.Millisecond})
	defer p.Close()
	for s := range 10 {
		for _, name := range names {
			if err := p.Registry().Subscribe(subscriber{fmt.Sprintf("session-%d", s)}, resources.URI(ns, name)); err != nil {
				return err
			}
		}
	}
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for p.Stats().ByNamespace[ns] < int64(o.cycles) {
		select {
		case <-deadline:
			return fmt.Errorf("poller completed %d cycles in 30s, want %d", p.Stats().ByNamespace[ns], o.cycles)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	cycles, calls := p.Stats().ByNamespace[ns], lister.calls.Load()
	perCycle := float64(calls) / float64(cycles)
	r.line(fmt.Sprintf("poller list calls per cycle (%d subscriptions, 10 sessions)", p.Registry().Len()),
		fmt.Sprintf("%.2f (%d calls / %d cycles)", perCycle, calls, cycles), "1 per ns", check(perCycle <= 1.0+1.0/float64(cycles)))
	return nil
}
