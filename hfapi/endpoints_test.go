package hfapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hubServer is a fake API + Hub for namespace tests.
type hubServer struct {
	mu      sync.Mutex
	whoami  string
	lists   map[string]int // namespace → status to answer (200 serves the running fixture)
	calls   map[string]int
	catalog []byte
}

func (h *hubServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.calls[r.Method+" "+r.URL.Path]++
	h.mu.Unlock()
	switch {
	case r.URL.Path == "/api/whoami-v2":
		w.Write([]byte(h.whoami))
	case r.URL.Path == "/api/catalog/repo-list":
		w.Write([]byte(`{"models":["meta-llama/Llama-3.2-3B-Instruct","Qwen/Qwen2.5-7B"]}`))
	case r.URL.Path == "/api/catalog/deploy":
		h.mu.Lock()
		h.catalog, _ = io.ReadAll(r.Body)
		h.mu.Unlock()
		w.Write(fixtureBytes("ie-catalog-deploy-response.json"))
	case r.URL.Path == "/v2/provider/alice":
		w.Write(fixtureBytes("ie-provider-hardware-list.json"))
	case r.URL.Path == "/v2/endpoint/alice/e/open-metrics":
		w.Header().Set("Content-Type", "application/openmetrics-text")
		w.Write([]byte("# TYPE requests counter\nrequests_total 3\n# EOF\n"))
	default:
		ns := r.URL.Path[len("/v2/endpoint/"):]
		code := h.lists[ns]
		if code != 0 && code != 200 {
			w.WriteHeader(code)
			w.Write([]byte(`{"error":"no access to ` + ns + `"}`))
			return
		}
		var ep map[string]any
		_ = json.Unmarshal(fixtureBytes("ie-endpoint-running.json"), &ep)
		ep["name"] = "ep-of-" + ns
		json.NewEncoder(w).Encode(map[string]any{"items": []any{ep}})
	}
}

func (h *hubServer) count(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[key]
}

