package resources

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/stretchr/testify/require"
)

// benchPoll is the poll interval of the benchmarks. A change is seen on average half an
// interval after it happens, plus one list call: the latency figures scale with it.
const benchPoll = 20 * time.Millisecond

// arrival is a Subscriber that timestamps each notification.
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

// BenchmarkNotificationLatency measures, against the emulator on loopback, the time from an
// out-of-band state change (a pause request) until every subscriber of the endpoint has its
// notifications/resources/updated, and the list calls per poll cycle, for 1, 100 and 1,000
// subscriptions spread over 50 endpoints of one namespace.
//
//	go test -run '^$' -bench NotificationLatency -benchtime 30x ./resources/
func BenchmarkNotificationLatency(b *testing.B) {
	for _, subs := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) { benchLatency(b, subs) })
	}
}

func benchLatency(b *testing.B, subscriptions int) {
	f := newFixture(b)
	names := f.createRunning(b, user, "bench", 50)
	p := NewPoller(f.api, PollerOptions{Fast: benchPoll, Slow: benchPoll})
	b.Cleanup(func() { _ = p.Close() })

	// Sessions of 50 subscriptions each (one per endpoint); the measured endpoint is names[0].
	sessions := max(1, subscriptions/len(names))
	var watchers []*arrival
	for s := range sessions {
		a := &arrival{id: fmt.Sprintf("session-%d", s), ch: make(chan time.Time, 64)}
		for i := 0; i < min(subscriptions, len(names)); i++ {
			require.NoError(b, p.Registry().Subscribe(a, URI(user, names[i])))
		}
		watchers = append(watchers, a)
	}
	require.Equal(b, subscriptions, p.Registry().Len())
	waitCycles(b, p, 2, user)
	lists0, cycles0 := f.lists(), p.Stats().ByNamespace[user]

	ctx := context.Background()
	latencies := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		_, err := f.api.Pause(ctx, user, names[0])
		require.NoError(b, err)
		var last time.Time
		for _, w := range watchers {
			last = later(last, <-w.ch)
		}
		latencies = append(latencies, last.Sub(start))

		b.StopTimer()
		_, err = f.api.Resume(ctx, user, names[0], true)
		require.NoError(b, err)
		f.waitState(b, user, hfapi.StateRunning, names[0])
		waitCycles(b, p, 3, user) // a whole cycle saw the running state and notified it
		for _, w := range watchers {
			w.drain()
		}
		// Changes happen at any point of a poll cycle: without this random offset every change
		// would come right after a poll, and every latency would be a whole interval.
		time.Sleep(rand.N(benchPoll))
		b.StartTimer()
	}
	b.StopTimer()

	slices.Sort(latencies)
	b.ReportMetric(ms(latencies[len(latencies)/2]), "ms-median")
	b.ReportMetric(ms(latencies[(len(latencies)*99)/100]), "ms-p99")
	cycles := p.Stats().ByNamespace[user] - cycles0
	b.ReportMetric(float64(f.lists()-lists0)/float64(max(cycles, 1)), "lists/cycle")
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkPublish measures a tool's publish: the change reaches every subscriber of the
// endpoint without waiting for a poll.
//
//	go test -run '^$' -bench Publish ./resources/
func BenchmarkPublish(b *testing.B) {
	for _, subs := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			api := &fakeLister{eps: []hfapi.Endpoint{endpoint("a", hfapi.StateRunning)}}
			p := NewPoller(api, PollerOptions{Fast: time.Hour, Slow: time.Hour})
			b.Cleanup(func() { _ = p.Close() })
			watchers := make([]*arrival, subs)
			for i := range watchers {
				watchers[i] = &arrival{id: fmt.Sprint(i), ch: make(chan time.Time, 1)}
				require.NoError(b, p.Registry().Subscribe(watchers[i], URI(user, "a")))
			}
			waitPolled(b, p, 1, user)
			states := []hfapi.State{hfapi.StatePaused, hfapi.StateRunning}
			b.ResetTimer()
			for i := range b.N {
				p.Publish(user, ptr(endpoint("a", states[i%2])))
				for _, w := range watchers {
					<-w.ch
				}
			}
		})
	}
}
