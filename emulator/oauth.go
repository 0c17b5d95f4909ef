package emulator

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// The emulator is also an OAuth 2.1 authorization server, like the Hub, so that MCP authorization can be
// tried and tested offline: metadata (RFC 8414), dynamic client registration (RFC 7591) and client ID
// metadata documents, the authorization endpoint with PKCE S256, which approves at once as the default
// user (or refuses, with OAuthOptions.Deny), and the token endpoint (authorization_code and refresh_token
// grants, errors as in RFC 6749 §5.2). Its access tokens act for that user on the API and whoami until
// they expire.

// OAuth paths, as on the Hub.
const (
	OAuthMetadataPath  = "/.well-known/oauth-authorization-server"
	OAuthAuthorizePath = "/oauth/authorize"
	OAuthTokenPath     = "/oauth/token"
	OAuthRegisterPath  = "/oauth/register"
)

// OAuthOptions configure the emulator's authorization server.
type OAuthOptions struct {
	// Deny makes /oauth/authorize refuse every request (redirecting with error=access_denied), as when
	// the user clicks "deny" on the consent screen.
	Deny bool
	// TokenTTL is how long access tokens live (default 1h); refresh tokens live 30 days.
	TokenTTL time.Duration
	// DocumentClient fetches client ID metadata documents (a client_id that is an https URL); the
	// default has a 5 s timeout. Tests serving documents over httptest.NewTLSServer pass its Client.
	DocumentClient *http.Client
}

// OAuthScopes are the scopes the emulator grants, a subset of the Hub's.
var OAuthScopes = []string{"openid", "profile", "email", "read-repos", "write-repos", "manage-repos", "inference-api", "offline_access"}

// defaultOAuthScope is granted when neither the request nor the client's registration names scopes.
const defaultOAuthScope = "openid profile"

const (
	defaultTokenTTL = time.Hour
	refreshTTL      = 30 * 24 * time.Hour
	codeTTL         = time.Minute
	// Bounds on what anonymous requests can make the emulator remember.
	maxOAuthClients = 1000
	maxOAuthGrants  = 10000
)

type oauthClient struct {
	id, secret   string // secret is empty for public clients (auth method "none")
	name         string
	redirectURIs []string
	grantTypes   []string
	authMethod   string
	scope        string
}

// oauthCode is an authorization code waiting to be exchanged.
type oauthCode struct {
	client, redirectURI, challenge, scope, resource, nonce string
	user                                                   *account
	exp                                                    time.Time
}

// oauthGrant is what an access or refresh token stands for.
type oauthGrant struct {
	client, scope, resource string
	user                    *account
	exp                     time.Time
}

type oauthServer struct {
	opts OAuthOptions

	mu      sync.Mutex
	clients map[string]*oauthClient
	codes   map[string]*oauthCode
	access  map[string]*oauthGrant
	refresh map[string]*oauthGrant

	signer idSigner // of ID tokens (oidc.go)
}

func newOAuthServer(opts OAuthOptions) *oauthServer {
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = defaultTokenTTL
	}
	if opts.DocumentClient == nil {
		opts.DocumentClient = &http.Client{Timeout: 5 * time.Second}
	}
	return &oauthServer{opts: opts, clients: map[string]*oauthClient{}, codes: map[string]*oauthCode{},
		access: map[string]*oauthGrant{}, refresh: map[string]*oauthGrant{}}
}

// accessGrant returns the live grant of an access token, or nil.
func (o *oauthServer) accessGrant(tok string) *oauthGrant {
	o.mu.Lock()
	defer o.mu.Unlock()
	g := o.access[tok]
	if g == nil || !time.Now().Before(g.exp) {
		return nil
	}
	return g
}

