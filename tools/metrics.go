package tools

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// MetricsInput is get_endpoint_metrics' input: without metric, the current OpenMetrics snapshot;
// with it, a series over the last since_minutes.
type MetricsInput struct {
	Target
	Metric       string `json:"metric,omitempty" jsonschema:"enum=request-count,enum=median-latency,enum=p95-latency,enum=pending-requests,enum=ready-replicas,enum=gpu-usage,enum=cpu-usage,enum=memory-usage"`
	SinceMinutes *int   `json:"since_minutes,omitempty" jsonschema:"minimum=1,maximum=10080" jsonschema_description:"Default 60."`
	Step         string `json:"step,omitempty"`
}

// Series bounds.
const (
	defaultSinceMinutes = 60
	maxSeriesPoints     = 1000
	minSeriesStep       = 10 * time.Second
)

// Validate checks that since_minutes and step go with metric and give a readable number of points.
func (in MetricsInput) Validate() error {
	if in.Metric == "" {
		if in.SinceMinutes != nil || in.Step != "" {
			return fmt.Errorf("since_minutes and step shape a series: add a metric (one of %s)", strings.Join(hfapi.MetricNames, ", "))
		}
		return nil
	}
	_, _, err := in.window()
	return err
}

// window returns the series' length and step.
func (in MetricsInput) window() (since, step time.Duration, err error) {
	minutes := defaultSinceMinutes
	if in.SinceMinutes != nil {
		minutes = *in.SinceMinutes
	}
	since = time.Duration(minutes) * time.Minute
	step = time.Duration((minutes+59)/60) * time.Minute
	if in.Step != "" {
		step, err = time.ParseDuration(strings.TrimSpace(in.Step))
		if err != nil || step < minSeriesStep || step%time.Second != 0 {
			return 0, 0, fmt.Errorf(`step %q must be a whole number of seconds, at least 10s, such as "30s", "1m" or "1h"`, in.Step)
		}
	}
	if n := int(since / step); n > maxSeriesPoints {
		least := (since + maxSeriesPoints*time.Second - 1) / (maxSeriesPoints * time.Second) * time.Second
		return 0, 0, fmt.Errorf("step %s over %d minutes gives %d points, more than %d: use a step of at least %s", in.Step, minutes, n, maxSeriesPoints, least)
	}
	return since, step, nil
}

// SeriesPoint is one value of a metric series.
type SeriesPoint struct {
	Time  string  `json:"time"`
	Value float64 `json:"value"`
}

// SeriesSummary sums a series up.
type SeriesSummary struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	Max  float64 `json:"max"`
	Last float64 `json:"last"`
}

// MetricsResult is an endpoint's metrics: the OpenMetrics text of the current values, or one
// series with its summary (and a PNG chart as image content).
type MetricsResult struct {
	Endpoint string         `json:"endpoint"`
	Metrics  string         `json:"metrics,omitempty"`
	Metric   string         `json:"metric,omitempty"`
	Unit     string         `json:"unit,omitempty"`
	Points   []SeriesPoint  `json:"points,omitempty"`
	Stats    *SeriesSummary `json:"summary,omitempty"`

	minutes int
	step    string
	chart   []byte
}

// Summary is the metrics text cut to a readable size, or the series' summary.
func (m MetricsResult) Summary() string {
	if m.Metric == "" {
		const limit = 4000
		text := m.Metrics
		if len(text) > limit {
			text = text[:limit] + "\n… (truncated; full text in structured content)"
		}
		return "metrics of " + m.Endpoint + " (OpenMetrics):\n" + text
	}
	if m.Stats == nil {
		return fmt.Sprintf("no %s data for %s in the last %d minutes (no traffic, no replica, or no such hardware)", m.Metric, m.Endpoint, m.minutes)
	}
	unit := ""
	if m.Unit != "" {
		unit = " " + m.Unit
	}
	s := m.Stats
	return fmt.Sprintf("%s of %s over the last %d minutes (%d point(s), step %s): min %s, mean %s, max %s, last %s%s; chart attached",
		m.Metric, m.Endpoint, m.minutes, len(m.Points), m.step, num(s.Min), num(s.Mean), num(s.Max), num(s.Last), unit)
}

func num(f float64) string { return fmt.Sprintf("%.4g", f) }

// Content is the chart.
func (m MetricsResult) Content() []mcp.Content {
	if len(m.chart) == 0 {
		return nil
	}
	return []mcp.Content{mcp.NewImageContent(base64.StdEncoding.EncodeToString(m.chart), "image/png")}
}

var getEndpointMetrics = Tool{
	Name:  "get_endpoint_metrics",
	Title: "Get endpoint metrics",
	Description: `Current metrics as OpenMetrics text, or one metric over time with min/mean/max/last and a PNG chart. ` +
		`Example: {"endpoint_name": "my-gpt2", "metric": "p95-latency", "step": "1m"}`,
	Toolset: EndpointsRead,
	Hints:   readHints,
	Handler: Handle(func(ctx context.Context, call *Call, in MetricsInput) (MetricsResult, error) {
		if in.Metric == "" {
			text, err := call.Client.Metrics(ctx, in.Namespace, in.EndpointName)
			if err != nil {
				return MetricsResult{}, err
			}
			return MetricsResult{Endpoint: in.EndpointName, Metrics: text}, nil
		}
		return metricSeries(ctx, call, in)
	}),
}

func metricSeries(ctx context.Context, call *Call, in MetricsInput) (MetricsResult, error) {
	since, step, err := in.window()
	if err != nil {
		return MetricsResult{}, err
	}
	// The window ends at the step boundary after now, so that points sit on whole steps and the
	// requests of the current step count.
	to := time.Now().UTC().Truncate(step).Add(step)
	s, err := call.Client.MetricSeries(ctx, in.Namespace, in.EndpointName, in.Metric, hfapi.MetricQuery{From: to.Add(-since), To: to, Step: step})
	if err != nil {
		return MetricsResult{}, err
	}
	out := MetricsResult{Endpoint: in.EndpointName, Metric: in.Metric, Unit: s.Unit, step: hfapi.FormatStep(step),
		Points: make([]SeriesPoint, 0, len(s.Points)), minutes: int(since / time.Minute)}
	if len(s.Points) == 0 {
		return out, nil
	}
	sum := SeriesSummary{Min: math.Inf(1), Max: math.Inf(-1)}
	for _, p := range s.Points {
		out.Points = append(out.Points, SeriesPoint{Time: p.Time.UTC().Format(time.RFC3339), Value: p.Value})
		sum.Min, sum.Max, sum.Mean = min(sum.Min, p.Value), max(sum.Max, p.Value), sum.Mean+p.Value
	}
	sum.Mean /= float64(len(s.Points))
	sum.Last = s.Points[len(s.Points)-1].Value
	out.Stats = &sum
	if out.chart, err = drawSeries(in.Metric+" · "+in.EndpointName, s.Unit, s.Points); err != nil {
		return MetricsResult{}, &Fault{Err: fmt.Errorf("drawing the %s chart: %w", in.Metric, err)}
	}
	return out, nil
}
