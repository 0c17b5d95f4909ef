package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/httpsec"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/mcpserver"
)

// Environment variables of the HTTP hardening flags (flags win).
const (
	envAuthToken      = "MCP_AUTH_TOKEN"
	envPassThrough    = "HF_MCP_TOKEN_PASSTHROUGH"
	envAllowedHosts   = "HF_MCP_ALLOWED_HOSTS"
	envAllowedOrigins = "HF_MCP_ALLOWED_ORIGINS"
	envSessionIdle    = "HF_MCP_SESSION_IDLE_TIMEOUT"
	envOAuth          = "HF_MCP_OAUTH"
	envOAuthScopes    = "HF_MCP_OAUTH_SCOPES"
)

// defaultOAuthScopes are the Hub scopes a caller's sign-in asks for: who they
// are, and inference on their behalf.
const defaultOAuthScopes = "openid profile inference-api"

// minAuthTokenLen keeps guessable shared secrets out: 16 characters is 64
// bits of hex.
const minAuthTokenLen = 16

// httpConfig is how the sse and http transports authenticate and whom they
// answer.
type httpConfig struct {
	authToken      string
	passThrough    bool
	oauth          bool
	oauthScopes    []string
	allowedHosts   []string
	allowedOrigins []string
	sessionIdle    time.Duration
	authOff        bool              // --auth-token off: loopback HTTP without a bearer token
	onListen       func(base string) // prints how to connect (serve_localtoken.go)

	hostsRaw, originsRaw, idleRaw, scopesRaw string
}

// register adds the HTTP flags to fs; check validates them after parsing.
func (h *httpConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&h.authToken, "auth-token", os.Getenv(envAuthToken),
		"require \"Authorization: Bearer <token>\" on /mcp, /sse and /message; prefer the environment variable, "+
			"which other users cannot see in the process list; without it (and without pass-through, OAuth or --emulator) "+
			"a token is generated and kept in the state directory; off serves loopback without one (env "+envAuthToken+")")
	fs.BoolVar(&h.passThrough, "hf-token-passthrough", envBool(envPassThrough),
		"use each HTTP client's bearer token as its Hugging Face token (checked with whoami at connect) instead of "+
			"the server's own; counts as auth for a non-loopback --addr; not with --auth-token (env "+envPassThrough+")")
	fs.BoolVar(&h.oauth, "oauth", envBool(envOAuth),
		"make the server an OAuth 2.1 protected resource (MCP authorization): clients sign their user in with the Hub "+
			"($HF_ENDPOINT, or the emulator with --emulator) and each caller acts as themselves; implies --hf-token-passthrough (env "+envOAuth+")")
	fs.StringVar(&h.scopesRaw, "oauth-scopes", envOr(envOAuthScopes, defaultOAuthScopes),
		"space-separated scopes a caller's token needs with --oauth; a token the Hub says lacks one gets 403 insufficient_scope (env "+envOAuthScopes+")")
	fs.StringVar(&h.hostsRaw, "allowed-hosts", envOr(envAllowedHosts, ""),
		"comma-separated Host header values to accept besides localhost, 127.0.0.1 and [::1] on the listening port, "+
			"e.g. mcp.example.com (any port) or mcp.example.com:443 (env "+envAllowedHosts+")")
	fs.StringVar(&h.originsRaw, "allowed-origins", envOr(envAllowedOrigins, ""),
		"comma-separated browser origins to accept besides the allowed hosts, e.g. https://app.example.com (env "+envAllowedOrigins+")")
	fs.StringVar(&h.idleRaw, "session-idle-timeout", envOr(envSessionIdle, "30m"),
		"end streamable HTTP sessions idle this long (env "+envSessionIdle+")")
}

func (h *httpConfig) check(transport string) error {
	h.authToken = strings.TrimSpace(h.authToken)
	if strings.EqualFold(h.authToken, authOff) {
		h.authToken, h.authOff = "", true
	}
	h.allowedHosts, h.allowedOrigins = splitList(h.hostsRaw), splitList(h.originsRaw)
	idle, err := time.ParseDuration(strings.TrimSpace(h.idleRaw))
	if err != nil || idle <= 0 {
		return fmt.Errorf("--session-idle-timeout (%s) %q: want a positive duration such as 30m or 2h", envSessionIdle, h.idleRaw)
	}
	h.sessionIdle = idle
	if h.oauth {
		h.oauthScopes = strings.Fields(h.scopesRaw)
	}
	switch {
	case h.oauth && transport == "stdio":
		return errors.New("--oauth needs --transport http or sse: a stdio client signs in with no one")
	case h.oauth && h.authToken != "":
		return fmt.Errorf("--oauth and --auth-token (%s) cannot be combined: with OAuth the bearer is the caller's Hub access token; choose one", envAuthToken)
	case h.oauth && len(h.oauthScopes) == 0:
		return fmt.Errorf("--oauth-scopes (%s) is empty: name the scopes a token needs, e.g. %q", envOAuthScopes, defaultOAuthScopes)
	case h.oauth:
		h.passThrough = true // each caller's access token is their Hugging Face token
	}
	switch {
	case h.authToken != "" && len(h.authToken) < minAuthTokenLen:
		return fmt.Errorf("--auth-token (%s) is too short: use at least %d characters, e.g. the output of `openssl rand -hex 32`", envAuthToken, minAuthTokenLen)
	case h.authToken != "" && h.passThrough:
		return fmt.Errorf("--auth-token (%s) and --hf-token-passthrough cannot be combined: with pass-through the bearer "+
			"is the caller's Hugging Face token, which the Hub checks; choose one", envAuthToken)
	case h.passThrough && transport == "stdio":
		return errors.New("--hf-token-passthrough needs --transport http or sse: a stdio server has no callers to take tokens from")
	}
	// The listen port is not known yet; any valid one checks the entries' syntax.
	if _, err := httpsec.NewAllowlist("127.0.0.1:8080", h.allowedHosts, h.allowedOrigins); err != nil {
		return fmt.Errorf("--allowed-hosts/--allowed-origins: %w", err)
	}
	return nil
}

