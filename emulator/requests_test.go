package emulator

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRequestCountsByRoute(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, DefaultToken)
	for range 3 {
		resp, _ := c.do("GET", "/v2/endpoint/"+DefaultUser, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	resp, _ := c.do("GET", "/v2/endpoint/"+DefaultUser+"/missing", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = c.do("GET", "/api/whoami-v2", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// No token needed; reading the counts does not count.
	anon := newClient(t, s, "")
	for range 2 {
		resp, body := anon.do("GET", RequestsPath, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		var counts map[string]int64
		require.NoError(t, json.Unmarshal(body, &counts))
		assert.Equal(t, int64(3), counts["GET /v2/endpoint/{namespace}"])
		assert.Equal(t, int64(1), counts["GET /v2/endpoint/{namespace}/{name}"])
		assert.Equal(t, int64(1), counts["GET /api/whoami-v2"])
		assert.Equal(t, int64(0), counts["DELETE /v2/endpoint/{namespace}/{name}"])
		assert.Len(t, counts, len(s.Routes()), "every route is listed, unused ones with 0")
		assert.NotContains(t, counts, "GET "+RequestsPath)
	}
}
