package emulator

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Fifty goroutines create, update, pause, resume and delete endpoints at once (some sharing names,
// so they race on the same endpoint). The final state must match what each goroutine did last.
func TestConcurrentLifecycleIsConsistent(t *testing.T) {
	s := start(t, Options{Orgs: []string{"acme"}})
	const workers = 50
	type outcome struct {
		name    string
		deleted bool
	}
	results := make(chan outcome, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient(t, s, s.Token())
			ns := []string{"emulator-user", "acme"}[i%2]
			name := fmt.Sprintf("ep-%d", i)
			code, m := c.obj("POST", "/v2/endpoint/"+ns, createBody(name))
			if !assert.Equal(t, http.StatusAccepted, code, "%v", m) {
				return
			}
			p := "/v2/endpoint/" + ns + "/" + name
			code, m = c.obj("PUT", p, map[string]any{"compute": map[string]any{"scaling": map[string]any{"maxReplica": 2 + i%3}}})
			assert.Equal(t, http.StatusOK, code, "%v", m)
			code, _ = c.obj("POST", p+"/pause", nil)
			assert.Equal(t, http.StatusOK, code)
			code, _ = c.obj("POST", p+"/resume", nil)
			assert.Equal(t, http.StatusOK, code)
			// Everyone also hammers a shared endpoint; only its existence matters.
			c.obj("PUT", "/v2/endpoint/acme/shared", map[string]any{"tags": []any{name}})
			c.obj("GET", "/v2/endpoint/acme", nil)
			deleted := i%5 == 0
			if deleted {
				resp, _ := c.do("DELETE", p, nil)
				assert.Equal(t, http.StatusAccepted, resp.StatusCode)
			}
			results <- outcome{ns + "/" + name, deleted}
		}()
	}
	c := newClient(t, s, s.Token())
	code, _ := c.obj("POST", "/v2/endpoint/acme", createBody("shared"))
	require.Equal(t, http.StatusAccepted, code)
	wg.Wait()
	close(results)

	want := map[string]bool{"acme/shared": true}
	for r := range results {
		if !r.deleted {
			want[r.name] = true
		}
	}
	require.Len(t, want, 1+workers-workers/5)
	got := map[string]bool{}
	for _, ns := range []string{"emulator-user", "acme"} {
		_, list := c.obj("GET", "/v2/endpoint/"+ns, nil)
		for _, it := range list["items"].([]any) {
			got[ns+"/"+it.(map[string]any)["name"].(string)] = true
		}
	}
	assert.Equal(t, want, got)
	for name := range want {
		if name == "acme/shared" {
			continue
		}
		ns, n := splitKey(name)
		ep := c.waitState(ns, n, StateRunning)
		assert.NotEmpty(t, urlOf(ep))
		assert.EqualValues(t, 1, dig(ep, "status", "readyReplica"))
	}
	s.store.mu.RLock()
	assert.Len(t, s.store.byID, len(want), "id index matches the name index")
	s.store.mu.RUnlock()
}

func splitKey(k string) (string, string) {
	for i := range k {
		if k[i] == '/' {
			return k[:i], k[i+1:]
		}
	}
	return k, ""
}
