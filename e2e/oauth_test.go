package e2e

// End-to-end tests of MCP authorization: the built binary serving with
// --oauth, the emulator as the authorization server, and the official Go SDK's
// OAuth client signing in the way a desktop client does.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
)

// oauthServerToken is the server's own HF token in these tests: a user other
// than the one who signs in, so a tool answering as the signed-in user shows
// the server acted with the caller's token.
const oauthServerToken = "hf_server_owner_token"

// startOAuthServer starts an emulator (alice signs in; the server's own token
// is owner's) and the built binary serving it with --oauth.
func startOAuthServer(t *testing.T, oauth emulator.OAuthOptions) (emu *emulator.Server, base string, stderr *lockedBuffer) {
	emu, base, stderr, _ = startOAuthServerAudited(t, oauth)
	return emu, base, stderr
}

// startOAuthServerAudited is startOAuthServer that also returns the path of the audit log.
func startOAuthServerAudited(t *testing.T, oauth emulator.OAuthOptions) (emu *emulator.Server, base string, stderr *lockedBuffer, auditLog string) {
	t.Helper()
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{User: "alice", Timings: fastTimings, Seed: 7, OAuth: oauth,
		Users: []emulator.User{{Name: "owner", Tokens: []string{oauthServerToken}}}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	auditLog = filepath.Join(t.TempDir(), "audit.jsonl")
	env := append(backendEnvFor(t.TempDir(), emu), "HF_TOKEN="+oauthServerToken, "HF_MCP_AUDIT_LOG="+auditLog)
	_, base, stderr = startBinary(t, env, "serve", "--transport", "http", "--addr", "127.0.0.1:0", "--oauth")
	return emu, base, stderr, auditLog
}

// browser plays the user's browser for a native client: it opens the
// authorization URL, follows the authorization server's redirect to the
// client's loopback redirect_uri, and hands what arrived there to the client.
type browser struct {
	callback *httptest.Server
	arrived  chan url.Values
	opened   atomic.Int32
}

func newBrowser(t *testing.T) *browser {
	b := &browser{arrived: make(chan url.Values, 1)}
	b.callback = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.arrived <- r.URL.Query()
		fmt.Fprintln(w, "signed in; you may close this window")
	}))
	t.Cleanup(b.callback.Close)
	return b
}

func (b *browser) redirectURI() string { return b.callback.URL + "/callback" }

// fetch is the SDK's AuthorizationCodeFetcher.
func (b *browser) fetch(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
	b.opened.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args.URL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	select {
	case q := <-b.arrived:
		if e := q.Get("error"); e != "" {
			return nil, fmt.Errorf("authorization refused: %s: %s", e, q.Get("error_description"))
		}
		return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
	default:
		return nil, fmt.Errorf("the authorization server did not redirect to the client (status %d)", resp.StatusCode)
	}
}

// signInHandler is the SDK's OAuth client with dynamic client registration.
func signInHandler(t *testing.T, b *browser) *auth.AuthorizationCodeHandler {
	t.Helper()
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			RedirectURIs: []string{b.redirectURI()}, ClientName: "e2e desktop client",
			GrantTypes: []string{"authorization_code", "refresh_token"}, TokenEndpointAuthMethod: "none",
		}},
		AuthorizationCodeFetcher: b.fetch,
		RequestRefreshToken:      true,
	})
	require.NoError(t, err)
	return h
}

// connectOAuth connects over streamable HTTP in the given protocol era
// ("" lets the SDK choose: 2026-07-28).
func connectOAuth(t *testing.T, base string, h auth.OAuthHandler, version string) (*sdk.ClientSession, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "e2e", Version: "1"}, nil).Connect(ctx,
		&sdk.StreamableClientTransport{Endpoint: base + "/mcp", MaxRetries: -1, OAuthHandler: h},
		&sdk.ClientSessionOptions{ProtocolVersion: version})
	if err == nil {
		t.Cleanup(func() { _ = cs.Close() })
	}
	return cs, err
}

func oauthRequests(t *testing.T, emu *emulator.Server) map[string]int64 {
	t.Helper()
	resp, err := http.Get(emu.URL + emulator.RequestsPath)
	require.NoError(t, err)
	defer resp.Body.Close()
	var counts map[string]int64
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&counts))
	return counts
}

