package tools

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// The day-2 tools: what an endpoint's replicas printed, which replicas it has, and its metrics.

// LogsInput is get_endpoint_logs' input.
type LogsInput struct {
	Target
	Replica  string `json:"replica,omitempty"`
	Tail     *int   `json:"tail,omitempty" jsonschema:"minimum=1,maximum=1000" jsonschema_description:"Default 100."`
	Since    string `json:"since,omitempty" jsonschema_description:"RFC 3339 or duration (15m)."`
	Contains string `json:"contains,omitempty"`
	Level    string `json:"level,omitempty" jsonschema_description:"Minimum: debug, info, warn or error."`
}

// defaultTail is how many lines get_endpoint_logs returns without tail.
const defaultTail = 100

// Validate checks since and level.
func (in LogsInput) Validate() error {
	switch strings.ToLower(in.Level) {
	case "", "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("level %q is not a log level; use debug, info, warn or error", in.Level)
	}
	_, err := parseSince(in.Since, time.Now())
	return err
}

// parseSince reads an RFC 3339 time or a duration before now ("15m", "2h", "1d"); "" is no bound.
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		if t.After(now) {
			return time.Time{}, fmt.Errorf("since %q is in the future", s)
		}
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, nerr := strconv.Atoi(days)
		d, err = time.Duration(n)*24*time.Hour, nerr
	}
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf(`since %q is neither an RFC 3339 time ("2026-05-01T12:00:00Z") nor a positive duration ("15m", "2h", "1d")`, s)
	}
	return now.Add(-d), nil
}

// LogEntry is one log line.
type LogEntry struct {
	Time    string `json:"time,omitempty"`
	Level   string `json:"level,omitempty"`
	Replica string `json:"replica,omitempty"`
	Text    string `json:"text"`
}

// LogsResult is the newest log lines of an endpoint, oldest first.
type LogsResult struct {
	Lines []LogEntry `json:"lines"`

	endpoint, filters string
}

// Summary renders the lines compactly: time, level, replica, text.
func (r LogsResult) Summary() string {
	if len(r.Lines) == 0 {
		return fmt.Sprintf("no log lines of %s%s", r.endpoint, r.filters)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d log line(s) of %s%s, oldest first:", len(r.Lines), r.endpoint, r.filters)
	for _, l := range r.Lines {
		b.WriteString("\n")
		if l.Time != "" {
			b.WriteString(strings.TrimSuffix(strings.Replace(l.Time, "T", " ", 1), "Z") + " ")
		}
		if l.Level != "" {
			b.WriteString(l.Level + " ")
		}
		if l.Replica != "" {
			b.WriteString("[" + l.Replica + "] ")
		}
		b.WriteString(l.Text)
	}
	return b.String()
}

var getEndpointLogs = Tool{
	Name:        "get_endpoint_logs",
	Title:       "Get endpoint logs",
	Description: `Newest runtime log lines of an endpoint's replicas. Example: {"endpoint_name": "my-gpt2", "level": "error", "since": "30m"}`,
	Toolset:     EndpointsRead,
	Hints:       readHints,
	Handler: Handle(func(ctx context.Context, call *Call, in LogsInput) (LogsResult, error) {
		since, _ := parseSince(in.Since, time.Now())
		q := hfapi.LogQuery{Replica: in.Replica, Since: since, Contains: in.Contains, MinLevel: in.Level, Tail: defaultTail}
		if in.Tail != nil {
			q.Tail = *in.Tail
		}
		lines, err := call.Client.Logs(ctx, in.Namespace, in.EndpointName, q)
		if err != nil {
			return LogsResult{}, err
		}
		out := LogsResult{endpoint: in.EndpointName, Lines: make([]LogEntry, 0, len(lines)), filters: describeLogQuery(in)}
		for _, l := range lines {
			e := LogEntry{Level: l.Level, Replica: l.Replica, Text: l.Text}
			if !l.Time.IsZero() {
				e.Time = l.Time.UTC().Format("2006-01-02T15:04:05.000Z")
			}
			out.Lines = append(out.Lines, e)
		}
		return out, nil
	}),
}

func describeLogQuery(in LogsInput) string {
	var parts []string
	for _, p := range [][2]string{{"replica", in.Replica}, {"since", in.Since}, {"containing", strconv.Quote(in.Contains)}, {"level ≥", in.Level}} {
		if p[1] != "" && p[1] != `""` {
			parts = append(parts, p[0]+" "+p[1])
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// ReplicaRow is one replica of an endpoint.
type ReplicaRow struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	StartedAt string `json:"started_at,omitempty"`
	Restarts  int    `json:"restarts"`
	Message   string `json:"message,omitempty"`
}

// ReplicasResult lists an endpoint's replicas.
type ReplicasResult struct {
	Replicas []ReplicaRow `json:"replicas"`

	endpoint string
}

// Summary is one line per replica.
func (r ReplicasResult) Summary() string {
	if len(r.Replicas) == 0 {
		return fmt.Sprintf("%s has no replicas (paused, scaled to zero or not scheduled yet)", r.endpoint)
	}
	lines := []string{fmt.Sprintf("%d replica(s) of %s:", len(r.Replicas), r.endpoint)}
	for _, rep := range r.Replicas {
		line := fmt.Sprintf("- %s %s", rep.ID, rep.State)
		if rep.StartedAt != "" {
			line += ", started " + rep.StartedAt
		}
		line += fmt.Sprintf(", %d restart(s)", rep.Restarts)
		if rep.Message != "" {
			line += ": " + rep.Message
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

var listEndpointReplicas = Tool{
	Name:        "list_endpoint_replicas",
	Title:       "List endpoint replicas",
	Description: `An endpoint's replicas and their state. Example: {"endpoint_name": "my-gpt2"}`,
	Toolset:     EndpointsRead,
	Hints:       readHints,
	Handler: Handle(func(ctx context.Context, call *Call, in Target) (ReplicasResult, error) {
		reps, err := call.Client.Replicas(ctx, in.Namespace, in.EndpointName)
		if err != nil {
			return ReplicasResult{}, err
		}
		out := ReplicasResult{endpoint: in.EndpointName, Replicas: make([]ReplicaRow, 0, len(reps))}
		for _, r := range reps {
			row := ReplicaRow{ID: r.ID, State: r.State, Restarts: r.Restarts, Message: r.Message}
			if !r.StartedAt.IsZero() {
				row.StartedAt = r.StartedAt.UTC().Format(time.RFC3339)
			}
			out.Replicas = append(out.Replicas, row)
		}
		return out, nil
	}),
}