func (e *Emulator) oauthRoutes() {
	e.handle("GET", OAuthMetadataPath, e.oauthMetadata)
	e.handle("POST", OAuthRegisterPath, e.oauthRegister)
	e.handle("GET", OAuthAuthorizePath, e.oauthAuthorize)
	e.handle("POST", OAuthTokenPath, e.oauthToken)
	e.handle("GET", OpenIDConfigurationPath, e.openIDConfiguration)
	e.handle("GET", OAuthJWKSPath, e.jwks)
	e.handle("GET", OAuthUserinfoPath, e.userinfo)
}

// oauthMetadata answers RFC 8414 authorization server metadata; the issuer is the URL the emulator was
// reached at.
func (e *Emulator) oauthMetadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, authServerMetadata(baseURL(r)))
}

func authServerMetadata(iss string) map[string]any {
	return map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         iss + OAuthAuthorizePath,
		"token_endpoint":                                 iss + OAuthTokenPath,
		"registration_endpoint":                          iss + OAuthRegisterPath,
		"scopes_supported":                               OAuthScopes,
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":               []string{"S256"},
		"authorization_response_iss_parameter_supported": true,
		"client_id_metadata_document_supported":          true,
	}
}

// oauthError writes an RFC 6749 §5.2 error (also used for RFC 7591 registration errors).
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// registration is the RFC 7591 client metadata the emulator reads.
type registration struct {
	RedirectURIs            []string `json:"redirect_uris"`
	ClientName              string   `json:"client_name"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	Scope                   string   `json:"scope"`
}

// oauthRegister answers RFC 7591 dynamic client registration.
func (e *Emulator) oauthRegister(w http.ResponseWriter, r *http.Request) {
	var reg registration
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&reg); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_client_metadata", "the body must be a JSON object of client metadata (RFC 7591): "+err.Error())
		return
	}
	if err := reg.check(); err != nil {
		code := "invalid_client_metadata"
		if strings.HasPrefix(err.Error(), "redirect_uris") {
			code = "invalid_redirect_uri"
		}
		oauthError(w, http.StatusBadRequest, code, err.Error())
		return
	}
	c := &oauthClient{id: "emu-client-" + rand.Text()[:16], name: reg.ClientName, redirectURIs: reg.RedirectURIs,
		grantTypes: reg.GrantTypes, authMethod: reg.TokenEndpointAuthMethod, scope: reg.Scope}
	if c.authMethod != "none" {
		c.secret = rand.Text()
	}
	o := e.oauth
	o.mu.Lock()
	full := len(o.clients) >= maxOAuthClients
	if !full {
		o.clients[c.id] = c
	}
	o.mu.Unlock()
	if full {
		oauthError(w, http.StatusBadRequest, "invalid_client_metadata", fmt.Sprintf("the emulator holds at most %d registered clients; restart it", maxOAuthClients))
		return
	}
	out := map[string]any{
		"client_id": c.id, "client_id_issued_at": time.Now().Unix(), "client_name": c.name,
		"redirect_uris": c.redirectURIs, "grant_types": c.grantTypes, "response_types": []string{"code"},
		"token_endpoint_auth_method": c.authMethod,
	}
	if c.secret != "" {
		out["client_secret"], out["client_secret_expires_at"] = c.secret, 0
	}
	if c.scope != "" {
		out["scope"] = c.scope
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, out)
}

// check validates and completes the metadata with RFC 7591's defaults.
func (reg *registration) check() error {
	if len(reg.RedirectURIs) == 0 {
		return fmt.Errorf("redirect_uris is required: at least one absolute URL, e.g. http://127.0.0.1:33418/callback")
	}
	for _, u := range reg.RedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			return err
		}
	}
	if len(reg.GrantTypes) == 0 {
		reg.GrantTypes = []string{"authorization_code"}
	}
	for _, g := range reg.GrantTypes {
		if g != "authorization_code" && g != "refresh_token" {
			return fmt.Errorf("grant_types: %q is not supported; use authorization_code and refresh_token", g)
		}
	}
	for _, t := range reg.ResponseTypes {
		if t != "code" {
			return fmt.Errorf("response_types: %q is not supported; only code is", t)
		}
	}
	switch reg.TokenEndpointAuthMethod {
	case "":
		reg.TokenEndpointAuthMethod = "client_secret_basic"
	case "none", "client_secret_basic", "client_secret_post":
	default:
		return fmt.Errorf("token_endpoint_auth_method %q is not supported; use none, client_secret_basic or client_secret_post", reg.TokenEndpointAuthMethod)
	}
	if _, err := checkScope(reg.Scope); err != nil {
		return err
	}
	return nil
}

// checkRedirectURI accepts absolute URLs without a fragment: https anywhere, http only on loopback, and
// private-use schemes (com.example.app:/cb) of native apps.
func checkRedirectURI(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Fragment != "" || strings.Contains(s, "#") {
		return fmt.Errorf("redirect_uris: %q is not an absolute URL without a fragment", s)
	}
	if u.Scheme == "http" {
		if h := u.Hostname(); h != "localhost" && h != "127.0.0.1" && h != "::1" {
			return fmt.Errorf("redirect_uris: %q uses http on a host that is not loopback; use https, or http://127.0.0.1:<port>/… for a native app", s)
		}
	}
	return nil
}

// checkScope returns the scopes of a space-separated scope string, refusing unknown ones.
func checkScope(scope string) ([]string, error) {
	fields := strings.Fields(scope)
	for _, s := range fields {
		if !slices.Contains(OAuthScopes, s) {
			return nil, fmt.Errorf("scope %q is unknown; the emulator grants %s", s, strings.Join(OAuthScopes, ", "))
		}
	}
	return fields, nil
}

// oauthAuthorize answers the authorization endpoint: no login page, the default user consents at once
// (or refuses with OAuthOptions.Deny). Errors about the client or redirect_uri are answered here, never
// redirected (RFC 6749 §4.1.2.1); every other outcome goes back to the client's redirect_uri.
func (e *Emulator) oauthAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o := e.oauth
	var c *oauthClient
	if id := q.Get("client_id"); strings.HasPrefix(id, "https://") {
		var err error
		if c, err = o.clientFromDocument(r.Context(), id); err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
			return
		}
	} else {
		o.mu.Lock()
		c = o.clients[id]
		o.mu.Unlock()
	}
	if c == nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "unknown client_id: register the client first at "+
			OAuthRegisterPath+", or use the https URL of its client ID metadata document")
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" && len(c.redirectURIs) == 1 {
		redirect = c.redirectURIs[0]
	}
	if !slices.Contains(c.redirectURIs, redirect) {
		oauthError(w, http.StatusBadRequest, "invalid_request", "redirect_uri must be one of the client's registered redirect_uris, exactly")
		return
	}
	back := func(params url.Values) {
		u, _ := url.Parse(redirect) // checked at registration
		v := u.Query()
		for k, vs := range params {
			v[k] = vs
		}
		if st := q.Get("state"); st != "" {
			v.Set("state", st)
		}
		v.Set("iss", baseURL(r))
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	fail := func(code, desc string) { back(url.Values{"error": {code}, "error_description": {desc}}) }
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "response_type must be code")
		return
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	if challenge == "" || method != "S256" {
		fail("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256")
		return
	}
	scope := q.Get("scope")
	if scope == "" {
		scope = cmp.Or(c.scope, defaultOAuthScope)
	}
	if _, err := checkScope(scope); err != nil {
		fail("invalid_scope", err.Error())
		return
	}
	if o.opts.Deny {
		fail("access_denied", "the user denied the request")
		return
	}
	code := rand.Text()
	o.mu.Lock()
	o.pruneLocked()
	o.codes[code] = &oauthCode{client: c.id, redirectURI: redirect, challenge: challenge, scope: scope,
		resource: q.Get("resource"), nonce: q.Get("nonce"), user: e.users[e.opts.User], exp: time.Now().Add(codeTTL)}
	o.mu.Unlock()
	back(url.Values{"code": {code}})
}

// clientFromDocument reads a client ID metadata document (draft-ietf-oauth-client-id-metadata-document):
// the client_id is the https URL of a JSON document naming the client, its redirect_uris and grant types.
// It is fetched at every authorization request and remembered for the token requests that follow.
func (o *oauthServer) clientFromDocument(ctx context.Context, id string) (*oauthClient, error) {
	u, err := url.Parse(id)
	if err != nil || u.Host == "" || u.Path == "" || u.Path == "/" || u.Fragment != "" {
		return nil, fmt.Errorf("client_id %q is not a client ID metadata document URL: use https://host/path", id)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, id, nil)
	if err != nil {
		return nil, fmt.Errorf("client_id %q: %w", id, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := o.opts.DocumentClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("could not fetch the client ID metadata document %s: %w", id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the client ID metadata document %s answered %s; it must answer 200 with JSON", id, resp.Status)
	}
	var doc struct {
		ClientID string `json:"client_id"`
		registration
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("the client ID metadata document %s is not a JSON object: %w", id, err)
	}
	if doc.ClientID != id {
		return nil, fmt.Errorf("the client ID metadata document %s names client_id %q; it must name its own URL", id, doc.ClientID)
	}
	if doc.TokenEndpointAuthMethod == "" {
		doc.TokenEndpointAuthMethod = "none" // a document cannot carry a secret
	}
	if doc.TokenEndpointAuthMethod != "none" {
		return nil, fmt.Errorf("the client ID metadata document %s asks for token_endpoint_auth_method %q; the emulator supports none for such clients", id, doc.TokenEndpointAuthMethod)
	}
	if err := doc.check(); err != nil {
		return nil, fmt.Errorf("the client ID metadata document %s: %w", id, err)
	}
	c := &oauthClient{id: id, name: doc.ClientName, redirectURIs: doc.RedirectURIs, grantTypes: doc.GrantTypes,
		authMethod: "none", scope: doc.Scope}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, known := o.clients[id]; !known && len(o.clients) >= maxOAuthClients {
		return nil, fmt.Errorf("the emulator holds at most %d clients; restart it", maxOAuthClients)
	}
	o.clients[id] = c
	return c, nil
}

// oauthToken answers the token endpoint.
func (e *Emulator) oauthToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded: "+err.Error())
		return
	}
	c, ok := e.tokenClient(w, r)
	if !ok {
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		e.exchangeCode(w, r, c)
	case "refresh_token":
		e.refreshGrant(w, r, c)
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required: authorization_code or refresh_token")
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("grant_type %q is not supported; use authorization_code or refresh_token", gt))
	}
}

// tokenClient authenticates the client of a token request: HTTP Basic, client_secret in the form, or
// only client_id for a public client.
func (e *Emulator) tokenClient(w http.ResponseWriter, r *http.Request) (*oauthClient, bool) {
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	e.oauth.mu.Lock()
	c := e.oauth.clients[id]
	e.oauth.mu.Unlock()
	okSecret := c != nil && (c.secret == "" && secret == "" ||
		c.secret != "" && subtle.ConstantTimeCompare([]byte(c.secret), []byte(secret)) == 1)
	if !okSecret {
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="emulator"`)
		}
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client_id or wrong client_secret")
		return nil, false
	}
	return c, true
}

