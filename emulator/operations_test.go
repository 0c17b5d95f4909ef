package emulator

import (
	"bufio"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gpuBody deploys repo with TGI on one GPU of type instanceType.
func gpuBody(repo, instanceType, size string) map[string]any {
	return map[string]any{
		"compute": map[string]any{"accelerator": "gpu", "instanceType": instanceType, "instanceSize": size},
		"model": map[string]any{"repository": repo, "task": "text-generation",
			"image": map[string]any{"tgi": map[string]any{"url": "ghcr.io/huggingface/text-generation-inference:3.1.1"}}},
	}
}

func (c *client) logLines(ns, name, query string) []wireLog {
	c.t.Helper()
	resp, data := c.do("GET", "/v2/endpoint/"+ns+"/"+name+"/logs"+query, nil)
	require.Equal(c.t, http.StatusOK, resp.StatusCode, "%s", data)
	var lines []wireLog
	require.NoError(c.t, json.Unmarshal(data, &lines))
	return lines
}

func (c *client) replicaRows(ns, name string) []wireReplica {
	c.t.Helper()
	resp, data := c.do("GET", "/v2/endpoint/"+ns+"/"+name+"/replica", nil)
	require.Equal(c.t, http.StatusOK, resp.StatusCode, "%s", data)
	var rows []wireReplica
	require.NoError(c.t, json.Unmarshal(data, &rows))
	return rows
}

func logText(lines []wireLog) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.Level + " " + l.Replica + " " + l.Message + "\n")
	}
	return b.String()
}

func TestModelThatDoesNotFitFailsWithCUDAOutOfMemory(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	code, m := c.obj("POST", "/v2/endpoint/emulator-user", createBody("llama-t4", gpuBody("meta-llama/Llama-3.1-8B-Instruct", "nvidia-t4", "x1")))
	require.Equal(t, http.StatusAccepted, code, "%v", m)
	failed := c.waitState("emulator-user", "llama-t4", StateFailed)
	assert.Equal(t, msgDeployFailed, dig(failed, "status", "message"))
	assert.Contains(t, dig(failed, "status", "errorMessage"), "CUDA out of memory")
	assert.Contains(t, dig(failed, "status", "errorMessage"), "14.58 GiB")

	logs := logText(c.logLines("emulator-user", "llama-t4", ""))
	assert.Contains(t, logs, "INFO ")
	assert.Contains(t, logs, "text_generation_launcher: Starting shard rank=0")
	assert.Regexp(t, `ERROR \w{8}-\w{5} text_generation_launcher: torch.OutOfMemoryError: CUDA out of memory`, logs)
	assert.Contains(t, logs, "Error: ShardCannotStart")
	assert.NotContains(t, logs, "Connected", "the server never became ready")

	rows := c.replicaRows("emulator-user", "llama-t4")
	require.Len(t, rows, 1)
	assert.Equal(t, "failed", rows[0].State)
	assert.Contains(t, rows[0].Message, "CUDA out of memory")

	// The same model on a 24 GB L4 fits.
	c.running("emulator-user", "llama-l4", gpuBody("meta-llama/Llama-3.1-8B-Instruct", "nvidia-l4", "x1"))
	// And on four T4s TGI shards it: 4 GB a card.
	c.running("emulator-user", "llama-4t4", gpuBody("meta-llama/Llama-3.1-8B-Instruct", "nvidia-t4", "x4"))
	logs = logText(c.logLines("emulator-user", "llama-4t4", ""))
	assert.Contains(t, logs, "num_shard: Some(4)")
	assert.Contains(t, logs, "Starting shard rank=3")

	// Updating a running endpoint onto hardware too small fails the update; the old replica serves on.
	before := c.replicaRows("emulator-user", "llama-l4")
	require.Len(t, before, 1)
	code, m = c.obj("PUT", "/v2/endpoint/emulator-user/llama-l4", map[string]any{"compute": map[string]any{"instanceType": "nvidia-t4"}})
	require.Equal(t, http.StatusOK, code, "%v", m)
	upd := c.waitState("emulator-user", "llama-l4", StateUpdateFailed)
	assert.Contains(t, dig(upd, "status", "errorMessage"), "CUDA out of memory")
	after := c.replicaRows("emulator-user", "llama-l4")
	require.Len(t, after, 1)
	assert.Equal(t, before[0].ID, after[0].ID)
	assert.Equal(t, "running", after[0].State)
}