func newHub(t *testing.T, whoami string, lists map[string]int) (*hubServer, *Client) {
	h := &hubServer{whoami: whoami, lists: lists, calls: map[string]int{}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, _ := newTestClient(t, srv, func(cfg *Config) { cfg.Namespace = "" })
	return h, c
}

const aliceWhoami = `{"type":"user","name":"alice","email":"a@example.com","orgs":[{"name":"nobilling"},{"name":"team","roleInOrg":"admin"}]}`

func TestDefaultNamespaceIsCachedWhoami(t *testing.T) {
	h, c := newHub(t, aliceWhoami, nil)
	for range 3 {
		ns, err := c.DefaultNamespace(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "alice", ns)
	}
	_, err := c.Get(t.Context(), "", "x")
	require.NoError(t, err)
	assert.Equal(t, 1, h.count("GET /api/whoami-v2"))
	assert.Equal(t, 1, h.count("GET /v2/endpoint/alice/x"))

	w, err := c.Whoami(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []string{"nobilling", "team"}, []string{w.Orgs[0].Name, w.Orgs[1].Name})
	assert.Contains(t, w.Extra, "email")
}

func TestDefaultNamespaceRequiresUser(t *testing.T) {
	_, c := newHub(t, `{"type":"org","name":"acme-org"}`, nil)
	_, err := c.DefaultNamespace(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HF_NAMESPACE")

	_, cfgd := newHub(t, `{"type":"org"}`, nil)
	cfgd.cfg.Namespace = "configured"
	ns, err := cfgd.DefaultNamespace(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "configured", ns)
}

func TestListAllNamespaces(t *testing.T) {
	h, c := newHub(t, aliceWhoami, map[string]int{"nobilling": 401})
	eps, err := c.List(t.Context(), "*")
	require.NoError(t, err)
	var names []string
	for _, ep := range eps {
		names = append(names, ep.Name)
	}
	assert.Equal(t, []string{"ep-of-alice", "ep-of-team"}, names, "own first, then orgs; an org error is skipped")
	assert.Equal(t, 1, h.count("GET /v2/endpoint/nobilling"))

	_, c2 := newHub(t, aliceWhoami, map[string]int{"alice": 500})
	_, err = c2.List(t.Context(), "*")
	require.Error(t, err, "the user's own list failing is reported, not swallowed")

	eps, err = c.List(t.Context(), "team")
	require.NoError(t, err)
	require.Len(t, eps, 1)
	eps, err = c.List(t.Context(), "")
	require.NoError(t, err)
	assert.Equal(t, "ep-of-alice", eps[0].Name)
}

func TestHardwareCatalogMetrics(t *testing.T) {
	h, c := newHub(t, aliceWhoami, nil)
	vendors, err := c.ListHardware(t.Context(), "alice")
	require.NoError(t, err)
	require.Len(t, vendors, 2)
	assert.Equal(t, "Nvidia L4", vendors[0].Regions[0].Computes[0].Architecture)

	models, err := c.ListCatalog(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []string{"meta-llama/Llama-3.2-3B-Instruct", "Qwen/Qwen2.5-7B"}, models)

	ep, err := c.CreateFromCatalog(t.Context(), "", CatalogSpec{RepoID: "meta-llama/Llama-3.2-3B-Instruct", Accelerator: "gpu"})
	require.NoError(t, err)
	assert.Equal(t, "llama-3-2-3b-instruct-eey", ep.Name)
	assert.JSONEq(t, `{"namespace":"alice","repoId":"meta-llama/Llama-3.2-3B-Instruct","accelerator":"gpu"}`, string(h.catalog))

	_, err = c.CreateFromCatalog(t.Context(), "", CatalogSpec{})
	assert.ErrorContains(t, err, "repoId")
	_, err = c.CreateFromCatalog(t.Context(), "", CatalogSpec{RepoID: "x/y", EndpointName: "Bad"})
	assert.ErrorContains(t, err, "lowercase")

	text, err := c.Metrics(t.Context(), "alice", "e")
	require.NoError(t, err)
	assert.Contains(t, text, "requests_total 3")
}

func TestEstimateHourlyCost(t *testing.T) {
	var doc struct {
		Vendors []Vendor `json:"vendors"`
	}
	require.NoError(t, json.Unmarshal(fixtureBytes("ie-provider-hardware-list.json"), &doc))
	cases := []struct {
		name     string
		compute  Compute
		min, max float64
	}{
		{"by type and size", Compute{Accelerator: "gpu", InstanceType: "nvidia-l4", InstanceSize: "x1",
			Scaling: Scaling{MinReplica: 1, MaxReplica: 3}}, 0.8, 2.4},
		{"scale to zero", Compute{Accelerator: "cpu", InstanceType: "intel-spr", InstanceSize: "x1",
			Scaling: Scaling{MinReplica: 0, MaxReplica: 2}}, 0, 0.066},
		{"by id", Compute{ID: "gcp-us-east4-nvidia-a100-x8", Scaling: Scaling{MinReplica: 1, MaxReplica: 1}}, 28.8, 28.8},
		{"max below one counts as one", Compute{InstanceType: "nvidia-l4", InstanceSize: "x1"}, 0, 0.8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cost, err := EstimateHourlyCost(tc.compute, doc.Vendors)
			require.NoError(t, err)
			assert.InDelta(t, tc.min, cost.Min, 1e-9)
			assert.InDelta(t, tc.max, cost.Max, 1e-9)
			assert.Equal(t, "USD", cost.Currency)
		})
	}
	_, err := EstimateHourlyCost(Compute{InstanceType: "tpu", InstanceSize: "x9"}, doc.Vendors)
	assert.ErrorContains(t, err, "list_hardware")

	ep := &Endpoint{Provider: Provider{Vendor: "gcp", Region: "us-east4"},
		Compute: Compute{InstanceType: "nvidia-l4", InstanceSize: "x1", Scaling: Scaling{MaxReplica: 1}}}
	_, err = EstimateEndpointCost(ep, doc.Vendors)
	assert.Error(t, err, "an L4 is not offered in gcp us-east4")
}

func TestWhoamiAuth(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		want       WhoamiAuth
	}{
		{"access token", `{"name":"a","auth":{"type":"access_token","accessToken":{"role":"write"}}}`, WhoamiAuth{Type: "access_token"}},
		{"oauth token", `{"name":"a","auth":{"type":"oauth","expiresAt":"2026-12-06T03:00:00.000Z","scope":"openid inference-api"}}`,
			WhoamiAuth{Type: "oauth", ExpiresAt: time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC), Scopes: []string{"openid", "inference-api"}}},
		{"oauth token granted no scope", `{"name":"a","auth":{"type":"oauth","scope":""}}`, WhoamiAuth{Type: "oauth", Scopes: []string{}}},
		{"no auth member", `{"name":"a"}`, WhoamiAuth{}},
		{"malformed auth", `{"name":"a","auth":"x"}`, WhoamiAuth{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w Whoami
			require.NoError(t, json.Unmarshal([]byte(tc.json), &w))
			got := w.Auth()
			assert.True(t, tc.want.ExpiresAt.Equal(got.ExpiresAt), "expiry %v, want %v", got.ExpiresAt, tc.want.ExpiresAt)
			got.ExpiresAt, tc.want.ExpiresAt = time.Time{}, time.Time{}
			assert.Equal(t, tc.want, got)
		})
	}
}
