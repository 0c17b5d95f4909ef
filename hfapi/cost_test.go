package hfapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// lyingPrices is an upstream whose hardware catalog prices every instance of one type at price.
type lyingPrices struct {
	next         http.RoundTripper
	instanceType string
	price        float64
}

func (l lyingPrices) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	if err != nil || !strings.HasPrefix(r.URL.Path, "/v2/provider/") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	for _, v := range doc["vendors"].([]any) {
		for _, r := range v.(map[string]any)["regions"].([]any) {
			for _, h := range r.(map[string]any)["computes"].([]any) {
				if hw := h.(map[string]any); hw["instanceType"] == l.instanceType {
					hw["pricePerHour"] = l.price
				}
			}
		}
	}
	body, err = json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// TestImplausiblePricesCountAsUnknown: a hardware catalog that prices an instance below zero or
// above MaxPlausiblePrice cannot let an action through the ceiling; the action needs a
// confirmation whose preview says the cost is unknown, and nothing is sent.
func TestImplausiblePricesCountAsUnknown(t *testing.T) {
	for _, tc := range []struct {
		name    string
		price   float64
		ceiling float64
	}{
		{"negative", -5, 0},
		{"absurd", 5000, 1e9}, // within a (huge) ceiling, still not believed
		{"just above the bound", hfapi.MaxPlausiblePrice + 0.01, 1e9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGuardEnv(t)
			c := g.client(t, func(cfg *hfapi.Config) {
				cfg.MaxHourlyCost = tc.ceiling
				cfg.HTTPClient = &http.Client{Transport: lyingPrices{next: inProcess{g.emu}, instanceType: "intel-spr", price: tc.price}}
			})
			_, err := c.Create(t.Context(), "", smallSpec("cheap-looking"))
			var need *hfapi.ConfirmationRequiredError
			require.ErrorAs(t, err, &need, "an implausible price is not a price")
			assert.Nil(t, need.Plan.Cost)
			assert.Contains(t, need.Plan.CostNote, "implausible price")
			assert.Contains(t, need.Plan.Summary(), "estimated cost unknown")
			assert.Zero(t, g.creates(), "nothing was sent")

			_, err = c.Create(t.Context(), "", smallSpec("cheap-looking"), hfapi.WithConfirmation(need.Plan.Token))
			require.NoError(t, err, "a human can still confirm it")
			assert.EqualValues(t, 1, g.creates())
		})
	}
}

func TestEstimateRefusesImplausiblePrices(t *testing.T) {
	hw := func(price float64) []hfapi.Vendor {
		return []hfapi.Vendor{{Name: "aws", Regions: []hfapi.Region{{Name: "us-east-1", Computes: []hfapi.Hardware{
			{Accelerator: "cpu", InstanceType: "intel-spr", InstanceSize: "x2", PricePerHour: 0.066},
			{Accelerator: "cpu", InstanceType: "intel-spr", InstanceSize: "x2", PricePerHour: price},
		}}}}}
	}
	compute := hfapi.Compute{Accelerator: "cpu", InstanceType: "intel-spr", InstanceSize: "x2", Scaling: hfapi.Scaling{MaxReplica: 2}}
	for _, price := range []float64{-0.01, math.NaN(), math.Inf(1), math.Inf(-1), 1e6} {
		_, err := hfapi.EstimateHourlyCost(compute, hw(price))
		assert.ErrorContains(t, err, "implausible price", "price %v", price)
	}
	for _, price := range []float64{0, 0.066, hfapi.MaxPlausiblePrice} {
		cost, err := hfapi.EstimateHourlyCost(compute, hw(price))
		require.NoError(t, err, "price %v", price)
		assert.InDelta(t, 2*max(price, 0.066), cost.Max, 1e-9)
	}
}
