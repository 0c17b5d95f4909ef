package tools

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// callTool runs a real tool through the wrapper with a client of srv (nil: no client can be built,
// so only argument checking can answer).
func callTool(t *testing.T, tool Tool, srv *httptest.Server, args string) *mcp.CallToolResult {
	t.Helper()
	deps := Deps{Client: func(context.Context) (*hfapi.Client, error) {
		require.NotNil(t, srv, "the arguments should have been refused before a client was needed")
		return hfapi.New(hfapi.Config{Token: "hf_test", APIBase: srv.URL + "/v2", HubBase: srv.URL, Namespace: "acme",
			HTTPClient: srv.Client(), MaxHourlyCost: hfapi.NoCostCeiling})
	}}
	st, err := tool.ServerTool(deps)
	require.NoError(t, err)
	req := mcp.CallToolRequest{}
	req.Params.Name = tool.Name
	req.Params.RawArguments = json.RawMessage(args)
	res, err := st.Handler(t.Context(), req)
	require.NoError(t, err, "failures are tool results, not protocol errors")
	return res
}

func TestDiagnoseToolsRefuseBadInputNamingWhatIsValid(t *testing.T) {
	for _, tc := range []struct {
		name string
		tool Tool
		args string
		want string
	}{
		{"unknown metric", getEndpointMetrics, `{"endpoint_name":"a","metric":"latency"}`,
			`argument "metric" must be one of request-count, median-latency, p95-latency, pending-requests, ready-replicas, gpu-usage, cpu-usage, memory-usage; got "latency"`},
		{"series arguments without a metric", getEndpointMetrics, `{"endpoint_name":"a","since_minutes":30}`, "add a metric (one of request-count"},
		{"since_minutes too large", getEndpointMetrics, `{"endpoint_name":"a","metric":"cpu-usage","since_minutes":20000}`, `"since_minutes" must be at most 10080`},
		{"bad step", getEndpointMetrics, `{"endpoint_name":"a","metric":"cpu-usage","step":"soon"}`, `step "soon" must be a whole number of seconds, at least 10s`},
		{"step below 10s", getEndpointMetrics, `{"endpoint_name":"a","metric":"cpu-usage","step":"5s"}`, `at least 10s`},
		{"too many points", getEndpointMetrics, `{"endpoint_name":"a","metric":"cpu-usage","since_minutes":1440,"step":"10s"}`,
			"gives 8640 points, more than 1000: use a step of at least 1m27s"},
		{"tail too large", getEndpointLogs, `{"endpoint_name":"a","tail":5000}`, `argument "tail" must be at most 1000; got 5000`},
		{"tail zero", getEndpointLogs, `{"endpoint_name":"a","tail":0}`, `argument "tail" must be at least 1; got 0`},
		{"bad since", getEndpointLogs, `{"endpoint_name":"a","since":"yesterday"}`,
			`since "yesterday" is neither an RFC 3339 time ("2026-05-01T12:00:00Z") nor a positive duration ("15m", "2h", "1d")`},
		{"negative since", getEndpointLogs, `{"endpoint_name":"a","since":"-5m"}`, "positive duration"},
		{"future since", getEndpointLogs, `{"endpoint_name":"a","since":"2999-01-01T00:00:00Z"}`, "is in the future"},
		{"bad level", getEndpointLogs, `{"endpoint_name":"a","level":"loud"}`, `level "loud" is not a log level; use debug, info, warn or error`},
		{"unknown argument", listEndpointReplicas, `{"endpoint_name":"a","replica":"x"}`, "valid arguments are: endpoint_name, namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := callTool(t, tc.tool, nil, tc.args)
			require.True(t, res.IsError)
			assert.Contains(t, resultText(res), "invalid arguments for "+tc.tool.Name)
			assert.Contains(t, resultText(res), tc.want)
		})
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":                     {},
		"15m":                  now.Add(-15 * time.Minute),
		" 2h ":                 now.Add(-2 * time.Hour),
		"1d":                   now.Add(-24 * time.Hour),
		"2026-05-01T11:00:00Z": now.Add(-time.Hour),
	} {
		got, err := parseSince(in, now)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
}

