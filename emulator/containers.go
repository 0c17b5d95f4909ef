package emulator

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// container is what the emulated inference server of an endpoint is made of: which server the
// image runs, the model and the hardware. Log lines, timings and the memory fit all derive from it,
// deterministically.
type container struct {
	server       string // serverTGI, serverTEI, serverDiffusers or serverToolkit
	repo         string
	hostname     string // r-<namespace>-<name>, as on the real platform (the replica id follows)
	accel        string // cpu, gpu, neuron
	instanceType string
	devices      int     // accelerators per replica (1 for CPU instances)
	gpuMemGB     int     // accelerator memory per device (0 on CPU)
	memGB        float64 // host memory
	params       int64   // model parameters (0: unknown)
	weightBytes  int64
}

// containerOf reads what the endpoint runs, once per version of its spec (every inference request
// asks). Caller holds store.mu.
func containerOf(ep *endpoint) container {
	if b := ep.box.Load(); b != nil && b.ver == ep.ver {
		return b.c
	}
	c := readContainer(ep)
	ep.box.Store(&boxCache{ver: ep.ver, c: c})
	return c
}

type boxCache struct {
	ver uint64
	c   container
}

func readContainer(ep *endpoint) container {
	v := &ep.view
	c := container{server: serverKind(v.task(), v.imageKind()), repo: v.Model.Repository,
		hostname: strings.ToLower("r-" + ep.ns + "-" + ep.name), accel: v.Compute.Accelerator,
		instanceType: v.Compute.InstanceType, devices: 1}
	if h, err := lookupHardware(v.Provider.Vendor, v.Provider.Region, v.Compute.InstanceType, v.Compute.InstanceSize); err == nil {
		c.memGB = h.MemoryGb
		if h.GpuMemoryGb != nil && h.NumAccelerators > 0 {
			c.devices, c.gpuMemGB = h.NumAccelerators, *h.GpuMemoryGb/h.NumAccelerators
		}
	}
	c.params, c.weightBytes, _ = modelWeights(v.Model.Repository)
	return c
}

const gib = 1 << 30

// cudaTotalGiB is the capacity CUDA reports for a card sold as gb GB (a 16 GB T4 reports 14.58 GiB).
func cudaTotalGiB(gb int) float64 { return math.Round(float64(gb)*0.91125*100) / 100 }

// cudaOverheadGiB is what a replica holds besides the weights before serving: CUDA context,
// activations of the warm-up batch.
const cudaOverheadGiB = 0.75

// shards is how many devices the weights are split over: TGI shards a model over every GPU of the
// instance; the other servers load it on one.
func (c container) shards() int {
	if c.server == serverTGI {
		return c.devices
	}
	return 1
}

// outOfMemory says why the model cannot load on the GPU, or "" when it fits or when its size is
// unknown (only catalog models have parameter counts) or the instance has no GPU.
func (c container) outOfMemory() string {
	if c.accel != "gpu" || c.gpuMemGB == 0 || c.weightBytes == 0 {
		return ""
	}
	total := cudaTotalGiB(c.gpuMemGB)
	perShard := float64(c.weightBytes) / float64(c.shards()) / gib
	if perShard+cudaOverheadGiB <= total {
		return ""
	}
	used := total - 0.14
	return fmt.Sprintf("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 224.00 MiB. GPU 0 has a total capacity of %.2f GiB "+
		"of which 146.81 MiB is free. Process 1 has %.2f GiB memory in use. Of the allocated memory %.2f GiB is allocated by PyTorch, "+
		"and 17.53 MiB is reserved by PyTorch but unallocated.", total, used, used-0.12)
}

// msPerToken is the emulated decode time of one token: by hardware, scaled by model size.
func (c container) msPerToken() float64 {
	base := map[string]float64{"nvidia-t4": 45, "nvidia-l4": 30, "nvidia-a10g": 26, "nvidia-l40s": 18, "nvidia-a100": 12,
		"nvidia-h100": 7, "nvidia-h200": 6, "inf2": 20}[c.instanceType]
	if base == 0 {
		base = 110 // CPU
	}
	size := 1.0
	if c.params > 0 {
		size = min(max(float64(c.params)/7e9, 0.1), 12)
	}
	return base * size / float64(c.shards())
}

// requestTiming is the emulated work of one request, as TGI and TEI report it in their logs.
type requestTiming struct {
	validation, queue, inference, perToken time.Duration
}

func (t requestTiming) total() time.Duration { return t.validation + t.queue + t.inference }

// timing is the emulated duration of a request: a pure function of its size and the hardware.
func (c container) timing(in, out, steps int) requestTiming {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	t := requestTiming{validation: ms(0.3 + 0.004*float64(in)), queue: ms(0.05)}
	tpt := c.msPerToken()
	switch c.server {
	case serverTGI:
		t.perToken = ms(tpt)
		t.inference = ms(float64(in)*tpt/25 + float64(out)*tpt)
	case serverTEI:
		t.inference = ms(1.5 + float64(in)*tpt/400)
	case serverDiffusers:
		t.inference = ms(float64(max(steps, 1)) * tpt * 12)
	default:
		t.inference = ms(8 + float64(in+out)*tpt/10)
	}
	return t
}

