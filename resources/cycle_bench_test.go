package resources

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/stretchr/testify/require"
)

// BenchmarkPollCycle measures the poller's own cost of one cycle over a namespace of 1,000 steady
// endpoints (one subscribed): the list is served from memory, so the figures are the poller's CPU
// (user + system, GC included) per cycle and the growth of the heap in use over the run.
//
//	go test -run '^$' -bench PollCycle -benchtime 50x -count 6 ./resources/
func BenchmarkPollCycle(b *testing.B) {
	one, err := os.ReadFile("../hfapi/testdata/ie-endpoint-running.json")
	require.NoError(b, err)
	one = bytes.TrimSpace(one)
	var body bytes.Buffer
	body.WriteString(`{"items":[`)
	for i := range 1000 {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(bytes.Replace(one, []byte(`"name": "`), fmt.Appendf(nil, `"name": "e%d-`, i), 1))
	}
	body.WriteString(`]}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body.Bytes())
	}))
	b.Cleanup(srv.Close)
	api, err := hfapi.New(hfapi.Config{Token: "hf_bench", APIBase: srv.URL, HubBase: srv.URL, Namespace: user})
	require.NoError(b, err)

	p := NewPoller(api, PollerOptions{Fast: time.Millisecond, Slow: time.Millisecond})
	b.Cleanup(func() { _ = p.Close() })
	require.NoError(b, p.Registry().Subscribe(newRecorder("s"), URI(user, "e0-my-endpoint-name")))
	waitCycles(b, p, 3, user) // the first list decodes everything

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0, cycles0 := cpuTime(b), p.Stats().ByNamespace[user]
	b.ResetTimer()
	waitCycles(b, p, int64(b.N), user)
	b.StopTimer()
	cpu, cycles := cpuTime(b)-cpu0, p.Stats().ByNamespace[user]-cycles0
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(ms(cpu)/float64(cycles), "cpu-ms/cycle")
	b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/(1<<20), "heap-growth-MB")
}

// cpuTime is the CPU time this process has used (user and system).
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