func TestLogsTellTheContainersStory(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	ep := c.running("emulator-user", "chat", gpuBody("meta-llama/Llama-3.2-3B-Instruct", "nvidia-l4", "x1"))
	resp, data := c.do("POST", urlOf(ep)+"/generate", map[string]any{"inputs": "Hello there", "parameters": map[string]any{"max_new_tokens": 8}})
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", data)
	resp, _ = c.do("POST", urlOf(ep)+"/generate", "not json")
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)

	lines := c.logLines("emulator-user", "chat", "")
	replicas := c.replicaRows("emulator-user", "chat")
	require.Len(t, replicas, 1)
	id := replicas[0].ID
	assert.Regexp(t, `^[a-z0-9]{8}-[a-z0-9]{5}$`, id)
	var order []string
	for _, l := range lines {
		assert.Equal(t, id, l.Replica)
		_, err := time.Parse(time.RFC3339Nano, l.Timestamp)
		assert.NoError(t, err)
		order = append(order, l.Message)
	}
	all := strings.Join(order, "\n")
	assert.Less(t, strings.Index(all, "Args {"), strings.Index(all, "Connected"), "start-up before ready")
	assert.Regexp(t, `generate\{total_time="[\d.]+ms" validation_time="\S+" queue_time="\S+" inference_time="\S+" time_per_token="\S+"\}: .*: Success`, all)
	assert.Contains(t, logText(lines), `ERROR `+id+` generate{`)
	assert.Contains(t, all, "Request failed with status 422")

	// Deterministic: the same request on a second, identical endpoint prints the same line.
	ep2 := c.running("emulator-user", "chat2", gpuBody("meta-llama/Llama-3.2-3B-Instruct", "nvidia-l4", "x1"))
	c.do("POST", urlOf(ep2)+"/generate", map[string]any{"inputs": "Hello there", "parameters": map[string]any{"max_new_tokens": 8}})
	second := c.logLines("emulator-user", "chat2", "")
	assert.Equal(t, lines[len(lines)-2].Message, second[len(second)-1].Message)

	// Pausing stops the replica: it prints its shutdown and is gone.
	code, _ := c.obj("POST", "/v2/endpoint/emulator-user/chat/pause", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Empty(t, c.replicaRows("emulator-user", "chat"))
	assert.Contains(t, logText(c.logLines("emulator-user", "chat", "")), "Shutting down shards")
	assert.Empty(t, c.logLines("emulator-user", "chat", "?replica=nope-nope0"))
}

