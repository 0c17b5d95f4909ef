package emulator

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The operations routes of CONTRACT §9 (logs, replicas, metric series). Their real response shapes
// are unpublished; the ones served here are ours:
//
//	GET  …/logs[?replica=]       [{"timestamp","level","replica","message"}…], oldest first
//	GET  …/logs/sse[?replica=]   the last 50 lines, then new ones, one "data: {…}" event each
//	GET  …/replica (…/replicas)  [{"id","deploymentId","state","startedAt","restarts","message"}…]
//	POST …/metrics/{metric}      {"from","to","step"?} → {"metric","unit","step","points":[{"timestamp","value"}…]}

// wireLog is a log line on the wire.
type wireLog struct {
	Timestamp string `json:"timestamp"`
	Level     string `json:"level"`
	Replica   string `json:"replica,omitempty"`
	Message   string `json:"message"`
}

func (l logEntry) wire() wireLog {
	return wireLog{Timestamp: l.Time.UTC().Format(time.RFC3339Nano), Level: l.Level, Replica: l.Replica, Message: l.Text}
}

// logs answers GET …/logs with every line the endpoint's replicas printed (the last maxLogLines).
func (e *Emulator) logs(w http.ResponseWriter, r *http.Request) {
	ep, _, ok := e.lookup(w, r)
	if !ok {
		return
	}
	replica := r.URL.Query().Get("replica")
	ep.act.mu.Lock()
	out := make([]wireLog, 0, len(ep.act.logs))
	for _, l := range ep.act.logs {
		if replica == "" || l.Replica == replica {
			out = append(out, l.wire())
		}
	}
	ep.act.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// followBacklog is how many past lines GET …/logs/sse sends before new ones, like the UI's first page.
const followBacklog = 50

// logHeartbeat is how often an idle log stream carries a comment, so proxies keep it open.
const logHeartbeat = 15 * time.Second

// followLogs answers GET …/logs/sse: the last lines, then each new line as it is printed, until the
// client leaves or the emulator closes.
func (e *Emulator) followLogs(w http.ResponseWriter, r *http.Request) {
	ep, _, ok := e.lookup(w, r)
	if !ok {
		return
	}
	flusher, canFlush := w.(http.Flusher)
	if !canFlush {
		apiError(w, http.StatusInternalServerError, "streaming is not supported by this connection")
		return
	}
	replica := r.URL.Query().Get("replica")
	lines, backlog, cancel := ep.act.follow()
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	send := func(l logEntry) bool {
		if replica != "" && l.Replica != replica {
			return true
		}
		data, _ := json.Marshal(l.wire())
		_, err := fmt.Fprintf(w, "data: %s\n\n", data)
		return err == nil
	}
	backlog = slices.DeleteFunc(backlog, func(l logEntry) bool { return replica != "" && l.Replica != replica })
	for _, l := range backlog[max(len(backlog)-followBacklog, 0):] {
		send(l)
	}
	flusher.Flush()
	beat := time.NewTicker(logHeartbeat)
	defer beat.Stop()
	for {
		select {
		case l := <-lines:
			if !send(l) {
				return
			}
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-e.done:
			return
		}
		flusher.Flush()
	}
}

// wireReplica is a replica on the wire.
type wireReplica struct {
	ID           string `json:"id"`
	DeploymentID string `json:"deploymentId"`
	State        string `json:"state"`
	StartedAt    string `json:"startedAt"`
	Restarts     int    `json:"restarts"`
	Message      string `json:"message,omitempty"`
}

// replicaList answers GET …/replica with the endpoint's current replicas.
func (e *Emulator) replicaList(w http.ResponseWriter, r *http.Request) {
	ep, _, ok := e.lookup(w, r)
	if !ok {
		return
	}
	ep.act.mu.Lock()
	out := make([]wireReplica, 0, len(ep.act.replicas))
	for _, rep := range ep.act.replicas {
		out = append(out, wireReplica{ID: rep.id, DeploymentID: rep.deployment, State: rep.state,
			StartedAt: timestamp(rep.startedAt), Restarts: rep.restarts, Message: rep.message})
	}
	ep.act.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// metricUnits are the metric series served, with their units.
var metricUnits = map[string]string{
	"request-count": "requests", "median-latency": "ms", "p95-latency": "ms", "pending-requests": "requests",
	"ready-replicas": "replicas", "gpu-usage": "%", "cpu-usage": "%", "memory-usage": "%",
}

// maxSeriesPoints bounds one series answer.
const maxSeriesPoints = 2000

type wirePoint struct {
	Timestamp string   `json:"timestamp"`
	Value     *float64 `json:"value"` // null where the metric has no value (latency without requests)
}

// metricSeries answers POST …/metrics/{metric} {"from": unix_s, "to": unix_s, "step": "1m"?} with
// the metric computed from the requests the endpoint served and its replicas' history.
func (e *Emulator) metricSeries(w http.ResponseWriter, r *http.Request) {
	ep, _, ok := e.lookup(w, r)
	if !ok {
		return
	}
	metric := r.PathValue("metric")
	unit, known := metricUnits[metric]
	if !known {
		names := make([]string, 0, len(metricUnits))
		for n := range metricUnits {
			names = append(names, n)
		}
		slices.Sort(names)
		apiError(w, http.StatusNotFound, fmt.Sprintf("unknown metric %q; metrics: %s", metric, strings.Join(names, ", ")))
		return
	}
	q, err := readSeriesQuery(r)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	e.store.mu.RLock()
	c := containerOf(ep)
	e.store.mu.RUnlock()
	values := ep.act.series(metric, c, q)
	points := make([]wirePoint, len(values))
	for i, v := range values {
		points[i] = wirePoint{Timestamp: timestamp(q.from.Add(time.Duration(i) * q.step)), Value: v}
	}
	writeJSON(w, http.StatusOK, map[string]any{"metric": metric, "unit": unit, "step": stepText(q.step),
		"from": q.from.Unix(), "to": q.to.Unix(), "points": points})
}

type seriesQuery struct {
	from, to time.Time
	step     time.Duration
}

func readSeriesQuery(r *http.Request) (seriesQuery, error) {
	body, err := decodeObject(r)
	if err != nil {
		return seriesQuery{}, err
	}
	var q seriesQuery
	from, okFrom := unixSeconds(body["from"])
	to, okTo := unixSeconds(body["to"])
	if !okFrom || !okTo || from <= 0 || to <= from {
		return q, fmt.Errorf(`"from" and "to" must be Unix times in seconds with from < to, e.g. {"from": %d, "to": %d, "step": "1m"}`,
			time.Now().Add(-time.Hour).Unix(), time.Now().Unix())
	}
	q.from, q.to, q.step = time.Unix(int64(from), 0).UTC(), time.Unix(int64(to), 0).UTC(), time.Minute
	if s, ok := body["step"]; ok {
		text, _ := s.(string)
		d, err := time.ParseDuration(text)
		if err != nil || d < time.Second {
			return q, fmt.Errorf(`"step" must be a duration of at least 1s such as "30s", "1m" or "1h"; got %v`, s)
		}
		q.step = d
	}
	if n := q.to.Sub(q.from) / q.step; n > maxSeriesPoints {
		return q, fmt.Errorf("%d points asked (window / step); at most %d: use a larger step", n, maxSeriesPoints)
	}
	return q, nil
}

// unixSeconds reads a JSON number decoded with UseNumber.
func unixSeconds(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// series computes one value per step of q (nil where the metric has none), from what the replicas
// served: request counts, the emulated latency of those requests, the load they put on the
// replicas that were ready, and the memory the model holds.
func (a *activity) series(metric string, c container, q seriesQuery) []*float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := int((q.to.Sub(q.from) + q.step - 1) / q.step)
	out := make([]*float64, n)
	first, _ := slices.BinarySearchFunc(a.served, q.from, func(s servedRequest, t time.Time) int { return s.at.Compare(t) })
	for i := range out {
		start := q.from.Add(time.Duration(i) * q.step)
		end := start.Add(q.step)
		var lat []float64
		var busy time.Duration
		for first < len(a.served) && a.served[first].at.Before(end) {
			d := a.served[first].timing.total()
			lat = append(lat, float64(d)/float64(time.Millisecond))
			busy += d
			first++
		}
		ready := a.readyAt(end)
		load := 0.0
		if ready > 0 {
			load = min(float64(busy)/float64(q.step)/float64(ready), 1)
		}
		var v float64
		switch metric {
		case "request-count":
			v = float64(len(lat))
		case "median-latency", "p95-latency":
			if len(lat) == 0 {
				continue
			}
			slices.Sort(lat)
			p := 0.5
			if metric == "p95-latency" {
				p = 0.95
			}
			v = lat[min(int(math.Ceil(p*float64(len(lat))))-1, len(lat)-1)]
		case "pending-requests":
			v = float64(busy) / float64(q.step)
		case "ready-replicas":
			v = float64(ready)
		case "gpu-usage":
			if c.accel != "gpu" {
				continue
			}
			v = 100 * load
		case "cpu-usage":
			if ready > 0 {
				v = 3 + 90*load
				if c.accel == "gpu" {
					v = 4 + 10*load
				}
			}
		case "memory-usage":
			if ready > 0 {
				v = c.memoryPercent()
			}
		}
		v = math.Round(v*1000) / 1000
		out[i] = &v
	}
	return out
}

// readyAt is how many replicas were ready at t.
func (a *activity) readyAt(t time.Time) int {
	i, _ := slices.BinarySearchFunc(a.readyMarks, t, func(m readyMark, t time.Time) int { return m.at.Compare(t) })
	for i < len(a.readyMarks) && !a.readyMarks[i].at.After(t) {
		i++
	}
	if i == 0 {
		return 0
	}
	return a.readyMarks[i-1].ready
}

// memoryPercent is the share of the accelerator's memory (host memory on CPU) a ready replica
// holds: the weights, and for TGI the KV cache it allocates up front.
func (c container) memoryPercent() float64 {
	if c.weightBytes == 0 {
		return 35
	}
	if c.accel == "gpu" && c.gpuMemGB > 0 {
		total := cudaTotalGiB(c.gpuMemGB) * float64(c.shards())
		used := float64(c.weightBytes)/gib + cudaOverheadGiB
		if c.server == serverTGI {
			used += (total - used) * 0.9 // TGI fills the free memory with KV cache blocks
		}
		return min(100*used/total, 100)
	}
	if c.memGB == 0 {
		return 35
	}
	return min(100*(float64(c.weightBytes)+gib)/(c.memGB*1e9), 100)
}

// stepText writes a step as the API's examples do: "1m", "30s", "1h".
func stepText(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}
