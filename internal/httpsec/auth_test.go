package httpsec

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const secret = "s3cret-mcp-token-0123456789"

func TestRequireBearerStaticToken(t *testing.T) {
	h := &reached{}
	url := serve(t, RequireBearer(AuthOptions{Token: secret, PublicPaths: []string{"/healthz"}})(h))

	tests := []struct {
		name      string
		auth      string
		wantCode  int
		challenge string
	}{
		{"missing", "", 401, `Bearer realm="hf-endpoints-mcp"`},
		{"wrong", "Bearer nope", 401, `Bearer realm="hf-endpoints-mcp", error="invalid_token"`},
		{"prefix of token", "Bearer " + secret[:10], 401, `Bearer realm="hf-endpoints-mcp", error="invalid_token"`},
		{"token plus suffix", "Bearer " + secret + "x", 401, `Bearer realm="hf-endpoints-mcp", error="invalid_token"`},
		{"basic scheme", "Basic " + secret, 401, `Bearer realm="hf-endpoints-mcp"`},
		{"empty bearer", "Bearer ", 401, `Bearer realm="hf-endpoints-mcp"`},
		{"right", "Bearer " + secret, 200, ""},
		{"scheme case-insensitive", "bearer " + secret, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.n.Load()
			hdr := map[string]string{}
			if tt.auth != "" {
				hdr["Authorization"] = tt.auth
			}
			code, rh, body := do(t, http.MethodPost, url+"/mcp", nil, hdr)
			require.Equal(t, tt.wantCode, code)
			if tt.wantCode != 200 {
				assert.Equal(t, tt.challenge, rh.Get("WWW-Authenticate"))
				assert.Equal(t, "application/json", rh.Get("Content-Type"))
				msg := jsonError(t, body)
				assert.NotContains(t, msg, secret)
				assert.Equal(t, before, h.n.Load(), "handler must not run")
			}
		})
	}
	code, _, _ := do(t, http.MethodGet, url+"/healthz", nil, nil)
	assert.Equal(t, 200, code, "public path needs no token")
}

func TestRequireBearerValidatePassThrough(t *testing.T) {
	const good, bad, flaky = "hf_goodtoken", "hf_badtoken", "hf_hubdown"
	var calls atomic.Int32
	validate := func(ctx context.Context, tok string) (Grant, error) {
		calls.Add(1)
		switch tok {
		case good:
			return Grant{}, nil
		case flaky:
			return Grant{}, errors.New("whoami: connection refused")
		}
		return Grant{}, errors.Join(ErrInvalidToken, errors.New("whoami: 401"))
	}
	var seen atomic.Value
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := HFTokenFrom(r.Context())
		seen.Store(tok)
	})
	url := serve(t, RequireBearer(AuthOptions{Validate: validate, PassThrough: true})(h))

	code, rh, body := do(t, http.MethodPost, url+"/mcp", nil, map[string]string{"Authorization": "Bearer " + bad})
	require.Equal(t, 401, code, "a bad token is refused on the first (connect) request")
	assert.Contains(t, rh.Get("WWW-Authenticate"), `error="invalid_token"`)
	assert.NotContains(t, body, bad)

	code, _, body = do(t, http.MethodPost, url+"/mcp", nil, map[string]string{"Authorization": "Bearer " + flaky})
	require.Equal(t, 503, code, "validation that could not run is not the client's fault")
	assert.NotContains(t, body, flaky)

	calls.Store(0)
	for range 3 {
		code, _, _ = do(t, http.MethodPost, url+"/mcp", nil, map[string]string{"Authorization": "Bearer " + good})
		require.Equal(t, 200, code)
	}
	assert.Equal(t, int32(1), calls.Load(), "a validated token is cached")
	assert.Equal(t, good, seen.Load(), "pass-through stores the bearer as the HF token")
}

