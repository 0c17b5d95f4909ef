package emulator

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// emulatorGoroutines lists goroutines running emulator or HTTP server code, except the caller's.
func emulatorGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "emulatorGoroutines") {
			continue
		}
		if strings.Contains(g, "hf-endpoints-mcp/emulator.(*") || strings.Contains(g, "net/http.(*conn).serve") ||
			strings.Contains(g, "net/http.(*Server).Serve") {
			out = append(out, g)
		}
	}
	return out
}

func TestCloseLeavesNoGoroutine(t *testing.T) {
	s, err := Start("127.0.0.1:0", Options{Seed: 3, Timings: Timings{Deploy: 20 * time.Millisecond, ScaleUp: time.Hour, IdleMinute: time.Hour}})
	require.NoError(t, err)
	c := newClient(t, s, s.Token())
	c.http.Transport = &http.Transport{}
	url := urlOf(c.running("emulator-user", "a", map[string]any{"compute": map[string]any{"scaling": map[string]any{"minReplica": 0}}}))
	c.do("POST", url+"/generate_stream", map[string]any{"inputs": "x"})
	code, _ := c.obj("POST", "/v2/endpoint/emulator-user", createBody("pending-forever", map[string]any{}))
	require.Equal(t, http.StatusAccepted, code)
	c.obj("POST", "/v2/endpoint/emulator-user/a/scale-to-zero", nil)
	require.NoError(t, s.InjectFault(Fault{Route: "/api/whoami-v2", Latency: time.Hour}))
	held := make(chan struct{}, 2)
	for _, target := range []struct{ url, hdr string }{{url, "X-Scale-Up-Timeout"}, {s.URL + "/api/whoami-v2", "X-Unused"}} {
		go func() {
			defer func() { held <- struct{}{} }()
			req, _ := http.NewRequest("POST", target.url, strings.NewReader(`{"inputs":"x"}`))
			if strings.HasSuffix(target.url, "whoami-v2") {
				req.Method = "GET"
			}
			req.Header.Set("Authorization", "Bearer "+s.Token())
			req.Header.Set(target.hdr, "3600")
			if resp, err := c.http.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	require.Eventually(t, func() bool {
		return s.Requests("POST", "/e/{id}") == 1 && s.Requests("GET", "/api/whoami-v2") == 1
	}, waitFor, time.Millisecond)

	require.NoError(t, s.Close())
	<-held
	<-held
	c.http.CloseIdleConnections()
	require.Eventually(t, func() bool { return len(emulatorGoroutines()) == 0 }, waitFor, 5*time.Millisecond,
		"goroutines left after Close:\n%s", strings.Join(emulatorGoroutines(), "\n\n"))
}