func TestUnreadableLogBodyIsAnErrorResultWithTheStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>upstream error</body></html>"))
	}))
	t.Cleanup(srv.Close)
	res := callTool(t, getEndpointLogs, srv, `{"endpoint_name":"a"}`)
	require.True(t, res.IsError)
	assert.Contains(t, resultText(res), "get_endpoint_logs failed: logs of acme/a: HTTP 200 answer cannot be read as log lines: the body is an HTML page")
}

func TestLogsRenderCompactly(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`[{"timestamp":"2026-05-01T11:59:00.5Z","level":"INFO","replica":"d1-r1","message":"Starting shard rank=0"},
			{"timestamp":"2026-05-01T11:59:01Z","level":"ERROR","replica":"d1-r1","message":"CUDA out of memory"}, {"message":"bare"}]`))
	}))
	t.Cleanup(srv.Close)
	res := callTool(t, getEndpointLogs, srv, `{"endpoint_name":"a","contains":"","tail":2}`)
	require.False(t, res.IsError, resultText(res))
	assert.Equal(t, "2 log line(s) of a, oldest first:\n2026-05-01 11:59:01.000 ERROR [d1-r1] CUDA out of memory\nbare", resultText(res))
	var out LogsResult
	require.NoError(t, json.Unmarshal(res.StructuredContent.(json.RawMessage), &out))
	assert.Equal(t, []LogEntry{{Time: "2026-05-01T11:59:01.000Z", Level: "ERROR", Replica: "d1-r1", Text: "CUDA out of memory"}, {Text: "bare"}}, out.Lines)
}

func TestMetricSeriesSummaryAndChart(t *testing.T) {
	var asked map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/v2/endpoint/acme/a/metrics/p95-latency", r.URL.Path)
		assert.NoError(t, json.NewDecoder(r.Body).Decode(&asked))
		now := time.Now().Unix()
		_, _ = w.Write([]byte(`{"unit":"ms","points":[[` + itoa(now-120) + `,40],[` + itoa(now-60) + `,null],[` + itoa(now) + `,20]]}`))
	}))
	t.Cleanup(srv.Close)
	res := callTool(t, getEndpointMetrics, srv, `{"endpoint_name":"a","metric":"p95-latency","since_minutes":120}`)
	require.False(t, res.IsError, resultText(res))
	assert.Equal(t, "2m", asked["step"], "about 60 points by default")
	assert.EqualValues(t, 7200, asked["to"].(float64)-asked["from"].(float64))
	assert.Contains(t, resultText(res), "p95-latency of a over the last 120 minutes (2 point(s), step 2m): min 20, mean 30, max 40, last 20 ms; chart attached")
	var out MetricsResult
	require.NoError(t, json.Unmarshal(res.StructuredContent.(json.RawMessage), &out))
	assert.Equal(t, &SeriesSummary{Min: 20, Mean: 30, Max: 40, Last: 20}, out.Stats)
	assert.Len(t, out.Points, 2)
	assert.Equal(t, "ms", out.Unit)
	require.Len(t, res.Content, 2)
	img, ok := res.Content[1].(mcp.ImageContent)
	require.True(t, ok)
	assert.Equal(t, "image/png", img.MIMEType)
	data, err := base64.StdEncoding.DecodeString(img.Data)
	require.NoError(t, err)
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	require.NoError(t, err)
	assert.Greater(t, cfg.Width, 300)
	assert.Greater(t, cfg.Height, 100)
}

func TestEmptySeriesSaysSoWithoutAChart(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"unit":"%","points":[]}`))
	}))
	t.Cleanup(srv.Close)
	res := callTool(t, getEndpointMetrics, srv, `{"endpoint_name":"a","metric":"gpu-usage"}`)
	require.False(t, res.IsError)
	assert.Len(t, res.Content, 1)
	assert.True(t, strings.HasPrefix(resultText(res), "no gpu-usage data for a in the last 60 minutes"), resultText(res))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// The metric enum of the input schema is the list hfapi knows.
func TestMetricEnumIsHfapis(t *testing.T) {
	s, err := getEndpointMetrics.schemas()
	require.NoError(t, err)
	in, err := s.arguments()
	require.NoError(t, err)
	var enum []string
	for _, v := range in.checks["metric"].Enum {
		enum = append(enum, v.(string))
	}
	assert.Equal(t, hfapi.MetricNames, enum)
}
