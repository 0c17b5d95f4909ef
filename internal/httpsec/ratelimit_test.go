package httpsec

import (
	"crypto/sha256"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLimitRateRefusesACallerOverTheRate(t *testing.T) {
	h := &reached{}
	// One request per 100 s: the second of a caller is over the rate whatever the machine's speed.
	url := serve(t, Chain(h, LogRequests(slog.New(slog.DiscardHandler)), LimitRate(0.01)))
	alice := map[string]string{"Authorization": "Bearer alice-token-0123456789"}
	bob := map[string]string{"Authorization": "Bearer bob-token-0123456789"}

	code, _, _ := do(t, http.MethodPost, url+"/mcp", nil, alice)
	require.Equal(t, http.StatusOK, code)
	code, hdr, body := do(t, http.MethodPost, url+"/mcp", nil, alice)
	require.Equal(t, http.StatusTooManyRequests, code, body)
	assert.Equal(t, "100", hdr.Get("Retry-After"))
	assert.Contains(t, jsonError(t, body), "too many requests")

	code, _, _ = do(t, http.MethodPost, url+"/mcp", nil, bob)
	assert.Equal(t, http.StatusOK, code, "another bearer has a bucket of its own")
	code, _, _ = do(t, http.MethodPost, url+"/mcp", nil, nil)
	assert.Equal(t, http.StatusOK, code, "without a bearer, the caller is the IP address")
	code, _, _ = do(t, http.MethodPost, url+"/mcp", nil, nil)
	assert.Equal(t, http.StatusTooManyRequests, code)
	assert.Equal(t, int32(3), h.n.Load())
}

func TestLimitRateOff(t *testing.T) {
	h := &reached{}
	url := serve(t, LimitRate(-1)(h))
	for range 50 {
		code, _, _ := do(t, http.MethodGet, url, nil, nil)
		require.Equal(t, http.StatusOK, code)
	}
}

func TestCallerBucketsStayBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := &callerBuckets{rate: 1, now: func() time.Time { return now }, buckets: map[[sha256.Size]byte]*rateLimiter{}}
	for i := range 3 * maxRateCallers {
		_, ok := b.take(sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16)}))
		require.True(t, ok)
		now = now.Add(time.Millisecond)
	}
	assert.LessOrEqual(t, len(b.buckets), maxRateCallers)
	busy := sha256.Sum256([]byte("busy"))
	_, ok := b.take(busy)
	require.True(t, ok)
	_, ok = b.take(busy)
	require.True(t, ok)
	wait, ok := b.take(busy)
	require.False(t, ok, "a burst of twice the rate, then refusals")
	assert.Equal(t, time.Second, wait)
}