// logLine is a log line before it is stamped with a time and a replica.
type logLine struct{ level, text string }

func info(format string, args ...any) logLine { return logLine{"INFO", fmt.Sprintf(format, args...)} }
func errorf(format string, args ...any) logLine {
	return logLine{"ERROR", fmt.Sprintf(format, args...)}
}

// startLines are what the server prints from launch until it loads the weights.
func (c container) startLines(replica string) []logLine {
	switch c.server {
	case serverTGI:
		lines := []logLine{
			info(`text_generation_launcher: Args { model_id: "/repository", revision: None, validation_workers: 2, sharded: None, num_shard: Some(%d), quantize: None, dtype: None, max_concurrent_requests: 128, max_best_of: 2, max_stop_sequences: 4, max_input_tokens: None, max_total_tokens: None, hostname: "%s-%s", port: 80, json_output: true }`, c.shards(), c.hostname, replica),
			info("text_generation_launcher: Using default cuda graphs [1, 2, 4, 8, 16, 32]"),
			info("text_generation_launcher: Starting check and download process for /repository"),
			info("text_generation_launcher: Files are already present on the host. Skipping download."),
			info("text_generation_launcher: Successfully downloaded weights for /repository"),
		}
		for rank := range c.shards() {
			lines = append(lines, info("text_generation_launcher: Starting shard rank=%d", rank))
		}
		return lines
	case serverTEI:
		device := "Cpu"
		if c.accel == "gpu" {
			device = "Cuda(CudaDevice(DeviceId(1)))"
		}
		return []logLine{
			info(`text_embeddings_router: router/src/main.rs:185: Args { model_id: "/rep**itory", revision: None, tokenization_workers: None, dtype: None, pooling: None, max_concurrent_requests: 512, max_batch_tokens: 16384, max_batch_requests: None, max_client_batch_size: %d, auto_truncate: false, hostname: "%s-%s", port: 80, json_output: true }`, maxClientBatchSize, c.hostname, replica),
			info("text_embeddings_router: router/src/lib.rs:188: Maximum number of tokens per request: 512"),
			info("text_embeddings_core::tokenization: core/src/tokenization.rs:28: Starting 2 tokenization workers"),
			info("text_embeddings_router: router/src/lib.rs:230: Starting model backend"),
			info("text_embeddings_backend_candle: backends/candle/src/lib.rs:262: Starting Bert model on %s", device),
		}
	}
	device := "CPU"
	if c.accel == "gpu" {
		device = "GPU"
	}
	lines := []logLine{
		info("Started server process [1]"),
		info("Waiting for application startup."),
		info("huggingface_inference_toolkit - Initializing model from directory:/repository"),
		info("huggingface_inference_toolkit - Using device %s", device),
	}
	if c.server == serverDiffusers {
		lines = append(lines, info("Loading pipeline components...: 100%%|██████████| 7/7 [00:%02d<00:00,  1.98it/s]", c.loadSeconds()))
	}
	return lines
}

// loadSeconds is the emulated time to load the weights (about 1.5 GB/s from the local disk).
func (c container) loadSeconds() int {
	return 2 + int(float64(c.weightBytes)/1.5e9)
}

// readyLines are what the server prints once the weights are loaded until it serves.
func (c container) readyLines() []logLine {
	switch c.server {
	case serverTGI:
		var lines []logLine
		for rank := range c.shards() {
			lines = append(lines, info("text_generation_launcher: Server started at unix:///tmp/text-generation-server-%d", rank),
				info("text_generation_launcher: Shard ready in %d.%ds rank=%d", c.loadSeconds()+9, (c.loadSeconds()*7)%10, rank))
		}
		return append(lines,
			info("text_generation_launcher: Starting Webserver"),
			info("text_generation_router_v3: backends/v3/src/lib.rs:125: Warming up model"),
			info("text_generation_router_v3: backends/v3/src/lib.rs:137: Setting max batch total tokens to %d", c.kvTokens()),
			info("text_generation_router::server: router/src/server.rs:2424: Connected"))
	case serverTEI:
		return []logLine{
			info("text_embeddings_router: router/src/lib.rs:248: Warming up model"),
			info("text_embeddings_router::http::server: router/src/http/server.rs:1812: Starting HTTP server: 0.0.0.0:80"),
			info("text_embeddings_router::http::server: router/src/http/server.rs:1813: Ready"),
		}
	}
	return []logLine{
		info("huggingface_inference_toolkit - Model initialized successfully"),
		info("Application startup complete."),
		info("Uvicorn running on http://0.0.0.0:80 (Press CTRL+C to quit)"),
	}
}

