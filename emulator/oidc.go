package emulator

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// The OpenID Connect side of the authorization server, as the Hub has it: discovery at
// /.well-known/openid-configuration, ID tokens (RS256) with the openid scope, their keys at /oauth/jwks,
// and /oauth/userinfo for an OAuth access token.

// OpenID Connect paths, as on the Hub.
const (
	OpenIDConfigurationPath = "/.well-known/openid-configuration"
	OAuthJWKSPath           = "/oauth/jwks"
	OAuthUserinfoPath       = "/oauth/userinfo"
)

// idKeyID names the emulator's one signing key in JWKS and in ID token headers.
const idKeyID = "emulator-1"

// idSigner holds the RSA key of ID tokens, made on first use: most runs never sign one.
type idSigner struct {
	once sync.Once
	key  *rsa.PrivateKey
	err  error
}

func (s *idSigner) get() (*rsa.PrivateKey, error) {
	s.once.Do(func() { s.key, s.err = rsa.GenerateKey(rand.Reader, 2048) })
	return s.key, s.err
}

func (e *Emulator) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	iss := baseURL(r)
	md := authServerMetadata(iss)
	md["jwks_uri"] = iss + OAuthJWKSPath
	md["userinfo_endpoint"] = iss + OAuthUserinfoPath
	md["subject_types_supported"] = []string{"public"}
	md["id_token_signing_alg_values_supported"] = []string{"RS256"}
	md["claims_supported"] = []string{"sub", "name", "preferred_username", "profile", "picture", "email", "email_verified", "nonce"}
	writeJSON(w, http.StatusOK, md)
}

func (e *Emulator) jwks(w http.ResponseWriter, _ *http.Request) {
	key, err := e.oauth.signer.get()
	if err != nil {
		apiError(w, http.StatusInternalServerError, "the emulator could not make its signing key: "+err.Error())
		return
	}
	b64 := base64.RawURLEncoding.EncodeToString
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": idKeyID,
		"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
	}}})
}

// userClaims are the claims about g's user that its scopes allow.
func userClaims(iss string, g *oauthGrant) map[string]any {
	c := map[string]any{"sub": g.user.id}
	scopes := strings.Fields(g.scope)
	if slices.Contains(scopes, "profile") {
		c["name"], c["preferred_username"] = g.user.name, g.user.name
		c["profile"], c["picture"] = iss+"/"+g.user.name, ""
	}
	if slices.Contains(scopes, "email") {
		c["email"], c["email_verified"] = g.user.name+"@emulator.invalid", true
	}
	return c
}

// userinfo answers OpenID Connect userinfo for an OAuth access token.
func (e *Emulator) userinfo(w http.ResponseWriter, r *http.Request) {
	g := e.oauth.accessGrant(bearer(r))
	if g == nil || !slices.Contains(strings.Fields(g.scope), "openid") {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		apiError(w, http.StatusUnauthorized, "userinfo needs an unexpired OAuth access token granted the openid scope")
		return
	}
	writeJSON(w, http.StatusOK, userClaims(baseURL(r), g))
}

// idToken signs the ID token of g for its client.
func (o *oauthServer) idToken(iss string, g *oauthGrant, nonce string, now time.Time) (string, error) {
	key, err := o.signer.get()
	if err != nil {
		return "", fmt.Errorf("the emulator could not make its signing key: %w", err)
	}
	claims := userClaims(iss, g)
	claims["iss"], claims["aud"] = iss, g.client
	claims["iat"], claims["exp"] = now.Unix(), g.exp.Unix()
	if nonce != "" {
		claims["nonce"] = nonce
	}
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": idKeyID})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	signing := b64(header) + "." + b64(payload)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + b64(sig), nil
}