func TestE2EOAuthSignInWithTheGoSDK(t *testing.T) {
	for _, era := range []string{"2026-07-28", "2025-11-25"} {
		t.Run(era, func(t *testing.T) { testOAuthSignIn(t, era) })
	}
}

func testOAuthSignIn(t *testing.T, era string) {
	emu, base, stderr, auditLog := startOAuthServerAudited(t, emulator.OAuthOptions{})
	b := newBrowser(t)
	h := signInHandler(t, b)
	cs, err := connectOAuth(t, base, h, era)
	require.NoError(t, err, "stderr:\n%s", stderr)
	assert.Equal(t, era, cs.InitializeResult().ProtocolVersion)
	assert.Equal(t, int32(1), b.opened.Load(), "the user signed in once")

	who, res := structuredOf(t, cs, "whoami", map[string]any{})
	require.False(t, res.IsError, "%v", res.Content)
	assert.Equal(t, "alice", who["name"], "tools act as the signed-in user, not with the server's own token")
	_, res = structuredOf(t, cs, "create_endpoint", map[string]any{"endpoint_name": "signed-in-llm",
		"repository": "openai-community/gpt2", "framework": "pytorch", "task": "text-generation", "accelerator": "cpu",
		"vendor": "aws", "region": "us-east-1", "instance_type": "intel-spr", "instance_size": "x2"})
	require.False(t, res.IsError, "%v", res.Content)
	listed, res := structuredOf(t, cs, "list_endpoints", map[string]any{})
	require.False(t, res.IsError, "%v", res.Content)
	assert.Contains(t, fmt.Sprint(listed), "signed-in-llm")
	assert.Contains(t, fmt.Sprint(listed), "alice", "created in the signed-in user's namespace")
	data, err := os.ReadFile(auditLog)
	require.NoError(t, err)
	var created map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var e map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &e))
		if e["tool"] == "create_endpoint" && e["outcome"] == "ok" {
			created = e
		}
	}
	require.NotNil(t, created, "the create is audited:\n%s", data)
	assert.Equal(t, "alice", created["caller"], "the audit log names who acted")

	counts := oauthRequests(t, emu)
	assert.Equal(t, int64(1), counts["POST "+emulator.OAuthRegisterPath])
	assert.Equal(t, int64(1), counts["GET "+emulator.OAuthAuthorizePath])
	assert.Equal(t, int64(1), counts["POST "+emulator.OAuthTokenPath])

	ts, err := h.TokenSource(t.Context())
	require.NoError(t, err)
	tok, err := ts.Token()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(tok.AccessToken, "hf_oauth_"))
	assert.NotContains(t, stderr.String(), tok.AccessToken, "the access token is never logged")
}

// TestE2EOAuthWithTheEmbeddedEmulator: `serve --oauth --emulator` is the
// whole thing offline in one process, the README's way to try it.
func TestE2EOAuthWithTheEmbeddedEmulator(t *testing.T) {
	_, base, stderr := startBinary(t, []string{"HF_TOKEN=", "HF_MCP_WAIT_POLL=20ms"},
		"serve", "--transport", "http", "--addr", "127.0.0.1:0", "--oauth", "--emulator")
	code, _, body := send(t, http.MethodGet, base+"/.well-known/oauth-protected-resource/mcp", "", nil)
	require.Equal(t, http.StatusOK, code)
	var prm oauthex.ProtectedResourceMetadata
	require.NoError(t, json.Unmarshal([]byte(body), &prm))
	require.Len(t, prm.AuthorizationServers, 1)
	assert.NotEqual(t, base, prm.AuthorizationServers[0], "the emulator has a listener of its own")

	b := newBrowser(t)
	cs, err := connectOAuth(t, base, signInHandler(t, b), "")
	require.NoError(t, err, "stderr:\n%s", stderr)
	who, res := structuredOf(t, cs, "whoami", map[string]any{})
	require.False(t, res.IsError, "%v", res.Content)
	assert.Equal(t, emulator.DefaultUser, who["name"])
}

