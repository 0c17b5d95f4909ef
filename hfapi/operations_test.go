package hfapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replay serves one canned answer on every route and records the last request.
func replay(t *testing.T, status int, contentType, body string) (*Client, *http.Request, *[]byte) {
	t.Helper()
	var last http.Request
	var lastBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last = *r
		lastBody, _ = io.ReadAll(r.Body)
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	c, _ := newTestClient(t, srv)
	return c, &last, &lastBody
}

func TestLogsAreReadInAnyShape(t *testing.T) {
	t1 := time.Date(2026, 3, 4, 10, 0, 1, 0, time.UTC)
	t2 := t1.Add(time.Second)
	tests := []struct {
		name, contentType, body string
		want                    []LogLine
	}{
		{"json array of objects", "application/json",
			`[{"timestamp":"2026-03-04T10:00:01Z","level":"info","replica":"6pajyw3k-z7ghx","message":"Starting shard","pod_ip":"10.0.0.4"},
			  {"timestamp":"2026-03-04T10:00:02Z","level":"ERROR","replica":"6pajyw3k-z7ghx","message":"boom"}]`,
			[]LogLine{{Time: t1, Level: "INFO", Replica: "6pajyw3k-z7ghx", Text: "Starting shard", Extra: map[string]json.RawMessage{"pod_ip": json.RawMessage(`"10.0.0.4"`)}},
				{Time: t2, Level: "ERROR", Replica: "6pajyw3k-z7ghx", Text: "boom"}}},
		{"newest first, other names, unix millis, split replica id", "application/json",
			`{"items":[{"Timestamp":1772618402000,"Log Level":"warn","Content":"later","deploymentId":"6pajyw3k","replicaId":"z7ghx"},
			           {"Timestamp":1772618401000,"Log Level":"info","Content":"earlier","deploymentId":"6pajyw3k","replicaId":"z7ghx"}]}`,
			[]LogLine{{Time: t1, Level: "INFO", Replica: "6pajyw3k-z7ghx", Text: "earlier"},
				{Time: t2, Level: "WARN", Replica: "6pajyw3k-z7ghx", Text: "later"}}},
		{"json lines", "application/x-ndjson",
			`{"time":"2026-03-04T10:00:01Z","msg":"one"}` + "\n\n" + `{"time":"2026-03-04T10:00:02Z","msg":"two","lvl":"debug"}` + "\n",
			[]LogLine{{Time: t1, Text: "one"}, {Time: t2, Level: "DEBUG", Text: "two"}}},
		{"plain text with times and levels", "text/plain",
			"2026-03-04T10:00:01Z INFO text_generation_launcher: Args {}\r\n2026-03-04T10:00:02.000Z ERROR Error: ShardCannotStart\nno time here\n" +
				"2026-03-04T10:00:03+0000 WARN odd zone\n",
			[]LogLine{{Time: t1, Level: "INFO", Text: "text_generation_launcher: Args {}"}, {Time: t2, Level: "ERROR", Text: "Error: ShardCannotStart"},
				{Text: "no time here"}, {Text: "2026-03-04T10:00:03+0000 WARN odd zone"}}},
		{"array of strings", "application/json", `["INFO: Started server process [1]", "plain"]`,
			[]LogLine{{Level: "INFO", Text: "Started server process [1]"}, {Text: "plain"}}},
		{"empty", "application/json", ``, nil},
		{"empty list", "application/json", `{"logs": []}`, []LogLine{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, req, _ := replay(t, 200, tt.contentType, tt.body)
			got, err := c.Logs(t.Context(), "acme", "my-ep", LogQuery{})
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, "/v2/endpoint/acme/my-ep/logs", req.URL.Path)
		})
	}
}

