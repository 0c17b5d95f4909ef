package emulator

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testRedirect = "http://127.0.0.1:33418/callback"

// oauthFlow drives the emulator's authorization server the way an OAuth 2.1 client does.
type oauthFlow struct {
	t        *testing.T
	s        *Server
	http     *http.Client // follows no redirects: the client reads them
	clientID string
	secret   string
	verifier string
}

func newOAuthFlow(t *testing.T, s *Server, reg map[string]any) *oauthFlow {
	t.Helper()
	f := &oauthFlow{t: t, s: s, verifier: strings.Repeat("v", 20) + "-verifier-of-43-chars-or-more",
		http: &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}}
	if reg == nil {
		reg = map[string]any{"redirect_uris": []string{testRedirect}, "token_endpoint_auth_method": "none",
			"grant_types": []string{"authorization_code", "refresh_token"}, "client_name": "test client"}
	}
	resp, body := newClient(t, s, "").do("POST", OAuthRegisterPath, reg)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	var out map[string]any
	require.NoError(t, json.Unmarshal(body, &out))
	f.clientID, _ = out["client_id"].(string)
	f.secret, _ = out["client_secret"].(string)
	require.NotEmpty(t, f.clientID)
	return f
}

func (f *oauthFlow) challenge() string {
	sum := sha256.Sum256([]byte(f.verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorize sends an authorization request with the given parameters on top of valid ones ("" removes
// one) and returns the status and, for a redirect, its query.
func (f *oauthFlow) authorize(override map[string]string) (int, url.Values) {
	f.t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {f.clientID}, "redirect_uri": {testRedirect},
		"state": {"st-123"}, "code_challenge": {f.challenge()}, "code_challenge_method": {"S256"},
		"scope": {"openid profile inference-api"}, "resource": {"http://127.0.0.1:8080/mcp"}}
	for k, v := range override {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	resp, err := f.http.Get(f.s.URL + OAuthAuthorizePath + "?" + q.Encode())
	require.NoError(f.t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return resp.StatusCode, nil
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(f.t, err)
	require.Equal(f.t, testRedirect, loc.Scheme+"://"+loc.Host+loc.Path, "redirects to the client's redirect_uri")
	return resp.StatusCode, loc.Query()
}

// code runs a successful authorization request.
func (f *oauthFlow) code() string {
	f.t.Helper()
	status, q := f.authorize(nil)
	require.Equal(f.t, http.StatusFound, status)
	require.Empty(f.t, q.Get("error"), q.Get("error_description"))
	require.Equal(f.t, "st-123", q.Get("state"))
	require.Equal(f.t, f.s.URL, q.Get("iss"))
	require.NotEmpty(f.t, q.Get("code"))
	return q.Get("code")
}

// token posts a token request (form fields on top of the client's credentials) and decodes the answer.
func (f *oauthFlow) token(form url.Values) (int, map[string]any) {
	f.t.Helper()
	if f.secret == "" {
		form.Set("client_id", f.clientID)
	}
	req, err := http.NewRequest("POST", f.s.URL+OAuthTokenPath, strings.NewReader(form.Encode()))
	require.NoError(f.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if f.secret != "" {
		req.SetBasicAuth(f.clientID, f.secret)
	}
	resp, err := f.http.Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	assert.Equal(f.t, "no-store", resp.Header.Get("Cache-Control"))
	var out map[string]any
	require.NoError(f.t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

func (f *oauthFlow) exchange(code string) (int, map[string]any) {
	return f.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect},
		"code_verifier": {f.verifier}, "resource": {"http://127.0.0.1:8080/mcp"}})
}

func TestOAuthMetadata(t *testing.T) {
	s := start(t, Options{})
	resp, body := newClient(t, s, "").do("GET", OAuthMetadataPath, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var md map[string]any
	require.NoError(t, json.Unmarshal(body, &md))
	assert.Equal(t, s.URL, md["issuer"])
	assert.Equal(t, s.URL+OAuthAuthorizePath, md["authorization_endpoint"])
	assert.Equal(t, s.URL+OAuthTokenPath, md["token_endpoint"])
	assert.Equal(t, s.URL+OAuthRegisterPath, md["registration_endpoint"])
	assert.Equal(t, []any{"S256"}, md["code_challenge_methods_supported"])
	assert.Contains(t, md["grant_types_supported"], "refresh_token")
	assert.Contains(t, md["scopes_supported"], "inference-api")
}

func TestOAuthCodeFlowTokensActForTheUser(t *testing.T) {
	s := start(t, Options{User: "alice", Orgs: []string{"acme"}})
	f := newOAuthFlow(t, s, nil)
	code := f.code()
	status, tok := f.exchange(code)
	require.Equal(t, http.StatusOK, status, tok)
	access, _ := tok["access_token"].(string)
	require.True(t, strings.HasPrefix(access, "hf_oauth_"))
	assert.Equal(t, "Bearer", tok["token_type"])
	assert.Equal(t, float64(3600), tok["expires_in"])
	assert.Equal(t, "openid profile inference-api", tok["scope"])
	require.NotEmpty(t, tok["refresh_token"])

	// The access token is the user on whoami and the API.
	resp, body := newClient(t, s, access).do("GET", "/api/whoami-v2", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var who struct {
		Name string `json:"name"`
		Auth struct {
			Type, ExpiresAt, Scope string
		} `json:"auth"`
	}
	require.NoError(t, json.Unmarshal(body, &who))
	assert.Equal(t, "alice", who.Name)
	assert.Equal(t, "oauth", who.Auth.Type)
	assert.Equal(t, "openid profile inference-api", who.Auth.Scope)
	exp, err := time.Parse(time.RFC3339, who.Auth.ExpiresAt)
	require.NoError(t, err)
	assert.True(t, exp.After(time.Now()))
	for _, ns := range []string{"alice", "acme"} {
		resp, _ = newClient(t, s, access).do("GET", "/v2/endpoint/"+ns, nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode, ns)
	}

	// A code is single use.
	status, out := f.exchange(code)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "invalid_grant", out["error"])

	// Refresh rotates: the new pair works, the old refresh token does not.
	status, fresh := f.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}})
	require.Equal(t, http.StatusOK, status, fresh)
	assert.NotEqual(t, access, fresh["access_token"])
	resp, _ = newClient(t, s, fresh["access_token"].(string)).do("GET", "/api/whoami-v2", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	status, out = f.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "invalid_grant", out["error"])
	// A refresh may narrow the scope, never widen it.
	status, out = f.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fresh["refresh_token"].(string)}, "scope": {"openid email"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "invalid_scope", out["error"])

	// Made-up tokens act for nobody.
	resp, _ = newClient(t, s, "hf_oauth_forged").do("GET", "/api/whoami-v2", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func TestOAuthConfidentialClientUsesBasicAuth(t *testing.T) {
	s := start(t, Options{})
	f := newOAuthFlow(t, s, map[string]any{"redirect_uris": []string{testRedirect}})
	require.NotEmpty(t, f.secret, "client_secret_basic is RFC 7591's default, so the client gets a secret")
	status, tok := f.exchange(f.code())
	require.Equal(t, http.StatusOK, status, tok)

	f.secret = "wrong"
	status, out := f.exchange(f.code())
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, "invalid_client", out["error"])
}

func TestOAuthAuthorizeErrors(t *testing.T) {
	s := start(t, Options{})
	f := newOAuthFlow(t, s, nil)
	for _, tc := range []struct {
		name     string
		override map[string]string
		status   int
		err      string // in the redirect
	}{
		{"unknown client", map[string]string{"client_id": "nobody"}, http.StatusBadRequest, ""},
		{"unregistered redirect_uri", map[string]string{"redirect_uri": "http://127.0.0.1:1/evil"}, http.StatusBadRequest, ""},
		{"no PKCE", map[string]string{"code_challenge": ""}, http.StatusFound, "invalid_request"},
		{"plain PKCE", map[string]string{"code_challenge_method": "plain"}, http.StatusFound, "invalid_request"},
		{"unknown scope", map[string]string{"scope": "openid admin"}, http.StatusFound, "invalid_scope"},
		{"implicit flow", map[string]string{"response_type": "token"}, http.StatusFound, "unsupported_response_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, q := f.authorize(tc.override)
			require.Equal(t, tc.status, status)
			if tc.err != "" {
				assert.Equal(t, tc.err, q.Get("error"))
				assert.NotEmpty(t, q.Get("error_description"))
				assert.Equal(t, "st-123", q.Get("state"))
				assert.Empty(t, q.Get("code"))
			}
		})
	}
}

func TestOAuthTokenErrors(t *testing.T) {
	s := start(t, Options{})
	f := newOAuthFlow(t, s, nil)
	other := newOAuthFlow(t, s, nil)
	for _, tc := range []struct {
		name   string
		form   func(code string) url.Values
		status int
		err    string
	}{
		{"wrong verifier", func(c string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {testRedirect}, "code_verifier": {strings.Repeat("x", 50)}}
		}, http.StatusBadRequest, "invalid_grant"},
		{"no verifier", func(c string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {testRedirect}}
		}, http.StatusBadRequest, "invalid_request"},
		{"other redirect_uri", func(c string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {"http://127.0.0.1:2/cb"}, "code_verifier": {f.verifier}}
		}, http.StatusBadRequest, "invalid_grant"},
		{"other resource", func(c string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {testRedirect}, "code_verifier": {f.verifier}, "resource": {"https://elsewhere/mcp"}}
		}, http.StatusBadRequest, "invalid_target"},
		{"unknown grant type", func(string) url.Values { return url.Values{"grant_type": {"password"}} }, http.StatusBadRequest, "unsupported_grant_type"},
		{"no grant type", func(string) url.Values { return url.Values{} }, http.StatusBadRequest, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := f.token(tc.form(f.code()))
			assert.Equal(t, tc.status, status, out)
			assert.Equal(t, tc.err, out["error"])
			assert.NotEmpty(t, out["error_description"])
		})
	}
	t.Run("code of another client", func(t *testing.T) {
		other.verifier = f.verifier
		status, out := other.exchange(f.code())
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_grant", out["error"])
	})
}