// TestE2EOAuthSignInWithAClientIDMetadataDocument: a client that names
// itself by the https URL of its metadata document needs no registration.
func TestE2EOAuthSignInWithAClientIDMetadataDocument(t *testing.T) {
	b := newBrowser(t)
	var id string
	docs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"client_id": id, "client_name": "e2e desktop client",
			"redirect_uris": []string{b.redirectURI()}, "grant_types": []string{"authorization_code", "refresh_token"},
			"token_endpoint_auth_method": "none"})
	}))
	t.Cleanup(docs.Close)
	id = docs.URL + "/oauth/client.json"
	emu, base, stderr := startOAuthServer(t, emulator.OAuthOptions{DocumentClient: docs.Client()})
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		ClientIDMetadataDocumentConfig: &auth.ClientIDMetadataDocumentConfig{URL: id},
		RedirectURL:                    b.redirectURI(),
		AuthorizationCodeFetcher:       b.fetch,
	})
	require.NoError(t, err)
	cs, err := connectOAuth(t, base, h, "")
	require.NoError(t, err, "stderr:\n%s", stderr)
	who, res := structuredOf(t, cs, "whoami", map[string]any{})
	require.False(t, res.IsError, "%v", res.Content)
	assert.Equal(t, "alice", who["name"])
	counts := oauthRequests(t, emu)
	assert.Zero(t, counts["POST "+emulator.OAuthRegisterPath], "no registration")
	assert.Equal(t, int64(1), counts["POST "+emulator.OAuthTokenPath])
}

// TestE2EOAuthRefreshKeepsTheSession: tokens that live 8 s are always within
// the SDK's 10 s refresh margin, so every request carries a freshly refreshed
// token; the 2025-11-25 session, bound to the signed-in user rather than to
// one token, carries on.
func TestE2EOAuthRefreshKeepsTheSession(t *testing.T) {
	emu, base, stderr := startOAuthServer(t, emulator.OAuthOptions{TokenTTL: 8 * time.Second})
	b := newBrowser(t)
	cs, err := connectOAuth(t, base, signInHandler(t, b), "2025-11-25")
	require.NoError(t, err, "stderr:\n%s", stderr)
	for range 3 {
		who, res := structuredOf(t, cs, "whoami", map[string]any{})
		require.False(t, res.IsError, "%v", res.Content)
		assert.Equal(t, "alice", who["name"])
	}
	counts := oauthRequests(t, emu)
	assert.Equal(t, int32(1), b.opened.Load(), "refreshing needs no new sign-in")
	assert.GreaterOrEqual(t, counts["POST "+emulator.OAuthTokenPath], int64(4), "one code exchange, then a refresh per request")
}

func TestE2EOAuthConsentDenied(t *testing.T) {
	emu, base, stderr := startOAuthServer(t, emulator.OAuthOptions{Deny: true})
	b := newBrowser(t)
	_, err := connectOAuth(t, base, signInHandler(t, b), "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "access_denied")
	assert.Positive(t, b.opened.Load(), "the user was asked")
	assert.Zero(t, oauthRequests(t, emu)["POST "+emulator.OAuthTokenPath], "no token is asked for after a refusal")
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "method=POST path=/mcp status=401") },
		10*time.Second, 10*time.Millisecond, "the server refused the unauthenticated request:\n%s", stderr)
	assert.NotContains(t, stderr.String(), "method=POST path=/mcp status=200", "and never served one")
}

// TestE2EOAuthOverLegacySSE: the SDK's SSE client has no OAuth handler, so
// it is given a token signed in for it; /sse and /message are protected like
// /mcp, and the caller acts as themselves there too.
func TestE2EOAuthOverLegacySSE(t *testing.T) {
	emu, base, stderr := startOAuthServer(t, emulator.OAuthOptions{})
	code, h, _ := send(t, http.MethodGet, base+"/sse", "", nil)
	require.Equal(t, http.StatusUnauthorized, code)
	cs, err := oauthex.ParseWWWAuthenticate(h.Values("WWW-Authenticate"))
	require.NoError(t, err)
	require.Len(t, cs, 1)
	assert.Equal(t, base+"/.well-known/oauth-protected-resource/sse", cs[0].Params["resource_metadata"])
	code, _, body := send(t, http.MethodGet, base+"/.well-known/oauth-protected-resource/sse", "", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `"resource":"`+base+`/sse"`)

	tok := emulatorToken(t, emu, "openid profile inference-api")
	session, err := connectWith(t, base, "sse", withBearer(tok))
	require.NoError(t, err, "stderr:\n%s", stderr)
	who, res := structuredOf(t, session, "whoami", map[string]any{})
	require.False(t, res.IsError, "%v", res.Content)
	assert.Equal(t, "alice", who["name"])
	assert.NotContains(t, stderr.String(), tok)
}

