package mcpserver

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/progress"
)

func TestTrackProgressDeliveryCountsModernProgressWrites(t *testing.T) {
	var seen *progress.Delivery
	h := trackProgressDelivery(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = progress.DeliveryFrom(r.Context())
		seen.Queued()
		seen.Queued()
		_, _ = w.Write([]byte(`event: message` + "\n" + `data: {"jsonrpc":"2.0","method":"notifications/message","params":{}}` + "\n\n"))
		assert.False(t, seen.Flush(r.Context(), time.Millisecond), "a log message is not a progress notification")
		_, _ = w.Write([]byte(`event: message` + "\n" + `data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}` + "\n\n"))
		_, _ = w.Write([]byte(`event: message` + "\n" + `data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":2}}` + "\n\n"))
		assert.True(t, seen.Flush(r.Context(), time.Hour))
		_, ok := w.(http.Flusher)
		assert.True(t, ok, "the response stays streamable")
	}))

	req := httptest.NewRequest(http.MethodPost, PathStreamable, strings.NewReader(`{}`))
	req.Header.Set(mcp.HeaderProtocolVersion, "2026-07-28")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.NotNil(t, seen, "a modern POST carries a Delivery")
	assert.Equal(t, 3, strings.Count(rec.Body.String(), "event: message"), "everything written reaches the response")

	for _, r := range []*http.Request{
		httptest.NewRequest(http.MethodPost, PathStreamable, strings.NewReader(`{}`)), // initialize-era: no header
		httptest.NewRequest(http.MethodGet, PathStreamable, nil),
	} {
		if r.Method == http.MethodGet {
			r.Header.Set(mcp.HeaderProtocolVersion, "2026-07-28")
		}
		seen = nil
		trackProgressDelivery(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			seen = progress.DeliveryFrom(r.Context())
		})).ServeHTTP(httptest.NewRecorder(), r)
		assert.Nil(t, seen, "%s %s: legacy requests and GET streams are left alone", r.Method, r.Header)
	}
}