// kvTokens is how many tokens of KV cache TGI fits next to the weights.
func (c container) kvTokens() int {
	if c.gpuMemGB == 0 || c.weightBytes == 0 {
		return 16000
	}
	free := (cudaTotalGiB(c.gpuMemGB)*float64(c.shards()) - float64(c.weightBytes)/gib - cudaOverheadGiB) * gib
	perToken := 131072 * max(float64(c.params)/8e9, 0.05) // KV bytes per token of a Llama-8B, scaled
	return max(int(free*0.9/perToken)/16*16, 256)
}

// failLines are what the server prints when the weights do not fit (oom != "") or when the
// deployment fails for another reason (msg).
func (c container) failLines(oom, msg string) []logLine {
	if oom == "" {
		return []logLine{errorf("%s", msg)}
	}
	switch c.server {
	case serverTGI:
		return []logLine{
			errorf("text_generation_launcher: Error when initializing model"),
			errorf("text_generation_launcher: %s", oom),
			errorf("shard-manager: text_generation_launcher: Shard complete standard error output: %s rank=0", oom),
			errorf("text_generation_launcher: Shard 0 failed to start"),
			info("text_generation_launcher: Shutting down shards"),
			errorf("Error: ShardCannotStart"),
		}
	case serverTEI:
		return []logLine{errorf("text_embeddings_router: router/src/main.rs:201: Could not start backend: %s", oom),
			errorf("Error: Could not create backend")}
	}
	return []logLine{errorf("Traceback (most recent call last): %s", oom), errorf("Application startup failed. Exiting.")}
}

// stopLines are what the server prints when its replica is stopped (pause, scale to zero, update).
func (c container) stopLines() []logLine {
	switch c.server {
	case serverTGI:
		return []logLine{info("text_generation_launcher: Terminating webserver"),
			info("text_generation_launcher: Waiting for webserver to gracefully shutdown"),
			info("text_generation_launcher: webserver terminated"),
			info("text_generation_launcher: Shutting down shards"),
			info("text_generation_launcher: Shard terminated rank=0")}
	case serverTEI:
		return []logLine{info("text_embeddings_router::http::server: router/src/http/server.rs:1893: signal received, starting graceful shutdown")}
	}
	return []logLine{info("Shutting down"), info("Waiting for application shutdown."), info("Application shutdown complete."),
		info("Finished server process [1]")}
}

// tgiSpans names the tracing span TGI logs a request under, by route.
var tgiSpans = map[string]string{"/e/{id}": "compat_generate", "/e/{id}/{$}": "compat_generate", "/e/{id}/generate": "generate",
	"/e/{id}/generate_stream": "generate_stream", "/e/{id}/v1/completions": "completions", "/e/{id}/v1/chat/completions": "chat_completions"}

// requestLines are what the server prints for one request it served (built with few allocations:
// every inference request prints one).
func (c container) requestLines(q servedRequest) []logLine {
	t := q.timing
	switch c.server {
	case serverTGI, serverTEI:
		var b strings.Builder
		b.Grow(220)
		where := "text_generation_router::server: router/src/server.rs:422"
		if c.server == serverTEI {
			b.WriteString("embed{")
			where = "text_embeddings_router::http::server: router/src/http/server.rs:714"
		} else {
			span := tgiSpans[q.route]
			if span == "" {
				span = "request"
			}
			b.WriteString(span + "{")
		}
		field := func(name string, d time.Duration) {
			b.WriteString(name)
			b.WriteString(`="`)
			if d < time.Millisecond {
				b.WriteString(strconv.FormatInt(d.Microseconds(), 10))
				b.WriteString("µs")
			} else {
				b.WriteString(strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64))
				b.WriteString("ms")
			}
			b.WriteString(`" `)
		}
		field("total_time", t.total())
		if c.server == serverTEI {
			field("tokenization_time", t.validation)
		} else {
			field("validation_time", t.validation)
		}
		field("queue_time", t.queue)
		field("inference_time", t.inference)
		if c.server == serverTGI {
			field("time_per_token", t.perToken)
		}
		text := strings.TrimSuffix(b.String(), " ") + "}: " + where
		if q.code >= 400 {
			return []logLine{{"ERROR", text + ": Request failed with status " + strconv.Itoa(q.code)}}
		}
		return []logLine{{"INFO", text + ": Success"}}
	}
	path := strings.TrimPrefix(q.route, "/e/{id}")
	if path == "" || path == "/{$}" {
		path = "/"
	}
	var lines []logLine
	if c.server == serverDiffusers && q.code < 400 {
		lines = append(lines, info("100%%|██████████| %d/%d [00:%02d<00:00, %5.2fit/s]", q.steps, q.steps,
			int(t.inference.Seconds()), float64(q.steps)/max(t.inference.Seconds(), 0.001)))
	}
	return append(lines, info(`10.41.%d.%d:%d - "POST %s HTTP/1.1" %d %s`, q.seq/250%250, q.seq%250+1, 30000+q.seq%30000,
		path, q.code, http.StatusText(q.code)))
}
