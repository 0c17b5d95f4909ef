package hfapi

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEstimateMemory(t *testing.T) {
	tests := []struct {
		name    string
		st      *SafetensorsInfo
		task    string
		want    float64
		formula string
	}{
		{"BF16 generation", &SafetensorsInfo{Parameters: map[string]int64{"BF16": 1e9}, Total: 1e9}, "text-generation",
			2*1.3 + 1, "1000000000 params × 2 bytes (BF16) = 2.0 GB weights; × 1.3 for KV cache and activations (text-generation) + 1 GB runtime = 3.6 GB"},
		{"F32 embeddings", &SafetensorsInfo{Parameters: map[string]int64{"F32": 1e8}, Total: 1e8}, "feature-extraction",
			0.4*1.2 + 0.5, "× 1.2 for activations (feature-extraction)"},
		{"mixed dtypes add up", &SafetensorsInfo{Parameters: map[string]int64{"F32": 1e8, "F8_E4M3": 1e9}, Total: 11e8}, "text-to-image",
			(0.4+1)*1.5 + 1, "their dtype's bytes (F8_E4M3, F32)"},
		{"an unknown dtype counts as 16-bit", &SafetensorsInfo{Parameters: map[string]int64{"Q4_K": 1e9}, Total: 1e9}, "",
			2*1.2 + 0.5, "assumed 16-bit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			est, err := EstimateMemory(&ModelInfo{ID: "x/y", Safetensors: tt.st}, tt.task)
			require.NoError(t, err)
			assert.InDelta(t, tt.want, est.NeededGB, 1e-9)
			assert.Contains(t, est.Formula, tt.formula)
		})
	}
	_, err := EstimateMemory(&ModelInfo{ID: "x/pickles"}, "text-generation")
	assert.ErrorContains(t, err, "no safetensors parameter count for x/pickles")
}

func TestRecommendationSaysWhyNothingFits(t *testing.T) {
	gpu := func(typ string, gb, price float64, max, used int) Offer {
		return Offer{Vendor: "aws", Region: "us-east-1", MemoryGB: gb, Hardware: Hardware{Accelerator: "gpu", InstanceType: typ,
			InstanceSize: "x1", NumAccelerators: 1, PricePerHour: price, Status: "available",
			Quota: &Quota{MaxAccelerators: max, UsedAccelerators: used}}}
	}
	small, big := gpu("nvidia-t4", 16, 0.5, 4, 0), gpu("nvidia-a100", 80, 2.5, 2, 2)
	tests := []struct {
		name   string
		need   float64
		offers []Offer
		cost   *float64
		reason string
		picked int
	}{
		{"too big", 100, []Offer{small, big}, nil, "too big: it needs 100.0 GB and the largest offer here, aws/us-east-1 nvidia-a100 x1, has 80 GB", 0},
		{"no quota", 40, []Offer{small, big}, nil, "no quota: the 1 offer(s) that fit (cheapest aws/us-east-1 nvidia-a100 x1) have no accelerators left", 0},
		{"over budget", 10, []Offer{big, small}, ptr(0.25), "over budget: the cheapest offer that fits, aws/us-east-1 nvidia-t4 x1, costs 0.50 USD/h, above max_hourly_cost 0.25", 0},
		{"quota left skips the full one", 10, []Offer{big, small}, nil, "", 1},
		{"no GPU at all", 1, nil, nil, "no GPU offer in the vendor and region asked for", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &Recommendation{Task: "text-generation", Estimate: MemoryEstimate{Parameters: 7e9, NeededGB: tt.need}}
			rec.pick(tt.offers, tt.cost)
			assert.Len(t, rec.Offers, tt.picked)
			if tt.reason == "" {
				assert.Empty(t, rec.Reason)
				return
			}
			assert.Contains(t, rec.Reason, tt.reason)
		})
	}
}

func TestValidateCallPath(t *testing.T) {
	for _, good := range []string{"", "/", "/v1/rerank", "predict", "/predict?top_k=3", "/a:b"} {
		assert.NoError(t, ValidateCallPath(good), good)
	}
	for _, bad := range []string{"https://evil.example/", "//evil.example", "/../x", "..", "/%2E%2E/x", "/a%2fb", "/a\\b",
		"/a b", "/a\nb", "evil.example:443/x", "mailto:x", "/x#frag"} {
		err := ValidateCallPath(bad)
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "give a path under the endpoint URL", bad)
	}
}

// Call refuses a path leaving the endpoint URL, or a broken Accept header, before sending anything.
func TestCallSendsNothingOffTheEndpointURL(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"path":"` + r.URL.Path + `","accept":"` + r.Header.Get("Accept") + `"}`))
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv)
	ep := &Endpoint{Name: "e", Status: Status{State: StateRunning, URL: srv.URL}}
	for _, bad := range []struct{ path, accept string }{{"https://evil.example/", ""}, {"/../x", ""}, {"//evil.example", ""}, {"/", "a\r\nX-Evil: 1"}} {
		_, err := c.Call(t.Context(), ep, "POST", bad.path, map[string]any{}, CallOptions{Accept: bad.accept})
		var ve *ValidationError
		assert.ErrorAs(t, err, &ve, "%+v", bad)
	}
	assert.Zero(t, hits.Load(), "nothing was sent")
	resp, err := c.Call(t.Context(), ep, "POST", "v1/rerank", map[string]any{}, CallOptions{Accept: "application/json"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"path":"/v1/rerank","accept":"application/json"}`, string(resp.Body))
}