func TestUnreadableLogsNameTheHTTPStatus(t *testing.T) {
	tests := []struct{ name, contentType, body, want string }{
		{"html", "text/html", "<html><body>Bad gateway</body></html>", "HTML page"},
		{"binary", "application/octet-stream", "\x00\x01\xff\xfe", "binary"},
		{"broken json declared json", "application/json", "not json at all", "not JSON"},
		{"broken json line", "application/x-ndjson", "{\"message\":\"ok\"}\n{\"message\":", "line 2 is not JSON"},
		{"a number is no log entry", "application/json", "[42]", "neither an object nor text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _ := replay(t, 200, tt.contentType, tt.body)
			_, err := c.Logs(t.Context(), "acme", "my-ep", LogQuery{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "logs of acme/my-ep: HTTP 200 answer cannot be read as log lines")
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	c, _, _ := replay(t, 404, "application/json", `{"error":"endpoint not found"}`)
	_, err := c.Logs(t.Context(), "acme", "my-ep", LogQuery{})
	assert.True(t, IsNotFound(err), "%v", err)
}

func TestLogQueryFilters(t *testing.T) {
	body := `[{"timestamp":"2026-03-04T10:00:00Z","level":"INFO","replica":"d-a","message":"Starting shard rank=0"},
	          {"timestamp":"2026-03-04T10:01:00Z","level":"WARN","replica":"d-a","message":"slow shard"},
	          {"timestamp":"2026-03-04T10:02:00Z","level":"ERROR","replica":"d-b","message":"CUDA out of memory"},
	          {"timestamp":"2026-03-04T10:03:00Z","replica":"d-b","message":"no level"}]`
	since := time.Date(2026, 3, 4, 10, 1, 0, 0, time.UTC)
	tests := []struct {
		name string
		q    LogQuery
		want []string
	}{
		{"all", LogQuery{}, []string{"Starting shard rank=0", "slow shard", "CUDA out of memory", "no level"}},
		{"tail keeps the newest", LogQuery{Tail: 2}, []string{"CUDA out of memory", "no level"}},
		{"since", LogQuery{Since: since}, []string{"slow shard", "CUDA out of memory", "no level"}},
		{"contains ignores case", LogQuery{Contains: "SHARD"}, []string{"Starting shard rank=0", "slow shard"}},
		{"min level warn", LogQuery{MinLevel: "warning"}, []string{"slow shard", "CUDA out of memory"}},
		{"min level info counts lines without one", LogQuery{MinLevel: "info"}, []string{"Starting shard rank=0", "slow shard", "CUDA out of memory", "no level"}},
		{"together", LogQuery{MinLevel: "WARN", Contains: "shard", Tail: 5}, []string{"slow shard"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, req, _ := replay(t, 200, "application/json", body)
			tt.q.Replica = "d-b"
			got, err := c.Logs(t.Context(), "acme", "my-ep", tt.q)
			require.NoError(t, err)
			texts := []string{}
			for _, l := range got {
				texts = append(texts, l.Text)
			}
			assert.Equal(t, tt.want, texts, "the service's replica filter is its own; hfapi sends it")
			assert.Equal(t, "d-b", req.URL.Query().Get("replica"))
		})
	}
	c, _, _ := replay(t, 200, "application/json", body)
	_, err := c.Logs(t.Context(), "acme", "my-ep", LogQuery{MinLevel: "loud"})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Contains(t, err.Error(), "DEBUG, INFO, WARN, ERROR")
}

func TestReplicasAreReadInAnyShape(t *testing.T) {
	started := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	tests := []struct{ name, body string }{
		{"emulator shape", `[{"id":"6pajyw3k-z7ghx","deploymentId":"6pajyw3k","state":"running","startedAt":"2026-03-04T10:00:00.000Z","restarts":2,"message":"ok","zone":"a"}]`},
		{"wrapped, other names", `{"replicas":[{"replicaId":"z7ghx","deployment":"6pajyw3k","status":"running","start_time":1772618400,"restartCount":"2","reason":"ok","zone":"a"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, req, _ := replay(t, 200, "application/json", tt.body)
			got, err := c.Replicas(t.Context(), "acme", "my-ep")
			require.NoError(t, err)
			require.Len(t, got, 1)
			assert.Equal(t, "/v2/endpoint/acme/my-ep/replica", req.URL.Path)
			r := got[0]
			assert.Equal(t, "6pajyw3k-z7ghx", r.ID)
			assert.Equal(t, "running", r.State)
			assert.Equal(t, started, r.StartedAt)
			assert.Equal(t, 2, r.Restarts)
			assert.Equal(t, "ok", r.Message)
			assert.JSONEq(t, `"a"`, string(r.Extra["zone"]), "unknown members are kept")
		})
	}
	c, _, _ := replay(t, 200, "text/html", "<html>oops</html>")
	_, err := c.Replicas(t.Context(), "acme", "my-ep")
	assert.ErrorContains(t, err, "replicas of acme/my-ep: HTTP 200 answer is not JSON")
}

func TestMetricSeriesRequestAndShapes(t *testing.T) {
	from := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	tests := []struct{ name, body, unit string }{
		{"objects", `{"metric":"request-count","unit":"requests","points":[{"timestamp":"2026-03-04T10:01:00Z","value":3},{"timestamp":"2026-03-04T10:00:00Z","value":1},{"timestamp":"2026-03-04T10:02:00Z","value":null}]}`, "requests"},
		{"pairs", `[[1772618400, "1"], [1772618460, 3]]`, ""},
		{"prometheus", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1772618400,"1"],[1772618460,"3"],[1772618520,"NaN"]]}]}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, req, body := replay(t, 200, "application/json", tt.body)
			s, err := c.MetricSeries(t.Context(), "acme", "my-ep", "request-count", MetricQuery{From: from, To: from.Add(time.Hour), Step: time.Minute})
			require.NoError(t, err)
			assert.Equal(t, http.MethodPost, req.Method)
			assert.Equal(t, "/v2/endpoint/acme/my-ep/metrics/request-count", req.URL.Path)
			assert.JSONEq(t, `{"from":1772618400,"to":1772622000,"step":"1m"}`, string(*body))
			assert.Equal(t, "request-count", s.Metric)
			assert.Equal(t, tt.unit, s.Unit)
			assert.Equal(t, []MetricPoint{{from, 1}, {from.Add(time.Minute), 3}}, s.Points, "sorted, points without a value left out")
		})
	}
	c, _, _ := replay(t, 200, "application/json", `{}`)
	_, err := c.MetricSeries(t.Context(), "acme", "my-ep", "latency", MetricQuery{From: from})
	assert.ErrorContains(t, err, "request-count, median-latency, p95-latency")
	_, err = c.MetricSeries(t.Context(), "acme", "my-ep", "p95-latency", MetricQuery{From: from, To: from.Add(time.Hour), Step: 1500 * time.Millisecond})
	assert.ErrorContains(t, err, "whole number of seconds")
	c, _, _ = replay(t, 200, "application/json", `[[1772618400]]`)
	_, err = c.MetricSeries(t.Context(), "acme", "my-ep", "p95-latency", MetricQuery{From: from, To: from.Add(time.Hour)})
	assert.ErrorContains(t, err, "HTTP 200 answer cannot be read as a series")
}

// A metric query only reads, so a transient failure is retried like a GET.
func TestMetricSeriesIsRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`[]`))
	}))
	t.Cleanup(srv.Close)
	c, _ := newTestClient(t, srv)
	_, err := c.MetricSeries(t.Context(), "acme", "my-ep", "cpu-usage", MetricQuery{From: time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	assert.EqualValues(t, 2, calls.Load())
}

func TestFollowLogsReadsEvents(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/v2/endpoint/acme/my-ep/logs/sse", r.URL.Path)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, ": keep-alive\n\ndata: {\"timestamp\":\"2026-03-04T10:00:00Z\",\"level\":\"INFO\",\"message\":\"one\"}\n\n"+
			"data: {\"timestamp\":\"2026-03-04T10:00:01Z\",\"level\":\"ERROR\",\"message\":\"two "+testToken+"\"}\n\n")
	}))
	t.Cleanup(srv.Close)
	c, _ := newTestClient(t, srv)
	var got []string
	err := c.FollowLogs(t.Context(), "acme", "my-ep", LogQuery{}, func(l LogLine) error {
		got = append(got, l.Level+" "+l.Text)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"INFO one", "ERROR two " + redacted}, got, "the token never comes back")

	stop := context.Canceled
	err = c.FollowLogs(t.Context(), "acme", "my-ep", LogQuery{MinLevel: "error"}, func(l LogLine) error { return stop })
	assert.ErrorIs(t, err, stop, "fn's error ends the stream")
	assert.False(t, strings.Contains(err.Error(), testToken))
}
