package mcpserver

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCorrectErrorCodesChangesOnlyMarkedErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"resource not found: x"}}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32002,"message":"resource not found: x"}}`},
		{`{"jsonrpc":"2.0","id":2,"error":{"code":-32603,"message":"invalid params: resource not found: x"}}`,
			`{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"invalid params: resource not found: x"}}`},
		{"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32603,\"message\":\"invalid params: prompt p\"}}\n\n",
			"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32602,\"message\":\"invalid params: prompt p\"}}\n\n"},
		// A server fault stays one, and text that merely quotes a mark inside a result is untouched.
		{`{"jsonrpc":"2.0","id":4,"error":{"code":-32603,"message":"panic recovered"}}`,
			`{"jsonrpc":"2.0","id":4,"error":{"code":-32603,"message":"panic recovered"}}`},
		{`{"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"\"error\":{\"code\":-32603,\"message\":\"resource not found"}]}}`,
			`{"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"\"error\":{\"code\":-32603,\"message\":\"resource not found"}]}}`},
		{``, ``},
	} {
		in := []byte(tc.in)
		got := correctErrorCodes(in)
		assert.Equal(t, tc.want, string(got))
		assert.Equal(t, tc.in, string(in), "the caller's buffer is never changed")
	}
}
