package e2e

import (
	"bytes"
	"image/png"
	"regexp"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gpuSpec deploys repo on one GPU of type instanceType in aws us-east-1.
func gpuSpec(name, repo, instanceType string) map[string]any {
	return map[string]any{"endpoint_name": name, "repository": repo, "task": "text-generation", "accelerator": "gpu",
		"vendor": "aws", "region": "us-east-1", "instance_type": instanceType, "instance_size": "x1"}
}

// TestE2EDiagnoseFailedDeployAndBusyEndpoint is the day-2 story over stdio and streamable HTTP, in both
// eras: a model too large for its GPU fails, the wait says so and its logs show why; a model that fits
// serves, and its replicas, logs and metric series (with a PNG chart) show the traffic.
func TestE2EDiagnoseFailedDeployAndBusyEndpoint(t *testing.T) {
	for _, transport := range []string{"stdio", "http"} {
		for _, era := range eras {
			t.Run(transport+"/"+era.name, func(t *testing.T) {
				emu := startEmulator(t, fastTimings)
				s := connect(t, emu, transport, era.version)

				ok(t, s, emu, "create_endpoint", gpuSpec("llama-t4", "meta-llama/Llama-3.1-8B-Instruct", "nvidia-t4"))
				why := failing(t, s, emu, "wait_for_endpoint", map[string]any{"endpoint_name": "llama-t4", "timeout_seconds": 60})
				assert.Contains(t, why, "failed to deploy")
				assert.Contains(t, why, "CUDA out of memory")
				assert.Contains(t, why, "get_endpoint_logs", "the failure names the next step")

				reps := ok(t, s, emu, "list_endpoint_replicas", map[string]any{"endpoint_name": "llama-t4"})["replicas"].([]any)
				require.Len(t, reps, 1)
				failed := reps[0].(map[string]any)
				assert.Equal(t, "failed", failed["state"])
				assert.Regexp(t, `^[a-z0-9]{8}-[a-z0-9]{5}$`, failed["id"])
				assert.Contains(t, failed["message"], "CUDA out of memory")

				res := call(t, s, emu, "get_endpoint_logs", map[string]any{"endpoint_name": "llama-t4", "level": "error", "since": "10m"})
				require.False(t, res.IsError, textOf(res))
				assert.Contains(t, textOf(res), "ERROR ["+failed["id"].(string)+"] text_generation_launcher: torch.OutOfMemoryError: CUDA out of memory")
				lines := structured(t, res)["lines"].([]any)
				require.NotEmpty(t, lines)
				for _, l := range lines {
					assert.Equal(t, "ERROR", l.(map[string]any)["level"])
				}

				ok(t, s, emu, "create_endpoint", gpuSpec("chat", "meta-llama/Llama-3.2-3B-Instruct", "nvidia-l4"))
				ok(t, s, emu, "wait_for_endpoint", map[string]any{"endpoint_name": "chat", "timeout_seconds": 60})
				for _, prompt := range []string{"one", "two", "three"} {
					ok(t, s, emu, "text_generation", map[string]any{"endpoint_name": "chat", "prompt": prompt, "max_new_tokens": 5})
				}
				reps = ok(t, s, emu, "list_endpoint_replicas", map[string]any{"endpoint_name": "chat"})["replicas"].([]any)
				require.Len(t, reps, 1)
				assert.Equal(t, "running", reps[0].(map[string]any)["state"])

				logs := ok(t, s, emu, "get_endpoint_logs", map[string]any{"endpoint_name": "chat", "tail": 3})["lines"].([]any)
				require.Len(t, logs, 3)
				for _, l := range logs {
					assert.Regexp(t, regexp.MustCompile(`^compat_generate\{total_time=".*: Success$`), l.(map[string]any)["text"])
				}

				res = call(t, s, emu, "get_endpoint_metrics", map[string]any{"endpoint_name": "chat", "metric": "request-count", "since_minutes": 10, "step": "1m"})
				require.False(t, res.IsError, textOf(res))
				series := structured(t, res)
				require.NoError(t, s.outputSchema(t, "get_endpoint_metrics").Validate(series))
				total := 0.0
				for _, p := range series["points"].([]any) {
					total += p.(map[string]any)["value"].(float64)
				}
				assert.EqualValues(t, 3, total, "the series counts the requests served")
				assert.Equal(t, "requests", series["unit"])
				assert.Contains(t, textOf(res), "request-count of chat over the last 10 minutes")
				chart := imageOf(t, res)
				require.NotNil(t, chart, "the series comes with a chart")
				assert.Equal(t, "image/png", chart.MIMEType)
				img, err := png.Decode(bytes.NewReader(chart.Data))
				require.NoError(t, err, "the chart is a PNG")
				assert.Greater(t, img.Bounds().Dx(), img.Bounds().Dy())

				p95 := ok(t, s, emu, "get_endpoint_metrics", map[string]any{"endpoint_name": "chat", "metric": "p95-latency"})
				assert.Greater(t, p95["summary"].(map[string]any)["max"], 0.0)
				snapshot := ok(t, s, emu, "get_endpoint_metrics", map[string]any{"endpoint_name": "chat"})
				assert.Contains(t, snapshot["metrics"], "hf_endpoint_requests_total", "without metric: the OpenMetrics snapshot")

				assert.Contains(t, failing(t, s, emu, "get_endpoint_metrics", map[string]any{"endpoint_name": "chat", "metric": "latency"}),
					`must be one of request-count, median-latency, p95-latency`)
				assert.Contains(t, failing(t, s, emu, "get_endpoint_logs", map[string]any{"endpoint_name": "chat", "tail": 1001}),
					`argument "tail" must be at most 1000`)
				assert.Contains(t, failing(t, s, emu, "get_endpoint_logs", map[string]any{"endpoint_name": "chat", "since": "last week"}),
					`nor a positive duration ("15m", "2h", "1d")`)
				assert.True(t, strings.Contains(failing(t, s, emu, "list_endpoint_replicas", map[string]any{"endpoint_name": "nope"}), "not found"))
			})
		}
	}
}

// structured decodes a result's structured content.
func structured(t *testing.T, res *sdk.CallToolResult) map[string]any {
	t.Helper()
	out, isMap := res.StructuredContent.(map[string]any)
	require.True(t, isMap, "structured content is an object")
	return out
}
