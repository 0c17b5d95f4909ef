package hfapi

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// The operations routes (logs, replicas, metric series; CONTRACT §9) have no published response
// shapes. What is here reads them leniently: a record is any JSON object, its members are matched by
// the names such APIs commonly use (case and separators ignored), and every member that was not
// matched is kept, so that nothing the service sends is lost.

// record is one decoded JSON object whose members are taken one by one.
type record map[string]json.RawMessage

// normKey folds a member name for matching: "startedAt", "started_at" and "Started-At" are equal.
func normKey(k string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', ' ', '@':
			return -1
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, k)
}

// take removes and returns the first member whose folded name is one of names.
func (r record) take(names ...string) (json.RawMessage, bool) {
	for _, want := range names {
		for k, v := range r {
			if normKey(k) == want {
				delete(r, k)
				return v, true
			}
		}
	}
	return nil, false
}

// text returns a member as text: strings as they are, numbers and other JSON as written, null as "".
func (r record) text(names ...string) string {
	raw, ok := r.take(names...)
	if !ok {
		return ""
	}
	return rawText(raw)
}

func rawText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if t := strings.TrimSpace(string(raw)); t != "null" {
		return t
	}
	return ""
}

// time returns a member as a time: RFC 3339 text, or a Unix time in seconds, milliseconds or
// nanoseconds (told apart by magnitude). Zero when absent or unreadable; the text is then kept in
// the record under its folded name, so it is not lost.
func (r record) time(names ...string) time.Time {
	raw, ok := r.take(names...)
	if !ok {
		return time.Time{}
	}
	if t, ok := parseLenientTime(raw); ok {
		return t
	}
	r[names[0]] = raw
	return time.Time{}
}

func parseLenientTime(raw json.RawMessage) (time.Time, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC(), true
			}
		}
		raw = json.RawMessage(s)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(string(raw)), 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) {
		return time.Time{}, false
	}
	return unixTime(f), true
}

// unixTime reads a Unix time given in seconds, milliseconds, microseconds or nanoseconds.
func unixTime(f float64) time.Time {
	switch {
	case f > 1e17:
		return time.Unix(0, int64(f)).UTC()
	case f > 1e14:
		return time.UnixMicro(int64(f)).UTC()
	case f > 1e11:
		return time.UnixMilli(int64(f)).UTC()
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// number returns a member as a number (JSON number or numeric text); ok is false when absent or
// unreadable (null, "NaN" or text).
func (r record) number(names ...string) (float64, bool) {
	raw, ok := r.take(names...)
	if !ok {
		return 0, false
	}
	return rawNumber(raw)
}

func rawNumber(raw json.RawMessage) (float64, bool) {
	if strings.TrimSpace(string(raw)) == "null" {
		return 0, false
	}
	var f float64
	if json.Unmarshal(raw, &f) == nil {
		return f, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, true
		}
	}
	return 0, false
}

// rest returns the members not taken, or nil.
func (r record) rest() map[string]json.RawMessage {
	if len(r) == 0 {
		return nil
	}
	return map[string]json.RawMessage(r)
}

// listIn finds the list of records in a body: a JSON array itself, or the first array member (at
// most two objects deep) named like one of names, e.g. {"items": […]} or {"data": {"result": […]}}.
// ok is false when the body is not JSON at all.
func listIn(body []byte, names ...string) ([]json.RawMessage, bool) {
	body = bytes.TrimSpace(body)
	var list []json.RawMessage
	if json.Unmarshal(body, &list) == nil {
		return list, true
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return nil, false
	}
	for depth := 0; depth < 3; depth++ {
		var next map[string]json.RawMessage
		for _, want := range names {
			for k, v := range obj {
				if normKey(k) != want {
					continue
				}
				if json.Unmarshal(v, &list) == nil {
					return list, true
				}
				if next == nil {
					_ = json.Unmarshal(v, &next)
				}
			}
		}
		if next == nil {
			break
		}
		obj = next
	}
	return nil, true
}
