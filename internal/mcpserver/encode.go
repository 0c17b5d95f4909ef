package mcpserver

import (
	"encoding/json"

	"github.com/mark3labs/mcp-go/mcp"
)

// A tool result is most of what a call costs to encode, and most of that is encoding/json
// checking bytes that need no checking: mcp-go v1.2.1's CallToolResult.MarshalJSON puts the
// members in a map and has json.Marshal encode it, which compacts the raw structured content
// (the tool's own json.Marshal output, already compact) and the _meta object's own encoding,
// scanning them byte by byte, slower than anything else it does. appendToolResult writes the
// same bytes without the map, and copies those two as they are when they are already what that
// compaction would leave (compactJSON).
// TestEncodeResponseWritesWhatJSONMarshalWrites compares it with mcp-go's MarshalJSON: when
// that changes (a member added or renamed), so must this.

// appendToolResult appends what r.MarshalJSON writes to line.
func appendToolResult(line []byte, r *mcp.CallToolResult) ([]byte, error) {
	line = append(line, '{')
	var err error
	member := func(name string, v any) {
		if err != nil {
			return
		}
		var raw []byte
		if raw, err = json.Marshal(v); err == nil {
			line = appendMember(line, name, raw)
		}
	}
	// In the order of their names, as encoding/json writes a map's members.
	if r.Meta != nil {
		if meta, metaErr := r.Meta.MarshalJSON(); metaErr == nil && compactJSON(meta) {
			line = appendMember(line, "_meta", meta) // as json.Marshal would leave it
		} else {
			member("_meta", r.Meta)
		}
	}
	content := make([]any, len(r.Content)) // as MarshalJSON has it: never null, an empty list
	for i, c := range r.Content {
		content[i] = c
	}
	member("content", content)
	if len(r.InputRequests) > 0 {
		member("inputRequests", r.InputRequests)
	}
	if r.IsError {
		member("isError", true)
	}
	if r.RequestState != "" {
		member("requestState", r.RequestState)
	}
	if r.ResultType != "" {
		member("resultType", r.ResultType)
	}
	switch raw := r.RawStructuredContent; {
	case len(raw) > 0 && compactJSON(raw):
		line = appendMember(line, "structuredContent", raw)
	case len(raw) > 0:
		member("structuredContent", json.RawMessage(raw))
	case r.StructuredContent != nil:
		member("structuredContent", r.StructuredContent)
	}
	if err != nil {
		return nil, err
	}
	return append(line, '}'), nil
}

// appendMember appends `"name":value` to an object being written, after a comma unless it is
// the first member. name needs no escaping.
func appendMember(line []byte, name string, value []byte) []byte {
	if line[len(line)-1] != '{' {
		line = append(line, ',')
	}
	line = append(append(append(line, '"'), name...), `":`...)
	return append(line, value...)
}

// maxCompactDepth is how deeply nested a value compactJSON reads; a deeper one is left to
// encoding/json.
const maxCompactDepth = 128

// compactJSON reports whether b is one JSON value exactly as json.Marshal(json.RawMessage(b))
// writes it: valid, without whitespace between tokens, and without the characters it escapes
// (<, >, &, U+2028, U+2029). It is never true of anything else; it may be false of such a value
// nested deeper than maxCompactDepth, and then the caller encodes it with encoding/json.
func compactJSON(b []byte) bool {
	c := compactChecker{b: b}
	return c.value(0) && c.i == len(b)
}

type compactChecker struct {
	b []byte
	i int // the next byte to read
}

func (c *compactChecker) value(depth int) bool {
	if c.i >= len(c.b) || depth > maxCompactDepth {
		return false
	}
	switch b := c.b[c.i]; {
	case b == '{':
		return c.members('}', depth, true)
	case b == '[':
		return c.members(']', depth, false)
	case b == '"':
		return c.string()
	case b == '-' || b >= '0' && b <= '9':
		return c.number()
	case b == 't':
		return c.literal("true")
	case b == 'f':
		return c.literal("false")
	case b == 'n':
		return c.literal("null")
	}
	return false
}

// members reads an object's members (named) or an array's elements, up to the closing byte.
func (c *compactChecker) members(closing byte, depth int, named bool) bool {
	c.i++
	if c.i < len(c.b) && c.b[c.i] == closing {
		c.i++
		return true
	}
	for {
		if named {
			if c.i >= len(c.b) || c.b[c.i] != '"' || !c.string() || c.i >= len(c.b) || c.b[c.i] != ':' {
				return false
			}
			c.i++
		}
		if !c.value(depth + 1) {
			return false
		}
		if c.i >= len(c.b) {
			return false
		}
		switch c.b[c.i] {
		case ',':
			c.i++
		case closing:
			c.i++
			return true
		default:
			return false
		}
	}
}

func (c *compactChecker) string() bool {
	b := c.b
	for i := c.i + 1; i < len(b); i++ {
		switch ch := b[i]; {
		case ch == '"':
			c.i = i + 1
			return true
		case ch == '\\':
			i++
			if i >= len(b) {
				return false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
					return false
				}
				i += 4
			default:
				return false
			}
		case ch < 0x20, ch == '<', ch == '>', ch == '&':
			return false
		case ch == 0xE2 && i+2 < len(b) && b[i+1] == 0x80 && b[i+2]&^1 == 0xA8: // U+2028, U+2029
			return false
		}
	}
	return false
}

func (c *compactChecker) number() bool {
	b, i := c.b, c.i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		start := i + 1
		if i = skipDigits(b, start); i == start {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		if i = skipDigits(b, start); i == start {
			return false
		}
	}
	c.i = i
	return true
}

func (c *compactChecker) literal(word string) bool {
	if len(c.b)-c.i < len(word) || string(c.b[c.i:c.i+len(word)]) != word {
		return false
	}
	c.i += len(word)
	return true
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

func isHex(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
}
