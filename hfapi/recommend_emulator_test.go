package hfapi_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

func TestRecommendAgainstTheEmulatorsCatalog(t *testing.T) {
	c := newGuardEnv(t).client(t)
	tests := []struct {
		name      string
		spec      hfapi.RecommendSpec
		needGB    float64
		cheapest  string // "" = none fits
		reason    string
		everyFits func(o hfapi.Offer) bool
	}{
		{name: "an 8B LLM needs a 24 GB GPU", spec: hfapi.RecommendSpec{Repository: "meta-llama/Llama-3.1-8B-Instruct"},
			needGB: 8030261248*2/1e9*1.3 + 1, cheapest: "aws/us-east-1 nvidia-l4 x1",
			everyFits: func(o hfapi.Offer) bool { return o.Hardware.Accelerator == "gpu" && o.MemoryGB >= 24 }},
		{name: "a small embedding model runs on CPU", spec: hfapi.RecommendSpec{Repository: "sentence-transformers/all-MiniLM-L6-v2"},
			needGB: 22713216*4/1e9*1.2 + 0.5, cheapest: "aws/us-east-1 intel-spr x1",
			everyFits: func(o hfapi.Offer) bool { return o.Hardware.Accelerator != "neuron" }},
		{name: "vendor and region narrow it", spec: hfapi.RecommendSpec{Repository: "black-forest-labs/FLUX.1-schnell", Vendor: "aws", Region: "us-east-1"},
			needGB: 11901408320*2/1e9*1.5 + 1, cheapest: "aws/us-east-1 nvidia-l40s x1",
			everyFits: func(o hfapi.Offer) bool { return o.Vendor == "aws" && o.Region == "us-east-1" && o.MemoryGB >= 36.7 }},
		{name: "a diffusion pipeline runs on one GPU: four small ones do not add up", spec: hfapi.RecommendSpec{Repository: "black-forest-labs/FLUX.1-schnell", Vendor: "gcp", Region: "europe-west4"},
			needGB: 11901408320*2/1e9*1.5 + 1,
			reason: "too big: it needs 36.7 GB and the largest offer here, gcp/europe-west4 nvidia-l4 x1, has 24 GB"},
		{name: "over budget names the cheapest that fits", spec: hfapi.RecommendSpec{Repository: "meta-llama/Llama-3.1-8B-Instruct", MaxHourlyCost: ptr(0.5)},
			needGB: 8030261248*2/1e9*1.3 + 1,
			reason: "over budget: the cheapest offer that fits, aws/us-east-1 nvidia-l4 x1, costs 0.80 USD/h, above max_hourly_cost 0.50"},
		{name: "the task given overrides the pipeline tag", spec: hfapi.RecommendSpec{Repository: "sentence-transformers/all-MiniLM-L6-v2", Task: "text-generation"},
			needGB: 22713216*4/1e9*1.3 + 1, cheapest: "aws/us-east-1 intel-spr x1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := c.Recommend(t.Context(), tt.spec)
			require.NoError(t, err)
			assert.InDelta(t, tt.needGB, rec.Estimate.NeededGB, 0.01)
			assert.Contains(t, rec.Estimate.Formula, "GB")
			if tt.cheapest == "" {
				assert.Empty(t, rec.Offers)
				assert.Equal(t, tt.reason, rec.Reason)
				return
			}
			require.NotEmpty(t, rec.Offers, rec.Reason)
			assert.Empty(t, rec.Reason)
			assert.Equal(t, tt.cheapest, rec.Offers[0].Label())
			for i, o := range rec.Offers {
				assert.GreaterOrEqual(t, o.MemoryGB, rec.Estimate.NeededGB, o.Label())
				if tt.everyFits != nil {
					assert.True(t, tt.everyFits(o), o.Label())
				}
				if i > 0 {
					assert.LessOrEqual(t, rec.Offers[i-1].Hardware.PricePerHour, o.Hardware.PricePerHour, "cheapest first")
				}
			}
		})
	}
}

func TestRecommendRefusesWhatItCannotSize(t *testing.T) {
	c := newGuardEnv(t).client(t)
	tests := []struct {
		spec hfapi.RecommendSpec
		want string
	}{
		{hfapi.RecommendSpec{Repository: "nobody/nothing"}, `repository not found on the Hub: "nobody/nothing"`},
		{hfapi.RecommendSpec{Repository: "../etc/passwd"}, `invalid repository: "../etc/passwd" is not a repository id`},
		{hfapi.RecommendSpec{Repository: "a/b/c"}, "at most one '/'"},
		{hfapi.RecommendSpec{Repository: "meta-llama/Llama-3.1-8B-Instruct", Vendor: "oracle"}, `"oracle" is not in the hardware catalog; valid vendors: aws, gcp, azure`},
		{hfapi.RecommendSpec{Repository: "meta-llama/Llama-3.1-8B-Instruct", Vendor: "gcp", Region: "us-east-1"}, `"us-east-1" is not in the hardware catalog of gcp; valid regions: us-east4, us-central1, europe-west4`},
		{hfapi.RecommendSpec{Repository: "meta-llama/Llama-3.1-8B-Instruct", MaxHourlyCost: ptr(-1.0)}, "give a positive USD amount"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := c.Recommend(t.Context(), tt.spec)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	_, err := c.ModelInfo(t.Context(), "nobody/nothing")
	assert.ErrorIs(t, err, hfapi.ErrRepoNotFound)
}
