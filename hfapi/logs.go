package hfapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// LogLine is one runtime log line of an endpoint's replica.
type LogLine struct {
	Time    time.Time // zero when the line carried none
	Level   string    // upper case (DEBUG, INFO, WARN, ERROR…); "" when the line carried none
	Replica string    // the replica id, <deployment>-<replica>
	Text    string
	// Extra holds the members of a JSON line that are not mapped above.
	Extra map[string]json.RawMessage
}

// LogQuery selects log lines. The service's own filters are unpublished, so only Replica is sent;
// the rest is applied to the lines received.
type LogQuery struct {
	Replica  string    // one replica (sent as ?replica=)
	Since    time.Time // lines at or after this time; lines without a time are kept
	Contains string    // substring of the text, case-insensitive
	MinLevel string    // DEBUG, INFO, WARN or ERROR: lines at that level or above (lines without one count as INFO)
	Tail     int       // the newest Tail lines (0: all)
}

// LogLevels are the levels LogQuery.MinLevel accepts, lowest first.
var LogLevels = []string{"DEBUG", "INFO", "WARN", "ERROR"}

// Logs returns an endpoint's runtime log lines (GET …/logs), oldest first, filtered by q. The
// body is read leniently (JSON array, object with a list, JSON lines or plain text); a body that is
// none of these (HTML, binary, broken JSON) is an error naming the HTTP status.
func (c *Client) Logs(ctx context.Context, namespace, name string, q LogQuery) ([]LogLine, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	ns, err := c.target(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	op := "logs of " + ns + "/" + name
	resp, err := c.send(ctx, request{op: op, method: http.MethodGet, url: c.logsURL(ns, name, "", q.Replica),
		header: http.Header{"Accept": {"application/json, application/x-ndjson;q=0.9, text/plain;q=0.8"}}})
	if err != nil {
		return nil, err
	}
	lines, err := decodeLogs(resp.header.Get("Content-Type"), resp.body)
	if err != nil {
		return nil, fmt.Errorf("%s: HTTP %d answer cannot be read as log lines: %w", op, resp.status, err)
	}
	return q.apply(lines), nil
}

// FollowLogs streams an endpoint's log lines (GET …/logs/sse) to fn as they arrive, filtered by q
// (Tail does not apply), until ctx ends, the stream closes or fn returns an error, which it returns.
func (c *Client) FollowLogs(ctx context.Context, namespace, name string, q LogQuery, fn func(LogLine) error) error {
	if err := q.validate(); err != nil {
		return err
	}
	ns, err := c.target(ctx, namespace, name)
	if err != nil {
		return err
	}
	op := "follow logs of " + ns + "/" + name
	resp, err := c.open(ctx, request{op: op, method: http.MethodGet, url: c.logsURL(ns, name, "sse", q.Replica),
		header: http.Header{"Accept": {"text/event-stream"}}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	q.Tail = 0
	err = eachEvent(resp.Body, c.scrub, func(data string) error {
		lines, err := decodeLogs("", []byte(data))
		if err != nil {
			return fmt.Errorf("%s: event cannot be read as a log line: %w", op, err)
		}
		for _, l := range q.apply(lines) {
			if err := fn(l); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (c *Client) logsURL(ns, name, sub, replica string) *url.URL {
	segs := []string{"endpoint", ns, name, "logs"}
	if sub != "" {
		segs = append(segs, sub)
	}
	u := endpointURL(c.api, segs...)
	if replica != "" {
		u.RawQuery = url.Values{"replica": {replica}}.Encode()
	}
	return u
}

func (q *LogQuery) validate() error {
	q.MinLevel = strings.ToUpper(strings.TrimSpace(q.MinLevel))
	if q.MinLevel == "WARNING" {
		q.MinLevel = "WARN"
	}
	if q.MinLevel != "" && !slices.Contains(LogLevels, q.MinLevel) {
		return &ValidationError{"level", fmt.Sprintf("%q is not a log level; use one of %s", q.MinLevel, strings.Join(LogLevels, ", "))}
	}
	if q.Tail < 0 {
		return &ValidationError{"tail", "must not be negative"}
	}
	return nil
}

// apply filters lines (already oldest first) and keeps the newest Tail.
func (q LogQuery) apply(lines []LogLine) []LogLine {
	min := slices.Index(LogLevels, q.MinLevel)
	needle := strings.ToLower(q.Contains)
	out := lines[:0]
	for _, l := range lines {
		switch {
		case !q.Since.IsZero() && !l.Time.IsZero() && l.Time.Before(q.Since):
		case needle != "" && !strings.Contains(strings.ToLower(l.Text), needle):
		case min > 0 && levelRank(l.Level) < min:
		default:
			out = append(out, l)
		}
	}
	if q.Tail > 0 && len(out) > q.Tail {
		out = out[len(out)-q.Tail:]
	}
	return out
}

// levelRank places a level among LogLevels; unknown and missing levels count as INFO, and
// FATAL/CRITICAL/PANIC as ERROR.
func levelRank(level string) int {
	switch level {
	case "TRACE", "DEBUG":
		return 0
	case "WARN", "WARNING":
		return 2
	case "ERROR", "FATAL", "CRITICAL", "PANIC":
		return 3
	}
	return 1
}

// decodeLogs reads a log body in any of the shapes a service might use, returning lines oldest
// first (lines are sorted by time when every line has one).
func decodeLogs(contentType string, body []byte) ([]LogLine, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, nil
	}
	if !utf8.Valid(body) || bytes.IndexByte(body, 0) >= 0 {
		return nil, fmt.Errorf("the body is binary, not text")
	}
	if looksLikeHTML(http.Header{"Content-Type": {contentType}}, string(body)) {
		return nil, fmt.Errorf("the body is an HTML page: %s", truncate(string(body), 120))
	}
	var lines []LogLine
	switch {
	case body[0] == '[' || body[0] == '{':
		var err error
		if lines, err = decodeJSONLogs(body); err != nil {
			return nil, err
		}
	case strings.Contains(contentType, "json"):
		return nil, fmt.Errorf("the body is declared %s but is not JSON: %s", contentType, truncate(string(body), 120))
	default:
		for _, s := range strings.Split(string(body), "\n") {
			if s = strings.TrimRight(s, "\r"); strings.TrimSpace(s) != "" {
				lines = append(lines, parseTextLine(s))
			}
		}
	}
	sortLogLines(lines)
	return lines, nil
}

// decodeJSONLogs reads a JSON array, an object holding the list, a single line object, or JSON lines.
func decodeJSONLogs(body []byte) ([]LogLine, error) {
	if json.Valid(body) {
		list, _ := listIn(body, "logs", "items", "lines", "entries", "data", "results", "records")
		if list == nil && body[0] == '{' {
			list = []json.RawMessage{body}
		}
		return logLines(list)
	}
	var list []json.RawMessage
	for i, s := range bytes.Split(body, []byte("\n")) {
		if s = bytes.TrimSpace(s); len(s) == 0 {
			continue
		}
		if !json.Valid(s) {
			return nil, fmt.Errorf("line %d is not JSON: %s", i+1, truncate(string(s), 120))
		}
		list = append(list, s)
	}
	return logLines(list)
}

func logLines(list []json.RawMessage) ([]LogLine, error) {
	out := make([]LogLine, 0, len(list))
	for _, raw := range list {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			out = append(out, parseTextLine(s))
			continue
		}
		var r record
		if err := json.Unmarshal(raw, &r); err != nil || r == nil {
			return nil, fmt.Errorf("a log entry is neither an object nor text: %s", truncate(string(raw), 120))
		}
		l := LogLine{
			Time:  r.time("timestamp", "time", "ts", "date", "datetime", "createdat"),
			Level: strings.ToUpper(r.text("level", "loglevel", "severity", "lvl")),
			Text:  r.text("message", "content", "text", "msg", "log", "line"),
		}
		l.Replica = joinReplicaID(r.text("deploymentid", "deployment"), r.text("replica", "replicaid", "pod", "podname", "instance"))
		l.Extra = r.rest()
		out = append(out, l)
	}
	return out, nil
}

// joinReplicaID gives the UI's <deployment>-<replica> form when the two come apart.
func joinReplicaID(deployment, replica string) string {
	if deployment == "" || replica == "" || strings.HasPrefix(replica, deployment+"-") {
		return replica
	}
	return deployment + "-" + replica
}

// textLine is "[time] [level[:]] text", each part optional.
var textLine = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\s*(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)?\s*(?:\[?(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|CRITICAL)\]?:?\s)?\s*(.*)$`)
})

// parseTextLine reads a plain-text log line, finding a leading timestamp and level when present.
func parseTextLine(s string) LogLine {
	m := textLine().FindStringSubmatch(s)
	if m == nil {
		return LogLine{Text: s}
	}
	l := LogLine{Level: m[2], Text: m[3]}
	if m[1] != "" {
		raw, _ := json.Marshal(m[1])
		var ok bool
		if l.Time, ok = parseLenientTime(raw); !ok {
			return LogLine{Text: s} // a time we cannot read stays in the text
		}
	}
	if l.Time.IsZero() && l.Level == "" {
		l.Text = s
	}
	return l
}

// sortLogLines puts lines in time order when every line has a time (a stable sort keeps the order
// of lines sharing one); otherwise the service's order is kept.
func sortLogLines(lines []LogLine) {
	for _, l := range lines {
		if l.Time.IsZero() {
			return
		}
	}
	slices.SortStableFunc(lines, func(a, b LogLine) int { return a.Time.Compare(b.Time) })
}
