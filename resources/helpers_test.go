package resources

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/require"
)

const (
	user = "alice"
	org  = "acme"

	listRoute     = "/v2/endpoint/{namespace}"
	hardwareRoute = "/v2/provider/{namespace}"
)

// fixture is an emulator on loopback and an hfapi client for it, on a transport whose idle
// connections the test can close (so that goroutine counts return to their baseline).
type fixture struct {
	emu       *emulator.Server
	api       *hfapi.Client
	transport *http.Transport
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{
		User: user, Orgs: []string{org}, Seed: 1,
		Timings: emulator.Timings{Deploy: 20 * time.Millisecond, Update: 20 * time.Millisecond, ScaleUp: 20 * time.Millisecond},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	api, err := hfapi.New(hfapi.Config{
		Token: emu.Token(), APIBase: emu.APIBase(), HubBase: emu.HubBase(), CatalogBase: emu.CatalogBase(),
		HTTPClient: &http.Client{Transport: tr},
	})
	require.NoError(t, err)
	return &fixture{emu: emu, api: api, transport: tr}
}

// createRaw creates a small CPU endpoint through the emulator's HTTP API.
func (f *fixture) createRaw(t testing.TB, ns, name string) {
	t.Helper()
	body := map[string]any{
		"name": name, "type": "authenticated",
		"provider": map[string]any{"vendor": "aws", "region": "us-east-1"},
		"compute": map[string]any{"accelerator": "cpu", "instanceType": "intel-spr", "instanceSize": "x1",
			"scaling": map[string]any{"minReplica": 1, "maxReplica": 2}},
		"model": map[string]any{"repository": "openai-community/gpt2", "framework": "pytorch", "revision": nil,
			"task": "text-generation", "image": map[string]any{"huggingface": map[string]any{}}},
	}
	b, err := json.Marshal(body)
	require.NoError(t, err)
	f.do(t, http.MethodPost, f.emu.APIBase()+"/endpoint/"+ns, b)
}

// deleteRaw deletes an endpoint through the emulator's HTTP API (hfapi exposes no unguarded delete).
func (f *fixture) deleteRaw(t testing.TB, ns, name string) {
	t.Helper()
	f.do(t, http.MethodDelete, f.emu.APIBase()+"/endpoint/"+ns+"/"+name, nil)
}

func (f *fixture) do(t testing.TB, method, url string, body []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+f.emu.Token())
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: f.transport}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, "%s %s answered %s", method, url, resp.Status)
}

// createRunning creates n endpoints named prefix-i in ns and waits until all run.
func (f *fixture) createRunning(t testing.TB, ns, prefix string, n int) []string {
	t.Helper()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", prefix, i)
		f.createRaw(t, ns, names[i])
	}
	f.waitState(t, ns, hfapi.StateRunning, names...)
	return names
}

// waitState waits until the endpoints reach state, with Get calls (so that list counts stay
// the poller's own).
func (f *fixture) waitState(t testing.TB, ns string, want hfapi.State, names ...string) {
	t.Helper()
	for _, n := range names {
		require.Eventually(t, func() bool {
			ep, err := f.api.Get(context.Background(), ns, n)
			return err == nil && ep.Status.State == want
		}, 10*time.Second, 2*time.Millisecond, "endpoint %s/%s never reached %s", ns, n, want)
	}
}

func (f *fixture) lists() int64 { return f.emu.Requests(http.MethodGet, listRoute) }

// recorder is a Subscriber that records the URIs it is notified about.
type recorder struct {
	id string

	mu   sync.Mutex
	uris []string
	bad  []string // notifications of another method
}

func newRecorder(id string) *recorder { return &recorder{id: id} }

func (r *recorder) ID() string { return r.id }

func (r *recorder) Notify(method string, params map[string]any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	uri, _ := params["uri"].(string)
	if method != mcp.MethodNotificationResourceUpdated || uri == "" {
		r.bad = append(r.bad, method)
		return nil
	}
	r.uris = append(r.uris, uri)
	return nil
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.uris...)
}

// foreign returns the methods of notifications other than resources/updated.
func (r *recorder) foreign() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bad...)
}

// listChanges collects OnListChanged calls.
type listChanges struct {
	mu  sync.Mutex
	nss []string
}

func (l *listChanges) record(ns string) {
	l.mu.Lock()
	l.nss = append(l.nss, ns)
	l.mu.Unlock()
}

func (l *listChanges) count(ns string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, x := range l.nss {
		if x == ns {
			n++
		}
	}
	return n
}

// waitCycles waits until every namespace in nss has completed at least n more poll cycles.
func waitCycles(t testing.TB, p *Poller, n int64, nss ...string) {
	t.Helper()
	start := p.Stats().ByNamespace
	require.Eventually(t, func() bool {
		now := p.Stats().ByNamespace
		for _, ns := range nss {
			if now[ns]-start[ns] < n {
				return false
			}
		}
		return true
	}, 10*time.Second, time.Millisecond, "namespaces %v did not complete %d poll cycles", nss, n)
}

// waitPolled waits until namespace ns has completed at least n poll cycles in all.
func waitPolled(t testing.TB, p *Poller, n int64, ns string) {
	t.Helper()
	require.Eventually(t, func() bool { return p.Stats().ByNamespace[ns] >= n }, 10*time.Second, time.Millisecond,
		"namespace %s was not polled %d times", ns, n)
}
