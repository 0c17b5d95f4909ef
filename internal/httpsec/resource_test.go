package httpsec

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testResource = &ProtectedResource{
	AuthorizationServers: []string{"https://huggingface.co"},
	Scopes:               []string{"openid", "inference-api"},
	Paths:                []string{"/mcp", "/sse"},
	Name:                 "test server",
}

// challengeParams parses a WWW-Authenticate header the way the official Go SDK's OAuth client does.
func challengeParams(t *testing.T, h http.Header) map[string]string {
	t.Helper()
	cs, err := oauthex.ParseWWWAuthenticate(h.Values("WWW-Authenticate"))
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.Equal(t, "bearer", cs[0].Scheme)
	return cs[0].Params
}

func TestProtectedResourceMetadata(t *testing.T) {
	url := serve(t, RequireBearer(AuthOptions{Token: strings.Repeat("s", 32), Resource: testResource})(&reached{}))
	for _, tc := range []struct{ path, resource string }{
		{ResourceMetadataPath, url},
		{ResourceMetadataPath + "/mcp", url + "/mcp"},
		{ResourceMetadataPath + "/sse", url + "/sse"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			code, h, body := do(t, http.MethodGet, url+tc.path, nil, nil)
			require.Equal(t, http.StatusOK, code, "metadata needs no token")
			assert.Equal(t, "application/json", h.Get("Content-Type"))
			var md oauthex.ProtectedResourceMetadata
			require.NoError(t, json.Unmarshal([]byte(body), &md))
			assert.Equal(t, tc.resource, md.Resource)
			assert.Equal(t, []string{"https://huggingface.co"}, md.AuthorizationServers)
			assert.Equal(t, []string{"openid", "inference-api"}, md.ScopesSupported)
			assert.Equal(t, []string{"header"}, md.BearerMethodsSupported)
			assert.Equal(t, "test server", md.ResourceName)
		})
	}
	code, _, _ := do(t, http.MethodGet, url+ResourceMetadataPath+"/other", nil, nil)
	assert.Equal(t, http.StatusUnauthorized, code, "only the resource paths have documents; the rest stays protected")
	code, h, _ := do(t, http.MethodPost, url+ResourceMetadataPath, nil, nil)
	assert.Equal(t, http.StatusMethodNotAllowed, code)
	assert.Equal(t, "GET, HEAD", h.Get("Allow"))

	_, _, body := do(t, http.MethodGet, url+ResourceMetadataPath+"/mcp", nil, map[string]string{"X-Forwarded-Proto": "https"})
	assert.Contains(t, body, `"resource":"https://`, "behind a TLS proxy the resource is https")
}

func TestChallengesNameTheResourceMetadata(t *testing.T) {
	validate := func(_ context.Context, tok string) (Grant, error) {
		switch tok {
		case "hf_narrow":
			return Grant{Scopes: []string{"openid"}}, nil
		case "hf_wide":
			return Grant{Scopes: []string{"openid", "profile", "inference-api"}}, nil
		case "hf_unknown_scopes":
			return Grant{}, nil
		}
		return Grant{}, ErrInvalidToken
	}
	url := serve(t, RequireBearer(AuthOptions{Validate: validate, PassThrough: true, Resource: testResource})(&reached{}))
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

	for _, tc := range []struct {
		name, path string
		hdr        map[string]string
		status     int
		err        string
		metadata   string
	}{
		{"missing token on /mcp", "/mcp", nil, 401, "", ResourceMetadataPath + "/mcp"},
		{"missing token on /sse", "/sse", nil, 401, "", ResourceMetadataPath + "/sse"},
		{"missing token on /message", "/message?sessionId=x", nil, 401, "", ResourceMetadataPath},
		{"forged token", "/mcp", bearer("hf_forged"), 401, "invalid_token", ResourceMetadataPath + "/mcp"},
		{"narrow token", "/mcp", bearer("hf_narrow"), 403, "insufficient_scope", ResourceMetadataPath + "/mcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, h, body := do(t, http.MethodPost, url+tc.path, nil, tc.hdr)
			require.Equal(t, tc.status, code, body)
			p := challengeParams(t, h)
			assert.Equal(t, tc.err, p["error"])
			assert.Equal(t, url+tc.metadata, p["resource_metadata"])
			assert.Equal(t, "openid inference-api", p["scope"])
			assert.NotEmpty(t, jsonError(t, body))
		})
	}
	for _, tok := range []string{"hf_wide", "hf_unknown_scopes"} {
		code, _, _ := do(t, http.MethodPost, url+"/mcp", nil, bearer(tok))
		assert.Equal(t, http.StatusOK, code, "%s: enough scopes, or scopes the issuer does not report", tok)
	}
}