func TestOAuthRegistrationErrors(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, "")
	for _, tc := range []struct {
		name string
		body any
		err  string
	}{
		{"no redirect_uris", map[string]any{"client_name": "x"}, "invalid_redirect_uri"},
		{"http off loopback", map[string]any{"redirect_uris": []string{"http://example.com/cb"}}, "invalid_redirect_uri"},
		{"fragment", map[string]any{"redirect_uris": []string{"https://example.com/cb#x"}}, "invalid_redirect_uri"},
		{"implicit grant", map[string]any{"redirect_uris": []string{testRedirect}, "grant_types": []string{"implicit"}}, "invalid_client_metadata"},
		{"unknown auth method", map[string]any{"redirect_uris": []string{testRedirect}, "token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"},
		{"unknown scope", map[string]any{"redirect_uris": []string{testRedirect}, "scope": "root"}, "invalid_client_metadata"},
		{"not JSON", "redirect_uris=x", "invalid_client_metadata"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := c.do("POST", OAuthRegisterPath, tc.body)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
			var out map[string]string
			require.NoError(t, json.Unmarshal(body, &out))
			assert.Equal(t, tc.err, out["error"])
			assert.NotEmpty(t, out["error_description"])
		})
	}
}

func TestOAuthConsentDenied(t *testing.T) {
	s := start(t, Options{OAuth: OAuthOptions{Deny: true}})
	f := newOAuthFlow(t, s, nil)
	status, q := f.authorize(nil)
	require.Equal(t, http.StatusFound, status)
	assert.Equal(t, "access_denied", q.Get("error"))
	assert.Equal(t, "st-123", q.Get("state"))
	assert.Empty(t, q.Get("code"))
}

