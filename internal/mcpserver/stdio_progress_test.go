package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/tools"
)

// TestStdioWritesEveryProgressOfACallBeforeItsResult: over stdio, each call's progress
// notifications all reach the client before the call's result, however fast the call ends
// after its last one, with concurrent calls (string and number tokens) each getting their own;
// a call without a progress token is answered as before.
func TestStdioWritesEveryProgressOfACallBeforeItsResult(t *testing.T) {
	const steps = 40 // two calls' worth stays within the session's notification buffer
	report := testTool("report_test", func(_ context.Context, call *tools.Call, _ tools.NoArgs) (pingResult, error) {
		for i := range steps {
			call.Progress.Report(fmt.Sprintf("step %d", i+1))
		}
		return pingResult{}, nil
	})
	c := newRawStdioWith(t, stdioServerWith(t, nil, report))
	c.initialize()

	calls := map[string]string{`1`: `"first"`, `2`: `7`, `3`: ``} // request id → progress token (none for 3)
	for id, token := range calls {
		meta := ``
		if token != `` {
			meta = `,"_meta":{"progressToken":` + token + `}`
		}
		c.send(`{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"report_test","arguments":{}` + meta + `}}`)
	}
	progress := map[string]int{} // progress notifications read so far, by token
	for answered := 0; answered < len(calls); {
		msg := c.message()
		if string(msg["method"]) == `"notifications/progress"` {
			var params struct {
				Token json.RawMessage `json:"progressToken"`
			}
			require.NoError(t, json.Unmarshal(msg["params"], &params))
			progress[string(params.Token)]++
			continue
		}
		id := string(msg["id"])
		token, ok := calls[id]
		require.True(t, ok, "a message that is neither progress nor a call's result: %v", msg)
		require.NotNil(t, msg["result"], "call %s failed: %s", id, msg["error"])
		if token != `` {
			assert.Equal(t, steps, progress[token], "progress notifications of call %s read before its result", id)
		}
		answered++
	}
	assert.Len(t, progress, 2, "progress only for the calls that asked for it: %v", progress)
}