// TestValidationIsNotTrustedPastTheTokensExpiry: a grant's expiry bounds the cache, so an expired token
// is checked again rather than trusted for the rest of the TTL.
func TestValidationIsNotTrustedPastTheTokensExpiry(t *testing.T) {
	var calls atomic.Int32
	validate := func(_ context.Context, tok string) (Grant, error) {
		calls.Add(1)
		if tok == "hf_expiring" {
			return Grant{Expires: time.Now().Add(-time.Second)}, nil
		}
		return Grant{Expires: time.Now().Add(time.Hour)}, nil
	}
	url := serve(t, RequireBearer(AuthOptions{Validate: validate, PassThrough: true})(&reached{}))
	for _, tc := range []struct {
		tok   string
		calls int32
	}{{"hf_lasting", 1}, {"hf_expiring", 3}} {
		calls.Store(0)
		for range 3 {
			code, _, _ := do(t, http.MethodPost, url+"/mcp", nil, map[string]string{"Authorization": "Bearer " + tc.tok})
			require.Equal(t, http.StatusOK, code)
		}
		assert.Equal(t, tc.calls, calls.Load(), tc.tok)
	}
}

func TestResourceMetadataKeepsTheHostAllowlist(t *testing.T) {
	base := startSecured(t, &reached{}, Config{
		Auth:   AuthOptions{Token: strings.Repeat("s", 32), Resource: testResource},
		Logger: slog.New(slog.DiscardHandler),
	})
	code, _, _ := do(t, http.MethodGet, base+ResourceMetadataPath+"/mcp", nil, nil)
	require.Equal(t, http.StatusOK, code)
	code, _, body := do(t, http.MethodGet, base+ResourceMetadataPath+"/mcp", nil, map[string]string{"Host": "evil.example:80"})
	assert.NotEqual(t, http.StatusOK, code, "the resource URL comes from Host, so Host must be allowed")
	assert.NotContains(t, body, "evil.example")
}

// TestRequestsCarryTheTokensSubject: two tokens of one subject (say, before and after a refresh) name
// the same caller, on the first request and on cached ones.
func TestRequestsCarryTheTokensSubject(t *testing.T) {
	validate := func(_ context.Context, tok string) (Grant, error) {
		if strings.HasPrefix(tok, "hf_alice") {
			return Grant{Subject: "hf-user:alice-id", Name: "alice"}, nil
		}
		return Grant{}, nil
	}
	var seen, named atomic.Value
	h := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		s, _ := CallerFrom(r.Context())
		seen.Store(s)
		n, _ := CallerNameFrom(r.Context())
		named.Store(n)
	})
	url := serve(t, RequireBearer(AuthOptions{Validate: validate, PassThrough: true})(h))
	for _, tc := range []struct{ tok, subject, name string }{
		{"hf_alice_1", "hf-user:alice-id", "alice"}, {"hf_alice_1", "hf-user:alice-id", "alice"},
		{"hf_alice_2", "hf-user:alice-id", "alice"}, {"hf_anonymous", "", ""},
	} {
		code, _, _ := do(t, http.MethodPost, url+"/mcp", nil, map[string]string{"Authorization": "Bearer " + tc.tok})
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, tc.subject, seen.Load(), tc.tok)
		assert.Equal(t, tc.name, named.Load(), tc.tok)
	}
}