// TestE2EOAuthRefusals: what an unauthenticated, forged, expired or
// under-scoped request gets, read the way the SDK reads it.
func TestE2EOAuthRefusals(t *testing.T) {
	emu, base, stderr := startOAuthServer(t, emulator.OAuthOptions{TokenTTL: 2 * time.Second})
	metadata := base + "/.well-known/oauth-protected-resource/mcp"

	code, _, body := send(t, http.MethodGet, metadata, "", nil)
	require.Equal(t, http.StatusOK, code)
	var prm oauthex.ProtectedResourceMetadata
	require.NoError(t, json.Unmarshal([]byte(body), &prm))
	assert.Equal(t, base+"/mcp", prm.Resource)
	assert.Equal(t, []string{emu.URL}, prm.AuthorizationServers, "the Hub ($HF_ENDPOINT) signs callers in")
	assert.Equal(t, []string{"openid", "profile", "inference-api"}, prm.ScopesSupported)
	code, _, body = send(t, http.MethodGet, base+"/.well-known/oauth-protected-resource", "", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `"resource":"`+base+`"`)

	expired := emulatorToken(t, emu, "openid profile inference-api")
	require.Eventually(t, func() bool {
		req, _ := http.NewRequest(http.MethodGet, emu.URL+"/api/whoami-v2", nil)
		req.Header.Set("Authorization", "Bearer "+expired)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusUnauthorized
	}, 30*time.Second, 50*time.Millisecond, "the emulator lets the token expire")
	narrow := emulatorToken(t, emu, "openid profile")

	for _, tc := range []struct {
		name, token string
		status      int
		err         string
	}{
		{"no token", "", http.StatusUnauthorized, ""},
		{"forged token", "hf_oauth_forged0000000000000000", http.StatusUnauthorized, "invalid_token"},
		{"expired token", expired, http.StatusUnauthorized, "invalid_token"},
		{"token without inference-api", narrow, http.StatusForbidden, "insufficient_scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.token != "" {
				hdr["Authorization"] = "Bearer " + tc.token
			}
			code, h, body := send(t, http.MethodPost, base+"/mcp", e2eInitialize, hdr)
			require.Equal(t, tc.status, code, body)
			cs, err := oauthex.ParseWWWAuthenticate(h.Values("WWW-Authenticate"))
			require.NoError(t, err)
			require.Len(t, cs, 1)
			assert.Equal(t, "bearer", cs[0].Scheme)
			assert.Equal(t, tc.err, cs[0].Params["error"])
			assert.Equal(t, metadata, cs[0].Params["resource_metadata"])
			assert.Equal(t, "openid profile inference-api", cs[0].Params["scope"])
			if tc.token != "" {
				assert.NotContains(t, body, tc.token)
			}
		})
	}
	for _, tok := range []string{expired, narrow} {
		assert.NotContains(t, stderr.String(), tok, "tokens are never logged")
	}
}

// emulatorToken signs in at the emulator directly (register, authorize,
// exchange), as any OAuth client would, and returns the access token.
func emulatorToken(t *testing.T, emu *emulator.Server, scope string) string {
	t.Helper()
	const redirect = "http://127.0.0.1:1/callback"
	reg, err := json.Marshal(map[string]any{"redirect_uris": []string{redirect}, "token_endpoint_auth_method": "none"})
	require.NoError(t, err)
	resp, err := http.Post(emu.URL+emulator.OAuthRegisterPath, "application/json", strings.NewReader(string(reg)))
	require.NoError(t, err)
	var client struct {
		ClientID string `json:"client_id"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&client))
	resp.Body.Close()

	verifier := strings.Repeat("e2e-verifier-", 5)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {client.ClientID}, "redirect_uri": {redirect}, "state": {"s"},
		"scope": {scope}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.Get(emu.URL + emulator.OAuthAuthorizePath + "?" + q.Encode())
	require.NoError(t, err)
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	code := loc.Query().Get("code")
	require.NotEmpty(t, code, "redirect: %s", loc)

	resp, err = http.PostForm(emu.URL+emulator.OAuthTokenPath, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirect}, "code_verifier": {verifier}, "client_id": {client.ClientID}})
	require.NoError(t, err)
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	require.NotEmpty(t, tok.AccessToken)
	return tok.AccessToken
}
