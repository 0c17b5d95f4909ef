package hfapi

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
)

// MetricNames are the metric series an endpoint offers (POST …/metrics/{metric}; CONTRACT §9).
var MetricNames = []string{"request-count", "median-latency", "p95-latency", "pending-requests",
	"ready-replicas", "gpu-usage", "cpu-usage", "memory-usage"}

// MetricQuery is the window of a metric series.
type MetricQuery struct {
	From, To time.Time
	Step     time.Duration // one point per Step; whole seconds (0: the service's default)
}

// MetricPoint is one value of a series. Points without a value (no traffic in a latency bucket)
// are left out.
type MetricPoint struct {
	Time  time.Time
	Value float64
}

// MetricSeries is a metric over time.
type MetricSeries struct {
	Metric string
	Unit   string // as sent ("" when the service names none)
	Points []MetricPoint
	// Extra holds the members of an object answer that are not mapped above.
	Extra map[string]json.RawMessage
}

// MetricSeries reads one metric of an endpoint over q's window (POST …/metrics/{metric} with
// {"from", "to", "step"}). The answer is read leniently: [[t, v]…], [{"timestamp", "value"}…], or
// an object holding either (also Prometheus' {"data":{"result":[{"values":…}]}}).
func (c *Client) MetricSeries(ctx context.Context, namespace, name, metric string, q MetricQuery) (*MetricSeries, error) {
	if !slices.Contains(MetricNames, metric) {
		return nil, &ValidationError{"metric", fmt.Sprintf("%q is not a metric; use one of %s", metric, strings.Join(MetricNames, ", "))}
	}
	if q.To.IsZero() {
		q.To = c.clock.Now()
	}
	switch {
	case q.From.IsZero() || !q.From.Before(q.To):
		return nil, &ValidationError{"from", "must be before to"}
	case q.Step < 0 || q.Step%time.Second != 0:
		return nil, &ValidationError{"step", fmt.Sprintf("%s is not a whole number of seconds", q.Step)}
	}
	ns, err := c.target(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"from": q.From.Unix(), "to": q.To.Unix()}
	setIf(body, "step", FormatStep(q.Step), q.Step > 0)
	op := "metric " + metric + " of " + ns + "/" + name
	resp, err := c.send(ctx, request{op: op, method: http.MethodPost, readOnly: true,
		url: endpointURL(c.api, "endpoint", ns, name, "metrics", metric), body: body})
	if err != nil {
		return nil, err
	}
	s, err := decodeSeries(resp.body)
	if err != nil {
		return nil, fmt.Errorf("%s: HTTP %d answer cannot be read as a series: %w", op, resp.status, err)
	}
	s.Metric = metric
	return s, nil
}

// FormatStep writes a step the way the API's examples do: "1m", "5m", "30s", "1h".
func FormatStep(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

func decodeSeries(body []byte) (*MetricSeries, error) {
	s := &MetricSeries{}
	var obj record
	if json.Unmarshal(body, &obj) == nil && obj != nil {
		s.Unit = obj.text("unit", "units")
		list, _ := listIn(body, "points", "values", "datapoints", "series", "data", "result")
		for _, k := range []string{"points", "values", "datapoints", "series", "data", "result"} {
			obj.take(k)
		}
		obj.take("metric", "name")
		s.Extra = obj.rest()
		return s, s.addPoints(list)
	}
	list, isJSON := listIn(body)
	if !isJSON {
		return nil, fmt.Errorf("not JSON: %s", truncate(string(body), 120))
	}
	return s, s.addPoints(list)
}

// addPoints reads [t, v] pairs and {"timestamp"/"time"/"t", "value"/"v"} objects; a list of
// series objects ({"values": [...]}) is followed into its first series.
func (s *MetricSeries) addPoints(list []json.RawMessage) error {
	for _, raw := range list {
		var pair []json.RawMessage
		if json.Unmarshal(raw, &pair) == nil {
			if len(pair) != 2 {
				return fmt.Errorf("a point is %s, want [time, value]", truncate(string(raw), 80))
			}
			s.add(pair[0], pair[1])
			continue
		}
		var r record
		if err := json.Unmarshal(raw, &r); err != nil || r == nil {
			return fmt.Errorf("a point is %s, want [time, value] or an object", truncate(string(raw), 80))
		}
		if inner, ok := r.take("values", "points", "datapoints"); ok {
			var points []json.RawMessage
			if json.Unmarshal(inner, &points) == nil {
				return s.addPoints(points)
			}
		}
		t, okT := r.take("timestamp", "time", "t", "x", "date")
		v, okV := r.take("value", "v", "y")
		if !okT || !okV {
			return fmt.Errorf("a point %s has no time or value", truncate(string(raw), 80))
		}
		s.add(t, v)
	}
	slices.SortStableFunc(s.Points, func(a, b MetricPoint) int { return a.Time.Compare(b.Time) })
	return nil
}

func (s *MetricSeries) add(rawT, rawV json.RawMessage) {
	t, okT := parseLenientTime(rawT)
	v, okV := rawNumber(rawV)
	if okT && okV && !math.IsNaN(v) && !math.IsInf(v, 0) {
		s.Points = append(s.Points, MetricPoint{Time: t, Value: v})
	}
}
