package mcpserver

import (
	"bytes"
	"encoding/json"
)

// The transports look at a few top-level members of every message before
// mcp-go reads it (the id, the method). Decoding the whole message with
// encoding/json for that costs more than the rest of their work together, and
// a 2026-07-28 request carries a _meta object that makes it dearer still, so
// peekMembers scans the top level once, skipping values it is not asked for.
//
// It reads the message as encoding/json would (keys matched without regard to
// ASCII case, the last of duplicate keys wins) or not at all: a key with an
// escape or a non-ASCII byte, where encoding/json's matching is subtler, makes
// it give up, and the caller decodes the message with encoding/json instead.
// It checks only the structure it walks; whether the message is valid JSON is
// for mcp-go to find out, as before.

// peekMembers returns the raw values of the top-level members of msg named in
// names (nil for one that is absent), and false if msg is not a JSON object
// it could read that way.
func peekMembers(msg []byte, names ...string) ([][]byte, bool) {
	return scanMembers(msg, names, false)
}

// peekExact is peekMembers for a reader that must not guess: it gives up
// (false) when a key matches a name only without regard to case, or when a
// name occurs twice. What it returns is then what encoding/json reads into a
// struct field and into a map key alike.
func peekExact(msg []byte, names ...string) ([][]byte, bool) {
	return scanMembers(msg, names, true)
}

func scanMembers(msg []byte, names []string, exact bool) ([][]byte, bool) {
	values := make([][]byte, len(names))
	i := skipSpace(msg, 0)
	if i >= len(msg) || msg[i] != '{' {
		return nil, false
	}
	i = skipSpace(msg, i+1)
	if i < len(msg) && msg[i] == '}' {
		return values, true
	}
	for {
		if i >= len(msg) || msg[i] != '"' {
			return nil, false
		}
		end := skipString(msg, i)
		if end < 0 {
			return nil, false
		}
		key := msg[i+1 : end-1]
		if !plainASCII(key) {
			return nil, false
		}
		i = skipSpace(msg, end)
		if i >= len(msg) || msg[i] != ':' {
			return nil, false
		}
		start := skipSpace(msg, i+1)
		end = skipValue(msg, start)
		if end < 0 {
			return nil, false
		}
		for n, name := range names {
			if !bytes.EqualFold(key, []byte(name)) {
				continue
			}
			if exact && (values[n] != nil || string(key) != name) {
				return nil, false
			}
			values[n] = msg[start:end]
		}
		i = skipSpace(msg, end)
		if i >= len(msg) {
			return nil, false
		}
		switch msg[i] {
		case ',':
			i = skipSpace(msg, i+1)
		case '}':
			return values, true
		default:
			return nil, false
		}
	}
}

// peekMethod returns msg's top-level "method" ("" when it has none) when it
// can read it: a plain string (ASCII, no escapes). False means the caller must
// decode msg.
func peekMethod(msg []byte) (string, bool) {
	v, ok := peekMembers(msg, "method")
	if !ok {
		return "", false
	}
	switch raw := v[0]; {
	case raw == nil:
		return "", true
	case len(raw) < 2 || raw[0] != '"' || !plainASCII(raw):
		return "", false
	default:
		return string(raw[1 : len(raw)-1]), true
	}
}

// messageMethod is msg's method: peeked when it can be, else decoded; "" when
// msg has none or is not a JSON-RPC message.
func messageMethod(msg []byte) string {
	if method, ok := peekMethod(msg); ok {
		return method
	}
	var head struct {
		Method string `json:"method"`
	}
	_ = json.Unmarshal(msg, &head)
	return head.Method
}

// plainASCII reports whether b has neither escapes nor non-ASCII bytes, and so
// reads the same to encoding/json (which unescapes, and replaces invalid UTF-8).
func plainASCII(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the JSON string starting at b[i]
// (a '"'), or -1 if it does not end.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index just past the JSON value starting at b[i], or
// -1 if there is none. Literals and numbers are taken as the run of bytes up
// to the next delimiter; their validity is left to the decoder that reads them.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				end := skipString(b, i)
				if end < 0 {
					return -1
				}
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	case '}', ']', ',', ':':
		return -1
	}
	start := i
loop:
	for ; i < len(b); i++ {
		switch b[i] {
		case ' ', '\t', '\r', '\n', ',', '}', ']', ':':
			break loop
		}
	}
	if i == start {
		return -1
	}
	return i
}