func TestOAuthAccessTokensExpireAndRefresh(t *testing.T) {
	s := start(t, Options{OAuth: OAuthOptions{TokenTTL: 50 * time.Millisecond}})
	f := newOAuthFlow(t, s, nil)
	status, tok := f.exchange(f.code())
	require.Equal(t, http.StatusOK, status, tok)
	c := newClient(t, s, tok["access_token"].(string))
	require.Eventually(t, func() bool {
		resp, _ := c.do("GET", "/api/whoami-v2", nil)
		return resp.StatusCode == http.StatusUnauthorized
	}, waitFor, 10*time.Millisecond, "an expired access token is refused")
	resp, _ := c.do("GET", "/v2/endpoint/"+DefaultUser, nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	status, fresh := f.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}})
	require.Equal(t, http.StatusOK, status, fresh)
	assert.Equal(t, "openid profile inference-api", fresh["scope"])
}

// TestOAuthClientIDMetadataDocuments: a client_id that is an https URL is read from there.
func TestOAuthClientIDMetadataDocuments(t *testing.T) {
	docs := map[string]string{}
	docSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, doc)
	}))
	t.Cleanup(docSrv.Close)
	id := docSrv.URL + "/client.json"
	docs["/client.json"] = `{"client_id":"` + id + `","client_name":"doc client","redirect_uris":["` + testRedirect + `"],` +
		`"grant_types":["authorization_code","refresh_token"],"token_endpoint_auth_method":"none"}`
	docs["/other.json"] = `{"client_id":"https://elsewhere.example/client.json","redirect_uris":["` + testRedirect + `"]}`
	docs["/secret.json"] = `{"client_id":"` + docSrv.URL + `/secret.json","redirect_uris":["` + testRedirect + `"],"token_endpoint_auth_method":"client_secret_basic"}`

	s := start(t, Options{OAuth: OAuthOptions{DocumentClient: docSrv.Client()}})
	resp, body := newClient(t, s, "").do("GET", OAuthMetadataPath, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), `"client_id_metadata_document_supported":true`)

	f := &oauthFlow{t: t, s: s, clientID: id, verifier: strings.Repeat("d", 50),
		http: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	status, tok := f.exchange(f.code())
	require.Equal(t, http.StatusOK, status, tok)
	resp, _ = newClient(t, s, tok["access_token"].(string)).do("GET", "/api/whoami-v2", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	for _, tc := range []struct{ name, clientID, redirect, want string }{
		{"document elsewhere names another client", docSrv.URL + "/other.json", testRedirect, "must name its own URL"},
		{"no document", docSrv.URL + "/missing.json", testRedirect, "404"},
		{"confidential", docSrv.URL + "/secret.json", testRedirect, "supports none"},
		{"redirect not in the document", id, "http://127.0.0.1:9/evil", "redirect_uri must be one of"},
		{"root URL", docSrv.URL + "/", testRedirect, "not a client ID metadata document URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.clientID = tc.clientID
			q := url.Values{"response_type": {"code"}, "client_id": {tc.clientID}, "redirect_uri": {tc.redirect}, "state": {"s"},
				"code_challenge": {f.challenge()}, "code_challenge_method": {"S256"}}
			resp, body := newClient(t, s, "").do("GET", OAuthAuthorizePath+"?"+q.Encode(), nil)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, "never redirected: the redirect_uri is not trusted")
			assert.Contains(t, string(body), tc.want)
		})
	}
}