func (e *Emulator) exchangeCode(w http.ResponseWriter, r *http.Request, c *oauthClient) {
	f := r.PostForm
	o := e.oauth
	o.mu.Lock()
	code := o.codes[f.Get("code")]
	delete(o.codes, f.Get("code")) // single use, whatever happens next
	o.mu.Unlock()
	switch {
	case code == nil || !time.Now().Before(code.exp):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the authorization code is unknown, expired or already used")
	case code.client != c.id:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the authorization code was issued to another client")
	case f.Get("redirect_uri") != code.redirectURI:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri must be the one the authorization request used")
	case f.Get("code_verifier") == "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "code_verifier is required (PKCE)")
	case !verifierMatches(f.Get("code_verifier"), code.challenge):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code_challenge")
	case f.Get("resource") != "" && f.Get("resource") != code.resource:
		oauthError(w, http.StatusBadRequest, "invalid_target", "resource must be the one the authorization request named")
	default:
		e.issueTokens(w, r, &oauthGrant{client: c.id, scope: code.scope, resource: code.resource, user: code.user}, code.nonce)
	}
}

// verifierMatches checks PKCE S256: BASE64URL(SHA256(verifier)) == challenge.
func verifierMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// refreshGrant rotates a refresh token: the old one stops working, a new pair is issued.
func (e *Emulator) refreshGrant(w http.ResponseWriter, r *http.Request, c *oauthClient) {
	f := r.PostForm
	o := e.oauth
	o.mu.Lock()
	old := o.refresh[f.Get("refresh_token")]
	if old != nil && old.client == c.id {
		delete(o.refresh, f.Get("refresh_token"))
	}
	o.mu.Unlock()
	if old == nil || old.client != c.id || !time.Now().Before(old.exp) {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the refresh token is unknown, expired, already used or issued to another client")
		return
	}
	scope := old.scope
	if s := f.Get("scope"); s != "" {
		for _, want := range strings.Fields(s) {
			if !slices.Contains(strings.Fields(old.scope), want) {
				oauthError(w, http.StatusBadRequest, "invalid_scope", fmt.Sprintf("scope %q was not granted; a refresh can only narrow the scope %q", want, old.scope))
				return
			}
		}
		scope = s
	}
	e.issueTokens(w, r, &oauthGrant{client: c.id, scope: scope, resource: old.resource, user: old.user}, "")
}

