package mcpserver

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var peekSeeds = []string{
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_endpoint","arguments":{"endpoint_name":"x"}}}`,
	`{"jsonrpc":"2.0","id":"a\"b","method":"initialize","params":{"protocolVersion":"2025-11-25"}}`,
	`  { "ID" : 18446744073709551617 , "Method" : "ping" }  `,
	`{"id":1,"id":2,"method":"a","METHOD":"b"}`,
	`{"method":"notifications/initialized"}`,
	`{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"}]{["}]}}`,
	`{"id":[1,{"x":"]"}],"method":null}`,
	`{"\u006dethod":"initialize"}`,
	`{"méthod":"initialize","method":"ping"}`,
	`{"method":"init\u0069alize"}`,
	`{}`,
	`[]`,
	`{"id":1,}`,
	`{"id" 1}`,
	`{"id":-1.5e3,"method":"x"}`,
	`{"a":"\\","id":true}`,
	`{"params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}},"id":0,"method":"tools/list"}`,
	`"method"`,
	``,
}

func TestPeekReadsTheTopLevelAsEncodingJSONDoes(t *testing.T) {
	cases := []struct {
		msg, id, method string
		ok              bool
	}{
		{msg: peekSeeds[0], id: `1`, method: "tools/call", ok: true},
		{msg: peekSeeds[2], id: `18446744073709551617`, method: "ping", ok: true},
		{msg: peekSeeds[3], id: `2`, method: "b", ok: true},
		{msg: peekSeeds[5], id: `7`, ok: true},
		{msg: peekSeeds[7], ok: false},  // an escaped key: decoded instead
		{msg: peekSeeds[8], ok: false},  // a non-ASCII key: decoded instead
		{msg: peekSeeds[12], ok: false}, // a trailing comma
		{msg: peekSeeds[13], ok: false}, // no colon
		{msg: peekSeeds[17], ok: false}, // not an object
		{msg: `{"method":"ping"}`, method: "ping", ok: true},
	}
	for _, c := range cases {
		v, ok := peekMembers([]byte(c.msg), "id", "method")
		require.Equal(t, c.ok, ok, c.msg)
		if !ok {
			continue
		}
		assert.Equal(t, c.id, string(v[0]), c.msg)
		method, _ := peekMethod([]byte(c.msg))
		assert.Equal(t, c.method, method, c.msg)
	}
	assert.Equal(t, "initialize", messageMethod([]byte(peekSeeds[7])), "an escaped key is decoded")
	assert.Equal(t, "initialize", messageMethod([]byte(peekSeeds[9])), "an escaped method is decoded")
}

// FuzzPeekAgreesWithEncodingJSON: whenever peekMembers reads a valid message,
// it finds the id and method encoding/json finds (and so mcp-go).
func FuzzPeekAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range peekSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		v, ok := peekMembers(msg, "id", "method")
		method := messageMethod(msg) // never panics, whatever msg is
		if !ok || !json.Valid(msg) {
			return
		}
		var want struct {
			ID     json.RawMessage `json:"id"`
			Method json.RawMessage `json:"method"`
		}
		if json.Unmarshal(msg, &want) != nil {
			return // valid JSON but not an object
		}
		if !bytes.Equal(v[0], want.ID) {
			t.Fatalf("id: peeked %q, encoding/json %q in %q", v[0], want.ID, msg)
		}
		var wantMethod string
		if json.Unmarshal(want.Method, &wantMethod) == nil && method != wantMethod {
			t.Fatalf("method: %q, encoding/json %q in %q", method, wantMethod, msg)
		}
		// peekExact reads what encoding/json reads into a struct field and a map key alike.
		exact, ok := peekExact(msg, "id", "method")
		var asMap map[string]json.RawMessage
		if !ok || json.Unmarshal(msg, &asMap) != nil {
			return
		}
		for i, name := range []string{"id", "method"} {
			field := [][]byte{want.ID, want.Method}[i]
			if !bytes.Equal(exact[i], field) || !bytes.Equal(exact[i], asMap[name]) {
				t.Fatalf("%s: peekExact %q, struct %q, map %q in %q", name, exact[i], field, asMap[name], msg)
			}
		}
	})
}
