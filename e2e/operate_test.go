package e2e

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
)

// operateTransports are the transports the operate-and-diagnose tools are driven over.
var operateTransports = []string{"stdio", "http"}

// deployRecommended asks recommend_hardware for repo and deploys it with the cheapest offer's
// create_endpoint arguments, as an assistant would, waiting until it runs.
func deployRecommended(t *testing.T, s *session, emu *emulator.Server, repo, wantHardware string) string {
	t.Helper()
	rec := ok(t, s, emu, "recommend_hardware", map[string]any{"repository": repo})
	offers, _ := rec["offers"].([]any)
	require.NotEmpty(t, offers, "%v", rec)
	first := offers[0].(map[string]any)
	assert.Equal(t, wantHardware, first["hardware"])
	args := first["create_endpoint"].(map[string]any)
	args["wait"] = true
	created := ok(t, s, emu, "create_endpoint", args)
	require.Equal(t, "running", endpointOf(created)["state"], "%v", created)
	return args["endpoint_name"].(string)
}

func TestE2ERecommendHardwareThenCallEndpoint(t *testing.T) {
	for _, transport := range operateTransports {
		t.Run(transport, func(t *testing.T) {
			emu := startEmulator(t, fastTimings)
			s := connect(t, emu, transport, "")

			rec := ok(t, s, emu, "recommend_hardware", map[string]any{"repository": "meta-llama/Llama-3.1-8B-Instruct", "max_hourly_cost": 2})
			assert.Equal(t, "text-generation", rec["task"])
			assert.InDelta(t, 21.9, rec["needed_gb"], 0.05)
			assert.Contains(t, rec["estimate"], "8030261248 params × 2 bytes (BF16) = 16.1 GB weights")
			first := rec["offers"].([]any)[0].(map[string]any)
			assert.Equal(t, "aws/us-east-1 nvidia-l4 x1", first["hardware"])
			assert.Equal(t, 0.8, first["price_per_hour"])
			assert.Equal(t, map[string]any{"endpoint_name": "llama-3-1-8b-instruct", "repository": "meta-llama/Llama-3.1-8B-Instruct",
				"task": "text-generation", "accelerator": "gpu", "vendor": "aws", "region": "us-east-1",
				"instance_type": "nvidia-l4", "instance_size": "x1"}, first["create_endpoint"])

			broke := ok(t, s, emu, "recommend_hardware", map[string]any{"repository": "meta-llama/Llama-3.1-8B-Instruct", "max_hourly_cost": 0.5})
			assert.Empty(t, broke["offers"])
			assert.Contains(t, broke["reason"], "over budget: the cheapest offer that fits, aws/us-east-1 nvidia-l4 x1, costs 0.80 USD/h")
			msg := failing(t, s, emu, "recommend_hardware", map[string]any{"repository": "nobody/no-such-model"})
			assert.Contains(t, msg, `repository not found on the Hub: "nobody/no-such-model"`)
			msg = failing(t, s, emu, "recommend_hardware", map[string]any{"repository": "Qwen/Qwen2.5-7B-Instruct", "vendor": "oracle"})
			assert.Contains(t, msg, "valid vendors: aws, gcp, azure")

			// A classifier on the recommended CPU: JSON comes back as structured content.
			cls := deployRecommended(t, s, emu, "distilbert/distilbert-base-uncased-finetuned-sst-2-english", "aws/us-east-1 intel-spr x1")
			out := ok(t, s, emu, "call_endpoint", map[string]any{"endpoint_name": cls, "payload": map[string]any{"inputs": "I love it"}})
			assert.EqualValues(t, 200, out["status"])
			assert.Equal(t, "application/json", out["content_type"])
			labels := out["json"].([]any)
			require.Len(t, labels, 1)
			assert.Contains(t, []any{"POSITIVE", "NEGATIVE"}, labels[0].(map[string]any)["label"])

			// An image model on the recommended GPU: the PNG comes back as image content.
			sdxl := deployRecommended(t, s, emu, "stabilityai/stable-diffusion-xl-base-1.0", "aws/us-east-1 nvidia-t4 x1")
			res := call(t, s, emu, "call_endpoint", map[string]any{"endpoint_name": sdxl, "accept": "image/png",
				"payload": map[string]any{"inputs": "a lighthouse", "parameters": map[string]any{"width": 64, "height": 64}}})
			img := imageOf(t, res)
			decoded, err := png.Decode(bytes.NewReader(img.Data))
			require.NoError(t, err)
			assert.Equal(t, 64, decoded.Bounds().Dx())
			assert.Contains(t, textOf(res), "image/png image")

			// The endpoint's own errors and a path that would leave its URL are clear tool errors.
			msg = failing(t, s, emu, "call_endpoint", map[string]any{"endpoint_name": cls, "payload": map[string]any{"text": "no inputs"}})
			assert.Contains(t, msg, "HTTP 400")
			for _, path := range []string{"https://evil.example/steal", "//evil.example/x", "/../other", "/%2e%2e/x"} {
				msg = failing(t, s, emu, "call_endpoint", map[string]any{"endpoint_name": cls, "path": path, "payload": map[string]any{}})
				assert.Contains(t, msg, "give a path under the endpoint URL", path)
			}
			msg = failing(t, s, emu, "call_endpoint", map[string]any{"endpoint_name": cls})
			assert.Contains(t, msg, `missing required argument "payload"`)
		})
	}
}