// issueTokens answers a token request with a new access and refresh token for g, and an OpenID
// Connect ID token when g has the openid scope.
func (e *Emulator) issueTokens(w http.ResponseWriter, r *http.Request, g *oauthGrant, nonce string) {
	o := e.oauth
	access, refresh := "hf_oauth_"+rand.Text(), "hf_oauth_refresh_"+rand.Text()
	now := time.Now()
	ag, rg := *g, *g
	ag.exp, rg.exp = now.Add(o.opts.TokenTTL), now.Add(refreshTTL)
	out := map[string]any{
		"access_token": access, "token_type": "Bearer", "expires_in": int(o.opts.TokenTTL.Seconds()),
		"refresh_token": refresh, "scope": g.scope,
	}
	if slices.Contains(strings.Fields(g.scope), "openid") {
		id, err := o.idToken(baseURL(r), &ag, nonce, now)
		if err != nil {
			oauthError(w, http.StatusInternalServerError, "server_error", err.Error())
			return
		}
		out["id_token"] = id
	}
	o.mu.Lock()
	o.pruneLocked()
	o.access[access], o.refresh[refresh] = &ag, &rg
	o.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// pruneLocked drops expired codes and tokens once the maps grow, and refuses to grow without bound:
// beyond maxOAuthGrants the oldest-expiring half is dropped.
func (o *oauthServer) pruneLocked() {
	if len(o.codes)+len(o.access)+len(o.refresh) < maxOAuthGrants {
		return
	}
	now := time.Now()
	for k, c := range o.codes {
		if !now.Before(c.exp) {
			delete(o.codes, k)
		}
	}
	for _, m := range []map[string]*oauthGrant{o.access, o.refresh} {
		for k, g := range m {
			if !now.Before(g.exp) {
				delete(m, k)
			}
		}
		if len(m) >= maxOAuthGrants/2 {
			clear(m)
		}
	}
	if len(o.codes) >= maxOAuthGrants/2 {
		clear(o.codes)
	}
}
