package e2e

import (
	"bytes"
	"fmt"
	"image/png"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
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
			assert.Equal(t, "aws/us-east-1 nvidia-l4 x1 (24 GB)", first["hardware"])
			assert.Equal(t, 0.8, first["price_per_hour"])
			var hardware []any
			for _, o := range rec["offers"].([]any) {
				hardware = append(hardware, o.(map[string]any)["hardware"])
			}
			assert.Equal(t, []any{"aws/us-east-1 nvidia-l4 x1 (24 GB)", "gcp/us-east4 nvidia-l4 x1 (24 GB)", "aws/us-east-1 nvidia-a10g x1 (24 GB)",
				"aws/us-east-1 nvidia-l40s x1 (48 GB)", "aws/us-east-1 nvidia-t4 x4 (64 GB)"}, hardware, "cheapest first, one region per vendor and instance")
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
			cls := deployRecommended(t, s, emu, "distilbert/distilbert-base-uncased-finetuned-sst-2-english", "aws/us-east-1 intel-spr x1 (2 GB)")
			out := ok(t, s, emu, "call_endpoint", map[string]any{"endpoint_name": cls, "payload": map[string]any{"inputs": "I love it"}})
			assert.EqualValues(t, 200, out["status"])
			assert.Equal(t, "application/json", out["content_type"])
			labels := out["json"].([]any)
			require.Len(t, labels, 1)
			assert.Contains(t, []any{"POSITIVE", "NEGATIVE"}, labels[0].(map[string]any)["label"])

			// A re-ranker behind TEI, at the path TEI serves it on.
			ok(t, s, emu, "create_endpoint", map[string]any{"endpoint_name": "reranker", "repository": "BAAI/bge-reranker-base",
				"task": "text-ranking", "custom_image": map[string]any{"tei": map[string]any{"url": "ghcr.io/huggingface/text-embeddings-inference:1.9"}},
				"accelerator": "cpu", "vendor": "aws", "region": "us-east-1", "instance_type": "intel-spr", "instance_size": "x2", "wait": true})
			ranked := ok(t, s, emu, "call_endpoint", map[string]any{"endpoint_name": "reranker", "path": "/rerank",
				"payload": map[string]any{"query": "capital of France", "texts": []string{"Bananas are yellow", "Paris is the capital of France"}}})
			assert.EqualValues(t, 1, ranked["json"].([]any)[0].(map[string]any)["index"], "%v", ranked)

			// Same cold-start rules as the typed inference tools: a scaled-to-zero endpoint is woken.
			ok(t, s, emu, "scale_endpoint_to_zero", map[string]any{"endpoint_name": cls})
			woken := ok(t, s, emu, "call_endpoint", map[string]any{"endpoint_name": cls, "payload": map[string]any{"inputs": "I love it"}}, "wake-cls")
			assert.Equal(t, out["json"], woken["json"], "deterministic, and served after the cold start")
			assert.Contains(t, s.progressFor(t, "wake-cls", 1)[0].Message, "scaled to zero")

			// An image model on the recommended GPU: the PNG comes back as image content.
			sdxl := deployRecommended(t, s, emu, "stabilityai/stable-diffusion-xl-base-1.0", "aws/us-east-1 nvidia-t4 x1 (16 GB)")
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

func TestE2EListEndpointsAndResourcesPageThroughANamespace(t *testing.T) {
	emu := startEmulator(t, emulator.Timings{Deploy: time.Hour, IdleMinute: time.Hour})
	api := outOfBand(t, emu)
	const n = 120
	var want []string
	for i := range n {
		name := fmt.Sprintf("ep-%03d", i)
		spec := hfapi.CreateSpec{Name: name, Repository: "openai-community/gpt2", Framework: "pytorch", Task: "text-generation",
			Accelerator: "cpu", Vendor: "aws", Region: "us-east-1", InstanceType: "intel-spr", InstanceSize: "x1", MinReplica: new(int)}
		if i%2 == 0 {
			spec.Repository, spec.Task, spec.Tags = "sentence-transformers/all-MiniLM-L6-v2", "feature-extraction", []string{"prod"}
		}
		_, err := api.Create(t.Context(), "", spec)
		require.NoError(t, err)
		want = append(want, name)
	}
	for _, transport := range operateTransports {
		t.Run(transport, func(t *testing.T) {
			s := connect(t, emu, transport, "")
			pages := func(args map[string]any) (names []string, sizes []int) {
				for {
					page := ok(t, s, emu, "list_endpoints", args)
					rows := page["endpoints"].([]any)
					sizes = append(sizes, len(rows))
					for _, r := range rows {
						names = append(names, r.(map[string]any)["name"].(string))
					}
					next, _ := page["next_cursor"].(string)
					if next == "" {
						return names, sizes
					}
					args["cursor"] = next
				}
			}
			names, sizes := pages(map[string]any{})
			assert.Equal(t, want, names, "every endpoint once, in order")
			assert.Equal(t, []int{50, 50, 20}, sizes, "50 a page by default")
			_, sizes = pages(map[string]any{"limit": 500})
			assert.Equal(t, []int{120}, sizes)

			prod, _ := pages(map[string]any{"tags": []string{"prod"}, "limit": 25})
			assert.Len(t, prod, 60)
			assert.Equal(t, "ep-000", prod[0])
			minis, _ := pages(map[string]any{"search": "MINILM", "limit": 500})
			assert.Equal(t, prod, minis, "search matches the repository, case-insensitively")
			one, _ := pages(map[string]any{"search": "ep-11"})
			assert.Len(t, one, 10)

			first := ok(t, s, emu, "list_endpoints", map[string]any{"limit": 10})
			assert.EqualValues(t, 120, first["total"])
			assert.EqualValues(t, 10, first["count"])
			row := first["endpoints"].([]any)[0].(map[string]any)
			assert.Equal(t, "aws/us-east-1 cpu intel-spr x1", row["hardware"])
			assert.Nil(t, row["namespace"], "one namespace: rows need not repeat it")
			everywhere := ok(t, s, emu, "list_endpoints", map[string]any{"namespace": "*", "limit": 1})
			assert.Equal(t, "emulator-user", everywhere["endpoints"].([]any)[0].(map[string]any)["namespace"], "rows of several namespaces say whose they are")
			msg := failing(t, s, emu, "list_endpoints", map[string]any{"search": "ep-0", "cursor": first["next_cursor"]})
			assert.Contains(t, msg, "cursor belongs to another list_endpoints query")
			msg = failing(t, s, emu, "list_endpoints", map[string]any{"cursor": "bm90LWEtY3Vyc29y"})
			assert.Contains(t, msg, "is not a next_cursor of list_endpoints")
			msg = failing(t, s, emu, "list_endpoints", map[string]any{"limit": 501})
			assert.Contains(t, msg, `argument "limit" must be at most 500`)

			// resources/list pages the same namespace with MCP cursors.
			var uris []string
			var cursor string
			for {
				res, err := s.ListResources(t.Context(), &sdk.ListResourcesParams{Cursor: cursor})
				require.NoError(t, err)
				for _, r := range res.Resources {
					uris = append(uris, r.URI)
				}
				if cursor = res.NextCursor; cursor == "" {
					break
				}
			}
			require.Len(t, uris, n)
			assert.Contains(t, uris[0], "ep-000")
			assert.Contains(t, uris[n-1], "ep-119")
			_, err := s.ListResources(t.Context(), &sdk.ListResourcesParams{Cursor: "bm90LWEtY3Vyc29y"})
			require.Error(t, err, "a cursor this server never issued is refused")
		})
	}
}

// seedCreate is huggingface_hub's guide example of create_inference_endpoint, as create_endpoint
// arguments: it still says type="protected".
var seedCreate = map[string]any{"endpoint_name": "my-endpoint-name", "repository": "gpt2", "framework": "pytorch",
	"task": "text-generation", "accelerator": "cpu", "vendor": "aws", "region": "us-east-1", "type": "protected",
	"instance_size": "x2", "instance_type": "intel-icl"}

func TestE2ECreateAndUpdateHaveHuggingfaceHubParity(t *testing.T) {
	for _, transport := range operateTransports {
		t.Run(transport, func(t *testing.T) {
			emu := startEmulator(t, fastTimings)
			s := connect(t, emu, transport, "")
			api := outOfBand(t, emu)

			seed := ok(t, s, emu, "create_endpoint", seedCreate)
			assert.Contains(t, seed["note"], `type "protected" is the former name of "authenticated"`)
			got, err := api.Get(t.Context(), "", "my-endpoint-name")
			require.NoError(t, err)
			assert.Equal(t, "authenticated", got.Type)

			ok(t, s, emu, "create_endpoint", map[string]any{"endpoint_name": "vllm-ep", "repository": "Qwen/Qwen2.5-7B-Instruct",
				"accelerator": "gpu", "vendor": "aws", "region": "us-east-1", "instance_type": "nvidia-l4", "instance_size": "x4",
				"custom_image":         map[string]any{"vLLM": map[string]any{"url": "vllm/vllm-openai:latest"}},
				"tensor_parallel_size": 2, "data_parallel_size": 2, "scaling_metric": "pendingRequests", "scaling_threshold": 3,
				"container_command": []string{"vllm", "serve"}, "container_args": []string{"--max-model-len", "8192"},
				"cache_http_responses": true, "account_id": "acme-billing"})
			ep, err := api.Get(t.Context(), "", "vllm-ep")
			require.NoError(t, err)
			require.NotNil(t, ep.Model.Image.VLLM)
			assert.Equal(t, 2, *ep.Model.Image.VLLM.TensorParallelSize)
			assert.Equal(t, 2, *ep.Model.Image.VLLM.DataParallelSize)
			assert.Equal(t, "pendingRequests", ep.Compute.Scaling.Metric)
			assert.Equal(t, 3.0, *ep.Compute.Scaling.Measure["pendingRequests"])
			assert.Equal(t, []string{"vllm", "serve"}, ep.Model.Command)
			assert.Equal(t, []string{"--max-model-len", "8192"}, ep.Model.Args)
			assert.True(t, *ep.CacheHTTPResponses)
			assert.Equal(t, "acme-billing", *ep.AccountID)

			ok(t, s, emu, "update_endpoint", map[string]any{"endpoint_name": "vllm-ep", "tensor_parallel_size": 4, "data_parallel_size": 1,
				"scaling_metric": "hardwareUsage", "scaling_threshold": 80, "cache_http_responses": false, "container_args": []string{"--max-model-len", "4096"}})
			ep, err = api.Get(t.Context(), "", "vllm-ep")
			require.NoError(t, err)
			assert.Equal(t, 4, *ep.Model.Image.VLLM.TensorParallelSize)
			assert.Equal(t, 1, *ep.Model.Image.VLLM.DataParallelSize)
			assert.Equal(t, "vllm/vllm-openai:latest", ep.Model.Image.VLLM.URL, "the image is resent whole")
			assert.Equal(t, map[string]*float64{"hardwareUsage": ptrTo(80.0)}, ep.Compute.Scaling.Measure)
			assert.False(t, *ep.CacheHTTPResponses)
			assert.Equal(t, []string{"--max-model-len", "4096"}, ep.Model.Args)

			for _, tc := range []struct {
				tool string
				args map[string]any
				want string
			}{
				{"create_endpoint", withArgs(seedCreate, "endpoint_name", "tp-no-image", "tensor_parallel_size", 2), "give a vLLM or sGLang image"},
				{"create_endpoint", withArgs(seedCreate, "endpoint_name", "threshold-only", "scaling_threshold", 5), "needs scalingMetric (hardwareUsage or pendingRequests)"},
				{"create_endpoint", withArgs(seedCreate, "type", "secret"), `argument "type" must be one of public, authenticated, protected, private`},
				{"create_endpoint", withArgs(seedCreate, "scaling_metric", "cpu"), `must be one of hardwareUsage, pendingRequests`},
				{"update_endpoint", map[string]any{"endpoint_name": "vllm-ep", "tensor_parallel_size": 8}, "needs 8 accelerators; nvidia-l4 x4 has 4"},
				{"update_endpoint", map[string]any{"endpoint_name": "my-endpoint-name", "tensor_parallel_size": 2}, "a huggingface image takes no parallelism settings"},
			} {
				msg := failing(t, s, emu, tc.tool, tc.args)
				assert.Contains(t, msg, tc.want)
			}
		})
	}
}

// withArgs copies args with the given key/value pairs set.
func withArgs(args map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(args)+len(kv)/2)
	for k, v := range args {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func ptrTo[T any](v T) *T { return &v }