// TestNewTokensAreVerifiedAtABoundedRate: a burst of made-up tokens costs at
// most the bucket in Hub checks; the rest get 429 with Retry-After, and
// validated tokens are never limited. (One check per 20 s: the bucket holds
// one, which the first token uses.)
func TestNewTokensAreVerifiedAtABoundedRate(t *testing.T) {
	var calls atomic.Int32
	validate := func(_ context.Context, tok string) (Grant, error) {
		calls.Add(1)
		if tok == "hf_good" {
			return Grant{}, nil
		}
		return Grant{}, ErrInvalidToken
	}
	url := serve(t, RequireBearer(AuthOptions{Validate: validate, ValidateRate: 0.05, PassThrough: true})(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

	code, _, _ := do(t, http.MethodPost, url+"/mcp", nil, bearer("hf_good"))
	require.Equal(t, 200, code)
	for i := range 10 {
		code, h, body := do(t, http.MethodPost, url+"/mcp", nil, bearer(fmt.Sprintf("hf_madeup_%d", i)))
		require.Equal(t, http.StatusTooManyRequests, code, "made-up token %d", i)
		assert.NotEmpty(t, h.Get("Retry-After"))
		assert.Contains(t, body, "retry")
	}
	assert.Equal(t, int32(1), calls.Load(), "no Hub check beyond the bucket")
	code, _, _ = do(t, http.MethodPost, url+"/mcp", nil, bearer("hf_good"))
	assert.Equal(t, 200, code, "a validated token is not limited")
}

func TestRateLimiterRefills(t *testing.T) {
	now := time.Unix(0, 0)
	l := newRateLimiter(10, func() time.Time { return now })
	for range 20 {
		_, ok := l.take()
		require.True(t, ok, "the burst is twice the rate")
	}
	wait, ok := l.take()
	require.False(t, ok)
	assert.Equal(t, 100*time.Millisecond, wait)
	now = now.Add(250 * time.Millisecond)
	for range 2 {
		_, ok = l.take()
		assert.True(t, ok)
	}
	_, ok = l.take()
	assert.False(t, ok, "a quarter second refills two and a half tokens")
	now = now.Add(time.Hour)
	n := 0
	for ; n < 100; n++ {
		if _, ok := l.take(); !ok {
			break
		}
	}
	assert.Equal(t, 20, n, "an idle hour refills no more than the burst")
}

func TestRequireBearerNotConfiguredIsNoop(t *testing.T) {
	h := &reached{}
	code, _, _ := do(t, http.MethodGet, serve(t, RequireBearer(AuthOptions{})(h))+"/mcp", nil, nil)
	assert.Equal(t, 200, code)
}

func TestHFTokenContext(t *testing.T) {
	_, ok := HFTokenFrom(context.Background())
	assert.False(t, ok)
	tok, ok := HFTokenFrom(WithHFToken(context.Background(), "hf_x"))
	assert.True(t, ok)
	assert.Equal(t, "hf_x", tok)
	_, ok = HFTokenFrom(WithHFToken(context.Background(), ""))
	assert.False(t, ok, "an empty token is no token")
}

func TestRejectQueryTokens(t *testing.T) {
	h := &reached{}
	url := serve(t, RejectQueryTokens()(h))
	for _, q := range []string{"access_token=x", "token=x", "api_key=x", "TOKEN=x", "sessionId=1&hf_token=x", "apikey="} {
		t.Run(q, func(t *testing.T) {
			code, _, body := do(t, http.MethodGet, url+"/sse?"+q, nil, nil)
			require.Equal(t, 400, code)
			msg := jsonError(t, body)
			assert.Contains(t, msg, "Authorization: Bearer")
			assert.False(t, strings.Contains(msg, "=x"), "the value is not echoed")
		})
	}
	code, _, _ := do(t, http.MethodPost, url+"/message?sessionId=abc-123", nil, nil)
	assert.Equal(t, 200, code, "the SSE session id is not a credential")
	assert.Equal(t, int32(1), h.n.Load())
}
