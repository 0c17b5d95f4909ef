package mcpserver

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// pooledTransport keeps up to 64 idle connections per host, as serve's API
// client does (apiHTTPClient in internal/cli/serve_http.go) and as the test clients need.
func pooledTransport(t testing.TB) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// loadServer serves an emulator holding one endpoint ("load") over HTTP and
// returns the base URL, the transport of the server's API client and one for
// the MCP clients.
func loadServer(t testing.TB) (base string, api, clients *http.Transport) {
	t.Helper()
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{Timings: emulator.Timings{Deploy: time.Millisecond, IdleMinute: time.Hour}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	cfg := emuConfig(emu, emu.Token())
	api = pooledTransport(t)
	cfg.HTTPClient = &http.Client{Transport: api}
	client, err := hfapi.New(cfg)
	require.NoError(t, err)
	createEndpoint(t, client, "load")
	// Sized for the load: every session's call runs at once, none is refused as busy.
	s, err := New(Options{Client: client, MaxConcurrentCalls: 256})
	require.NoError(t, err)
	require.NoError(t, s.RegisterTools())
	return serve(t, s), api, pooledTransport(t)
}

// openSessions connects n SDK sessions, alternating the two protocol eras
// (2025-11-25 ones hold a stateful session and its GET stream).
func openSessions(t testing.TB, base string, tr *http.Transport, n int) []*sdk.ClientSession {
	t.Helper()
	sessions := make([]*sdk.ClientSession, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := sdk.NewClient(&sdk.Implementation{Name: "load", Version: "1"}, nil)
			cs, err := client.Connect(context.Background(), &sdk.StreamableClientTransport{Endpoint: base + PathStreamable,
				MaxRetries: -1, HTTPClient: &http.Client{Transport: tr}}, &sdk.ClientSessionOptions{ProtocolVersion: eras[i%2].version})
			if err != nil {
				errs <- fmt.Errorf("session %d: %w", i, err)
				return
			}
			sessions[i] = cs
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	return sessions
}

// callMix alternates get_endpoint and list_endpoints and reports whether the
// call succeeded.
func callMix(cs *sdk.ClientSession, i int) error {
	params := &sdk.CallToolParams{Name: "get_endpoint", Arguments: map[string]any{"endpoint_name": "load"}}
	if i%2 == 1 {
		params = &sdk.CallToolParams{Name: "list_endpoints", Arguments: map[string]any{}}
	}
	res, err := cs.CallTool(context.Background(), params)
	switch {
	case err != nil:
		return err
	case res.IsError:
		return fmt.Errorf("%s: %s", params.Name, text(res))
	}
	return nil
}

// TestLoadManyStreamableSessions: 200 concurrent streamable HTTP sessions × 20
// tool calls against the emulator, no errors, and the goroutines return to
// their baseline once the sessions are closed.
func TestLoadManyStreamableSessions(t *testing.T) {
	const sessions, calls = 200, 20
	base, api, tr := loadServer(t)
	// Warm up, so lazily started goroutines (session sweeper, the API client's
	// pooled connection) are part of the baseline.
	warm := openSessions(t, base, tr, 2)
	for i, cs := range warm {
		require.NoError(t, callMix(cs, i))
		require.NoError(t, cs.Close())
	}
	tr.CloseIdleConnections()
	api.CloseIdleConnections()
	baseline := settledGoroutines(t, 0)

	all := openSessions(t, base, tr, sessions)
	var failures atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for _, cs := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				if err := callMix(cs, i); err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	require.Zero(t, failures.Load(), "failed calls (first: %v)", firstErr.Load())
	assert.Greater(t, runtime.NumGoroutine(), baseline+sessions/2, "the sessions were really open at once")

	for _, cs := range all {
		require.NoError(t, cs.Close())
	}
	// Pooled keep-alive connections are a bounded cache (64 per host, closed
	// after 90 s idle), not session state: empty the pools before counting.
	tr.CloseIdleConnections()
	api.CloseIdleConnections()
	settledGoroutines(t, baseline)
}

// settledGoroutines waits until the goroutine count is at most want plus a
// small allowance for pooled connections to the emulator (want 0: until it
// stops falling) and returns it; a leak fails the test.
func settledGoroutines(t testing.TB, want int) int {
	t.Helper()
	const allowance = 8 // a few pooled API connections, each a reader, a writer and a server goroutine
	var n int
	ok := assert.Eventually(t, func() bool {
		prev := n
		n = runtime.NumGoroutine()
		if want == 0 {
			return n == prev
		}
		return n <= want+allowance
	}, 20*time.Second, 50*time.Millisecond)
	if !ok {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d, baseline %d; stacks:\n%s", n, want, buf[:runtime.Stack(buf, true)])
	}
	return n
}

// BenchmarkHTTPToolCalls measures get_endpoint/list_endpoints calls over
// streamable HTTP (in-process server, emulator backend, SDK clients) with 1,
// 32 and 200 concurrent sessions: throughput and latency percentiles.
//
//	go test -run '^$' -bench HTTPToolCalls -benchtime 4000x ./internal/mcpserver/
func BenchmarkHTTPToolCalls(b *testing.B) {
	for _, n := range []int{1, 32, 200} {
		b.Run(fmt.Sprintf("sessions-%d", n), func(b *testing.B) {
			base, _, tr := loadServer(b)
			all := openSessions(b, base, tr, n)
			defer func() {
				for _, cs := range all {
					_ = cs.Close()
				}
			}()
			var next atomic.Int64
			lat := make([][]time.Duration, n)
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for w, cs := range all {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
						t0 := time.Now()
						if err := callMix(cs, int(i)); err != nil {
							b.Error(err)
							return
						}
						lat[w] = append(lat[w], time.Since(t0))
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			times := slices.Concat(lat...)
			slices.Sort(times)
			b.ReportMetric(float64(len(times))/elapsed.Seconds(), "calls/s")
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms-p50")
			b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "ms-p99")
		})
	}
}

// BenchmarkIdleSessionMemory opens idle streamable HTTP sessions (2025-11-25,
// each with its GET stream) and reports the heap and stack they hold per
// session, server and in-process client together.
//
//	go test -run '^$' -bench IdleSessionMemory -benchtime 1x ./internal/mcpserver/
func BenchmarkIdleSessionMemory(b *testing.B) {
	const n = 200
	base, _, tr := loadServer(b)
	for b.Loop() {
		before := memInUse()
		all := make([]*sdk.ClientSession, 0, n)
		for range n {
			cs, err := sdk.NewClient(&sdk.Implementation{Name: "idle", Version: "1"}, nil).Connect(context.Background(),
				&sdk.StreamableClientTransport{Endpoint: base + PathStreamable, MaxRetries: -1, HTTPClient: &http.Client{Transport: tr}},
				&sdk.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
			require.NoError(b, err)
			all = append(all, cs)
		}
		after := memInUse()
		b.ReportMetric(float64(after-before)/n/1024, "KiB/session")
		for _, cs := range all {
			_ = cs.Close()
		}
	}
}

func memInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}