// options maps the configuration to the server's HTTP options.
func (h httpConfig) options(logger *slog.Logger, b *backend, bounds boundsConfig) mcpserver.HTTPOptions {
	opts := mcpserver.HTTPOptions{
		Security: &httpsec.Config{
			Auth:           httpsec.AuthOptions{Token: h.authToken, PassThrough: h.passThrough, Logger: logger},
			AllowedHosts:   h.allowedHosts,
			AllowedOrigins: h.allowedOrigins,
			RequestRate:    bounds.rate,
			Logger:         logger,
		},
		SessionIdleTTL:       h.sessionIdle,
		OnListen:             h.onListen,
		MaxSessions:          bounds.maxSessions,
		MaxSessionsPerCaller: bounds.maxSessionsPerCaller,
	}
	if h.oauth {
		opts.Security.Auth.Resource = &httpsec.ProtectedResource{
			AuthorizationServers: []string{b.authorizationServer()},
			Scopes:               h.oauthScopes,
			Name:                 "hf-endpoints-mcp",
		}
	}
	if h.passThrough {
		opts.TokenClient = b.tokenClient
		opts.VerifyToken = b.verifyToken
	}
	return opts
}

// apiHTTPClient is shared by every API client serve builds (the server's own
// and each pass-through caller's): one pool of connections to the API and the
// Hub, sized for many concurrent sessions. net/http keeps only 2 idle
// connections per host by default, so a burst of calls from many sessions would
// open, and TLS-handshake, a new connection for most calls (measured with 32
// concurrent callers against a TLS server: 671 handshakes for 1600 requests by
// default, 82 with this pool, 4.8× faster overall).
var apiHTTPClient = &http.Client{Transport: func() http.RoundTripper {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return tr
}()}

// tokenClient builds the client for a caller's own token (pass-through):
// the same services and guardrails as the server's client, another token.
// Only tokens that passed verifyToken get here.
func (b *backend) tokenClient(ctx context.Context, token string) (*hfapi.Client, error) {
	cfg, err := b.tokenConfig(token)
	if err != nil {
		return nil, err
	}
	// Under OAuth, confirmations belong to the signed-in user, not to one of
	// their (refreshed) tokens.
	cfg.Caller, _ = httpsec.CallerFrom(ctx)
	b.guardCallerClient(&cfg)
	return hfapi.New(cfg)
}

// verifyToken asks the Hub who a caller's token belongs to, on a bare client:
// a token that turns out invalid is never registered anywhere (the guarded
// client adds its token to the audit log's redactor).
func (b *backend) verifyToken(ctx context.Context, token string) (*hfapi.Whoami, error) {
	cfg, err := b.tokenConfig(token)
	if err != nil {
		return nil, err
	}
	c, err := hfapi.New(cfg)
	if err != nil {
		return nil, err
	}
	return c.Whoami(ctx)
}

// authorizationServer is the issuer of the tokens --oauth accepts: the Hub,
// or the embedded emulator (started by runServe before the options are built).
func (b *backend) authorizationServer() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.emu != nil {
		return b.emu.URL
	}
	if b.emuURL != "" {
		return b.emuURL
	}
	return hfapi.ConfigFromEnv().HubBase
}

// tokenConfig is the client configuration for token: Hugging Face from the
// environment, or the embedded emulator (started on first use).
func (b *backend) tokenConfig(token string) (hfapi.Config, error) {
	cfg := hfapi.ConfigFromEnv()
	if b.cfg.emulator {
		b.mu.Lock()
		url, err := b.emulatorURL() // starts or attaches to the emulator once
		b.mu.Unlock()
		if err != nil {
			return cfg, err
		}
		cfg = emulatorConfig(url)
	}
	cfg.Token = token
	cfg.UserAgent = "hf-endpoints-mcp/" + Version
	cfg.HTTPClient = apiHTTPClient
	if b.cfg.emulator {
		cfg.HTTPClient = b.emulatorHTTP
	}
	return cfg, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
