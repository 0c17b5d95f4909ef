package emulator

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// verifyIDToken checks an ID token's RS256 signature against the emulator's JWKS and returns its claims.
func verifyIDToken(t *testing.T, s *Server, token string) map[string]any {
	t.Helper()
	resp, body := newClient(t, s, "").do("GET", OAuthJWKSPath, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var set struct {
		Keys []struct{ Kty, Kid, Alg, N, E string }
	}
	require.NoError(t, json.Unmarshal(body, &set))
	require.Len(t, set.Keys, 1)
	k := set.Keys[0]
	require.Equal(t, "RSA", k.Kty)
	n, err := base64.RawURLEncoding.DecodeString(k.N)
	require.NoError(t, err)
	e, err := base64.RawURLEncoding.DecodeString(k.E)
	require.NoError(t, err)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}

	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	var header map[string]string
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &header))
	assert.Equal(t, "RS256", header["alg"])
	assert.Equal(t, k.Kid, header["kid"])
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	require.NoError(t, err)
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	require.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig), "the signature verifies with the published key")
	raw, err = base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(raw, &claims))
	return claims
}

func TestOpenIDConnect(t *testing.T) {
	s := start(t, Options{User: "alice"})
	resp, body := newClient(t, s, "").do("GET", OpenIDConfigurationPath, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var md map[string]any
	require.NoError(t, json.Unmarshal(body, &md))
	assert.Equal(t, s.URL, md["issuer"])
	assert.Equal(t, s.URL+OAuthJWKSPath, md["jwks_uri"])
	assert.Equal(t, s.URL+OAuthUserinfoPath, md["userinfo_endpoint"])
	assert.Equal(t, []any{"RS256"}, md["id_token_signing_alg_values_supported"])
	assert.Equal(t, s.URL+OAuthTokenPath, md["token_endpoint"], "the same server as the OAuth metadata")

	f := newOAuthFlow(t, s, nil)
	status, q := f.authorize(map[string]string{"nonce": "n-0S6_WzA2Mj", "scope": "openid profile email"})
	require.Equal(t, http.StatusFound, status)
	status, tok := f.exchange(q.Get("code"))
	require.Equal(t, http.StatusOK, status, tok)
	id, _ := tok["id_token"].(string)
	require.NotEmpty(t, id, "the openid scope gets an ID token")
	claims := verifyIDToken(t, s, id)
	assert.Equal(t, s.URL, claims["iss"])
	assert.Equal(t, f.clientID, claims["aud"])
	assert.Equal(t, hubID("user", "alice"), claims["sub"])
	assert.Equal(t, "n-0S6_WzA2Mj", claims["nonce"])
	assert.Equal(t, "alice", claims["preferred_username"])
	assert.Equal(t, "alice@emulator.invalid", claims["email"])
	assert.Greater(t, claims["exp"], claims["iat"])

	resp, body = newClient(t, s, tok["access_token"].(string)).do("GET", OAuthUserinfoPath, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var info map[string]any
	require.NoError(t, json.Unmarshal(body, &info))
	assert.Equal(t, claims["sub"], info["sub"])
	assert.Equal(t, "alice", info["name"])

	for _, bad := range []string{DefaultToken, "hf_oauth_forged", ""} {
		resp, _ = newClient(t, s, bad).do("GET", OAuthUserinfoPath, nil)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "userinfo is for OAuth access tokens: %q", bad)
		assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "invalid_token")
	}

	status, q = f.authorize(map[string]string{"scope": "inference-api"})
	require.Equal(t, http.StatusFound, status)
	status, tok = f.exchange(q.Get("code"))
	require.Equal(t, http.StatusOK, status, tok)
	assert.NotContains(t, tok, "id_token", "no openid scope, no ID token")
	resp, _ = newClient(t, s, tok["access_token"].(string)).do("GET", OAuthUserinfoPath, nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}