func TestEachServerPrintsItsOwnLogs(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	emb := c.running("emulator-user", "emb", map[string]any{"model": map[string]any{"repository": "BAAI/bge-base-en-v1.5",
		"task": "feature-extraction", "image": map[string]any{"tei": map[string]any{"url": "ghcr.io/huggingface/text-embeddings-inference:1.9"}}}})
	resp, _ := c.do("POST", urlOf(emb), map[string]any{"inputs": []string{"a", "b"}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	logs := logText(c.logLines("emulator-user", "emb", ""))
	assert.Contains(t, logs, "Starting Bert model on Cpu")
	assert.Contains(t, logs, "router/src/http/server.rs:1813: Ready")
	assert.Regexp(t, `embed\{total_time="\S+" tokenization_time="\S+" queue_time="\S+" inference_time="\S+"\}: .*: Success`, logs)

	img := c.running("emulator-user", "img", map[string]any{
		"compute": map[string]any{"accelerator": "gpu", "instanceType": "nvidia-l4", "instanceSize": "x1"},
		"model":   map[string]any{"repository": "stabilityai/stable-diffusion-xl-base-1.0", "task": "text-to-image"}})
	resp, _ = c.do("POST", urlOf(img), map[string]any{"inputs": "a red fox", "parameters": map[string]any{"num_inference_steps": 4}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	logs = logText(c.logLines("emulator-user", "img", ""))
	assert.Contains(t, logs, "Using device GPU")
	assert.Contains(t, logs, "Loading pipeline components...: 100%")
	assert.Contains(t, logs, "Uvicorn running on http://0.0.0.0:80")
	assert.Contains(t, logs, "4/4 [00:")
	assert.Regexp(t, regexp.MustCompile(`"POST / HTTP/1.1" 200 OK`), logs)
}

func TestReplicasFollowTheScalingState(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	ep := c.running("emulator-user", "scaled", map[string]any{"compute": map[string]any{"scaling": map[string]any{"minReplica": 2, "maxReplica": 2}}})
	rows := c.replicaRows("emulator-user", "scaled")
	require.Len(t, rows, 2)
	deployment := rows[0].DeploymentID
	for _, r := range rows {
		assert.Equal(t, "running", r.State)
		assert.Equal(t, deployment, r.DeploymentID)
		assert.True(t, strings.HasPrefix(r.ID, deployment+"-"))
		_, err := time.Parse(time.RFC3339, r.StartedAt)
		assert.NoError(t, err)
	}
	assert.NotEqual(t, rows[0].ID, rows[1].ID)
	// Requests are spread over both replicas.
	for range 4 {
		resp, _ := c.do("POST", urlOf(ep), map[string]any{"inputs": "hi"})
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	served := map[string]int{}
	for _, l := range c.logLines("emulator-user", "scaled", "") {
		if strings.HasSuffix(l.Message, ": Success") {
			served[l.Replica]++
		}
	}
	assert.Equal(t, map[string]int{rows[0].ID: 2, rows[1].ID: 2}, served)
	assert.Len(t, c.logLines("emulator-user", "scaled", "?replica="+rows[1].ID), len(c.logLines("emulator-user", "scaled", ""))/2)

	// Scaled to zero: no replica; the next request starts one of the same deployment.
	code, _ := c.obj("POST", "/v2/endpoint/emulator-user/scaled/scale-to-zero", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Empty(t, c.replicaRows("emulator-user", "scaled"))
	resp, _ := c.do("POST", urlOf(ep), map[string]any{"inputs": "wake"})
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	waking := c.replicaRows("emulator-user", "scaled")
	require.Len(t, waking, 1)
	assert.Equal(t, "initializing", waking[0].State)
	assert.Equal(t, deployment, waking[0].DeploymentID)
	c.waitState("emulator-user", "scaled", StateRunning)

	// An update rolls out a new deployment.
	code, _ = c.obj("PUT", "/v2/endpoint/emulator-user/scaled", map[string]any{"compute": map[string]any{"instanceSize": "x4"}})
	require.Equal(t, http.StatusOK, code)
	c.waitState("emulator-user", "scaled", StateRunning)
	rows = c.replicaRows("emulator-user", "scaled")
	require.Len(t, rows, 2)
	assert.NotEqual(t, deployment, rows[0].DeploymentID)
}

func TestMetricSeriesCountWhatWasServed(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	ep := c.running("emulator-user", "busy", gpuBody("meta-llama/Llama-3.2-3B-Instruct", "nvidia-l4", "x1"))
	for i := range 5 {
		resp, _ := c.do("POST", urlOf(ep)+"/generate", map[string]any{"inputs": "count", "parameters": map[string]any{"max_new_tokens": 4 * (i + 1)}})
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	now := time.Now().Unix()
	window := map[string]any{"from": now - 600, "to": now + 60, "step": "1m"}
	series := func(metric string) (unit string, values []*float64) {
		code, m := c.obj("POST", "/v2/endpoint/emulator-user/busy/metrics/"+metric, window)
		require.Equal(t, http.StatusOK, code, "%v", m)
		assert.Equal(t, "1m", m["step"])
		pts := m["points"].([]any)
		require.Len(t, pts, 11)
		for _, p := range pts {
			pt := p.(map[string]any)
			if v, ok := pt["value"].(float64); ok {
				values = append(values, &v)
			} else {
				values = append(values, nil)
			}
		}
		return m["unit"].(string), values
	}
	sum := func(vs []*float64) (s float64) {
		for _, v := range vs {
			if v != nil {
				s += *v
			}
		}
		return s
	}
	unit, counts := series("request-count")
	assert.Equal(t, "requests", unit)
	assert.EqualValues(t, 5, sum(counts))
	unit, p50 := series("median-latency")
	assert.Equal(t, "ms", unit)
	assert.Nil(t, p50[0], "no requests ten minutes ago: no latency")
	_, p95 := series("p95-latency")
	for i := range p50 {
		if p50[i] != nil {
			assert.Greater(t, *p50[i], 0.0)
			assert.GreaterOrEqual(t, *p95[i], *p50[i])
		}
	}
	_, ready := series("ready-replicas")
	assert.EqualValues(t, 0, *ready[0], "not deployed ten minutes ago")
	assert.EqualValues(t, 1, *ready[len(ready)-1])
	_, gpu := series("gpu-usage")
	assert.Greater(t, sum(gpu), 0.0)
	_, mem := series("memory-usage")
	assert.InDelta(t, 90, *mem[len(mem)-1], 9, "TGI holds the weights and its KV cache")

	code, m := c.obj("POST", "/v2/endpoint/emulator-user/busy/metrics/latency", window)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, m["error"], "p95-latency")
	code, m = c.obj("POST", "/v2/endpoint/emulator-user/busy/metrics/request-count", map[string]any{"from": now, "to": now - 5})
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, m["error"], `"from" and "to"`)
	code, m = c.obj("POST", "/v2/endpoint/emulator-user/busy/metrics/request-count", map[string]any{"from": now - 86400, "to": now, "step": "1s"})
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, m["error"], "larger step")
}

func TestFollowLogsStreamsNewLines(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	ep := c.running("emulator-user", "tail", nil)
	req, err := http.NewRequestWithContext(t.Context(), "GET", s.URL+"/v2/endpoint/emulator-user/tail/logs/sse", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.Token())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events := make(chan wireLog, 64)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var l wireLog
				if json.Unmarshal([]byte(data), &l) == nil {
					events <- l
				}
			}
		}
	}()
	next := func() wireLog {
		select {
		case l, ok := <-events:
			require.True(t, ok, "stream ended")
			return l
		case <-time.After(waitFor):
			t.Fatal("no log line arrived")
		}
		return wireLog{}
	}
	assert.Contains(t, next().Message, "text_generation_launcher: Args {", "the backlog comes first")
	for l := next(); !strings.HasSuffix(l.Message, "Connected"); l = next() {
	}
	resp2, _ := c.do("POST", urlOf(ep), map[string]any{"inputs": "live"})
	require.Equal(t, http.StatusOK, resp2.StatusCode)
	assert.Regexp(t, `^compat_generate\{.*\}: .*: Success$`, next().Message)
}
