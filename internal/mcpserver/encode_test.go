package mcpserver

import (
	"encoding/json"
	"strings"
	"testing"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompactJSONTakesOnlyWhatJSONMarshalLeavesAsItIs(t *testing.T) {
	for _, tt := range []struct {
		in      string
		compact bool
	}{
		{`{"a":[1,-2.5e+10,0,"x",true,false,null,{}],"b":{"c":[]}}`, true},
		{`"é — \u003c\u2028 \"\\\/\b\f\n\r\t"`, true},
		{`0`, true},
		{`-0.0E-1`, true},
		{` {}`, false}, // whitespace, which compaction drops
		{`{"a": 1}`, false},
		{"[1,\n2]", false},
		{`"<"`, false}, // escaped by json.Marshal
		{`"a&b"`, false},
		{"\"\u2028\"", false},
		{"\"\u2029\"", false},
		{`{"a":1,}`, false}, // not JSON
		{`[1 2]`, false},
		{`01`, false},
		{`1.`, false},
		{`-`, false},
		{`1e`, false},
		{`"\u12g4"`, false},
		{`"\x"`, false},
		{"\"\x1f\"", false},
		{`"abc`, false},
		{`tru`, false},
		{`nulls`, false},
		{`{"a"}`, false},
		{`{1:2}`, false},
		{``, false},
		{`{}{}`, false},
		{strings.Repeat("[", maxCompactDepth+2) + strings.Repeat("]", maxCompactDepth+2), false}, // left to encoding/json
	} {
		assert.Equal(t, tt.compact, compactJSON([]byte(tt.in)), "%q", tt.in)
	}
}

// FuzzCompactJSON checks compactJSON against encoding/json: whatever it takes is written back
// unchanged by json.Marshal, and whatever json.Marshal writes (nested no deeper than it reads)
// it takes.
func FuzzCompactJSON(f *testing.F) {
	for _, seed := range []string{`{"endpoint":{"name":"x","n":[1,2.5,-3e2],"ok":true,"none":null}}`, `"a\u00e9\n"`,
		` [1, 2] `, `"<&>"`, "\"\u2028\"", `{"a":}`, `1e+5`, `-0`, `[[[[]]]]`, `"\ud800"`, "\"\xff\""} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		written, err := json.Marshal(json.RawMessage(b))
		if compactJSON(b) {
			require.NoError(t, err, "%q was taken for compact JSON", b)
			require.Equal(t, string(b), string(written), "%q was taken for compact JSON", b)
		}
		if err == nil && nesting(written) <= maxCompactDepth {
			require.True(t, compactJSON(written), "%q, as json.Marshal writes it, was not taken", written)
		}
	})
}

// nesting is how deeply the arrays and objects of the valid JSON b nest.
func nesting(b []byte) int {
	depth, most, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case !inString && (c == '[' || c == '{'):
			depth++
			most = max(most, depth)
		case !inString && (c == ']' || c == '}'):
			depth--
		}
	}
	return most
}

// BenchmarkEncodeToolResult: a get_endpoint result as the 2026-07-28 era sends it, encoded by
// encodeResponse and, for comparison, by mcp-go's CallToolResult.MarshalJSON alone.
//
//	go test -run '^$' -bench EncodeToolResult -benchmem ./internal/mcpserver/
func BenchmarkEncodeToolResult(b *testing.B) {
	structured := []byte(`{"endpoint":{"name":"load","state":"running","url":"http://127.0.0.1:1234/e/load","ready_replica":1,` +
		`"target_replica":1,"repository":"openai-community/gpt2","task":"text-generation","image":"huggingface","vendor":"aws",` +
		`"region":"us-east-1","accelerator":"cpu","instance_type":"intel-spr","instance_size":"x2","min_replica":0,"max_replica":1,` +
		`"scale_to_zero_timeout":15,"type":"protected","updated_at":"2026-12-06T08:00:00Z"}}`)
	meta := mcpgo.NewMetaFromMap(map[string]any{})
	meta.SetServerInfo(mcpgo.Implementation{Name: Name, Version: "dev", Title: "Hugging Face Inference Endpoints"})
	res := &mcpgo.CallToolResult{Result: mcpgo.Result{Meta: meta, ResultType: mcpgo.ResultTypeComplete},
		Content: []mcpgo.Content{mcpgo.NewTextContent("load: running — 1/1 replicas ready\nurl: http://127.0.0.1:1234/e/load\n" +
			"model: openai-community/gpt2 (text-generation)\nhardware: aws/us-east-1 cpu intel-spr x2, replicas 0–1")},
		RawStructuredContent: structured, StructuredContent: json.RawMessage(structured)}
	resp := mcpgo.NewJSONRPCResultResponse(mcpgo.NewRequestId(int64(3)), res)
	b.Run("encodeResponse", func(b *testing.B) {
		for b.Loop() {
			if _, err := encodeResponse(resp); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("mcp-go", func(b *testing.B) {
		for b.Loop() {
			if _, err := res.MarshalJSON(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
