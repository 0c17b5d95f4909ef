package mcpserver

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/audit"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/httpsec"
)

// Shutdown phases: in-flight requests get drainGrace to finish on their own,
// then their contexts are cancelled (a long wait returns "cancelled"), and at
// shutdownGrace whatever is left is closed.
const drainGrace = 2 * time.Second

// sseKeepAlive is how often an idle legacy SSE stream carries an SSE comment.
const sseKeepAlive = 25 * time.Second

// errNoPassThroughToken is what a tool call gets in pass-through mode when its
// request carried no token (it cannot happen behind the auth middleware, but
// the server's own token must never stand in).
var errNoPassThroughToken = errors.New("this server acts with each caller's own Hugging Face token, " +
	"and this request carried none: send the header Authorization: Bearer <your HF token>")

// HTTPOptions harden the HTTP transports (Options.HTTP).
type HTTPOptions struct {
	// Security, when set, wraps what Serve serves in httpsec's protections
	// (request log, Host/Origin allowlist, query-token refusal, bearer auth,
	// body limit; Addr is filled in from the listener), and ListenAndServe
	// refuses a non-loopback address unless auth is configured. mcp-go's own
	// localhost check is then off: the Host allowlist replaces it.
	Security *httpsec.Config
	// TokenClient builds the API client for a caller's own Hugging Face token.
	// It is required with Security.Auth.PassThrough: every tool call then uses
	// the client of the bearer its HTTP request carried (validated with whoami
	// at connect), never Options.Client or NewClient. Under OAuth
	// (Security.Auth.Resource) ctx names the caller (httpsec.CallerFrom): bind
	// the client's confirmations to it (hfapi.Config.Caller), so that they
	// survive a token refresh.
	TokenClient func(ctx context.Context, token string) (*hfapi.Client, error)
	// VerifyToken checks a pass-through token when it connects, with whoami
	// on a bare client, so that tokens that turn out invalid never reach
	// TokenClient (whose clients may register the token with the audit log's
	// redactor). An hfapi 401 or 403 means the token is invalid (the caller
	// gets 401); other errors give 503. The expiry and scopes whoami reports
	// (OAuth tokens) bound how long the check is trusted and, with
	// Security.Auth.Resource, whether the token has the scopes needed (403
	// otherwise). Nil: whoami on TokenClient's client.
	VerifyToken func(ctx context.Context, token string) (*hfapi.Whoami, error)
	// SessionIdleTTL ends streamable HTTP sessions idle this long (0 = 30 minutes).
	SessionIdleTTL time.Duration
	// SSEKeepAlive is how long a legacy SSE stream may stay silent before it
	// carries an SSE comment (0 = 25 seconds).
	SSEKeepAlive time.Duration
	// StreamHeartbeat is how often an idle streamable HTTP GET stream carries
	// a ping request (0 = 25 seconds).
	StreamHeartbeat time.Duration
	// MaxSessions caps the HTTP sessions held at once (0 = DefaultMaxSessions);
	// a request that would open one more gets 503 with Retry-After (sessions.go).
	MaxSessions int
	// MaxSessionsPerCaller caps one caller's sessions under token pass-through
	// (0 = DefaultMaxSessionsPerCaller).
	MaxSessionsPerCaller int
	// OnListen, when set, is called with the base URL (http://host:port) once
	// the listener is open, e.g. to tell the user where and how to connect.
	OnListen func(base string)
}

// securityState is the Server's share of HTTPOptions at run time.
type securityState struct {
	// shutdown is cancelled when the drain grace of a shutdown is over.
	shutdown      context.Context
	startShutdown context.CancelFunc
	tokens        *tokenClients // pass-through clients; nil otherwise
	inflight      atomic.Int64  // tool calls running
	owners        sessionOwners // which token each session belongs to
}

// initSecurity checks Options.HTTP and completes pass-through: the bearer is
// validated with whoami, and tool calls use a client for it.
func (s *Server) initSecurity() error {
	s.sec.shutdown, s.sec.startShutdown = context.WithCancel(context.Background())
	s.opts.ServerOptions = append(slices.Clip(s.opts.ServerOptions), server.WithToolHandlerMiddleware(s.cancelOnShutdown))
	s.releaseEndedSessions()
	sec := s.opts.HTTP.Security
	if sec != nil && sec.Auth.Resource != nil && !sec.Auth.PassThrough {
		return errors.New("mcpserver: OAuth (Security.Auth.Resource) needs Security.Auth.PassThrough: " +
			"each caller's access token is their Hugging Face token")
	}
	if sec != nil {
		s.secrets.Add(sec.Auth.Token)
	}
	if sec == nil || !sec.Auth.PassThrough {
		return nil
	}
	if s.opts.HTTP.TokenClient == nil {
		return errors.New("mcpserver: HF token pass-through needs Options.HTTP.TokenClient to build a client per token")
	}
	if sec.Auth.Token != "" {
		return errors.New("mcpserver: a static auth token and HF token pass-through cannot be combined: " +
			"with pass-through the bearer is the caller's Hugging Face token")
	}
	s.sec.tokens = newTokenClients(s.opts.HTTP.TokenClient, maxTokenClients)
	s.sec.tokens.verify = s.opts.HTTP.VerifyToken
	s.sec.tokens.subjects = sec.Auth.Resource != nil
	s.sec.tokens.secrets = s.secrets
	copied := *sec
	if copied.Auth.Validate == nil {
		copied.Auth.Validate = s.sec.tokens.validate
	}
	s.opts.HTTP.Security = &copied
	outer := s.opts.ClientMiddleware
	s.opts.ClientMiddleware = func(next ClientFunc) ClientFunc {
		if outer != nil {
			return outer(s.passThrough(next))
		}
		return s.passThrough(next)
	}
	return nil
}

// passThrough wraps the client provider: in pass-through mode every call uses
// the client of its request's token, never next.
func (s *Server) passThrough(ClientFunc) ClientFunc {
	return func(ctx context.Context) (*hfapi.Client, error) {
		tok, ok := httpsec.HFTokenFrom(ctx)
		if !ok {
			return nil, errNoPassThroughToken
		}
		client, err := s.sec.tokens.get(ctx, tok)
		if subject, ok := httpsec.CallerFrom(ctx); ok && err == nil {
			s.sec.tokens.remember(subject, client)
		}
		return client, err
	}
}

// checkListenAddr refuses a non-loopback address unless auth is configured.
func (s *Server) checkListenAddr(addr string) error {
	if s.opts.HTTP.Security == nil {
		return nil
	}
	return httpsec.CheckListenAddr(addr, s.opts.HTTP.Security.Auth.Configured())
}

// localhostProtectionOff reports whether mcp-go's own DNS-rebinding check is
// off: it is when HTTP.Security enforces the Host allowlist, so that hosts added
// with AllowedHosts are not refused by mcp-go after the allowlist let them in.
func (s *Server) localhostProtectionOff() bool {
	return s.opts.DisableLocalhostProtection || s.opts.HTTP.Security != nil
}

// secureHandler is Handler wrapped in Options.HTTP.Security for a server
// listening on addr (the resolved address, so the allowlist has the real port).
func (s *Server) secureHandler(addr string) (http.Handler, error) {
	h := s.Handler()
	if s.opts.HTTP.Security == nil {
		return h, nil
	}
	cfg := *s.opts.HTTP.Security
	cfg.Addr = addr
	if cfg.Logger == nil {
		cfg.Logger = s.log
	}
	if !slices.Contains(cfg.Auth.PublicPaths, PathHealth) {
		cfg.Auth.PublicPaths = append(slices.Clone(cfg.Auth.PublicPaths), PathHealth)
	}
	if cfg.Auth.Configured() {
		h = s.bindSessions(h)
	}
	if s.sec.tokens != nil {
		h = nameAuditedCallers(h)
	}
	if res := cfg.Auth.Resource; res != nil && len(res.Paths) == 0 {
		withPaths := *res
		withPaths.Paths = []string{PathStreamable, PathSSE}
		cfg.Auth.Resource = &withPaths
	}
	return cfg.Handler(h)
}

func (s *Server) sessionIdleTTL() time.Duration {
	return cmp.Or(s.opts.HTTP.SessionIdleTTL, sessionIdleTTL)
}

// cancelOnShutdown is a tool middleware that cancels a running call once the
// shutdown drain grace is over. Legacy SSE runs calls on a context detached
// from the HTTP request, so this is what ends them.
func (s *Server) cancelOnShutdown(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		s.sec.inflight.Add(1)
		defer s.sec.inflight.Add(-1)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(s.sec.shutdown, cancel)
		defer stop()
		return next(ctx, req)
	}
}

// drainCalls waits until no tool call is running; calls still running after
// drainGrace are cancelled (a wait then returns "cancelled"), and it gives up
// when ctx ends. tick runs on every poll.
func (s *Server) drainCalls(ctx context.Context, tick func()) {
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	grace := time.NewTimer(drainGrace)
	defer grace.Stop()
	for s.sec.inflight.Load() > 0 {
		tick()
		select {
		case <-grace.C:
			s.log.Info("cancelling tool calls still running at shutdown", "calls", s.sec.inflight.Load())
			s.sec.startShutdown()
		case <-poll.C:
		case <-ctx.Done():
			return
		}
	}
}

// nameAuditedCallers is middleware (inside bearer auth) that names each
// pass-through caller's Hub account in the audit lines of their calls.
func nameAuditedCallers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, ok := httpsec.CallerNameFrom(r.Context()); ok {
			r = r.WithContext(audit.WithCaller(r.Context(), name))
		}
		next.ServeHTTP(w, r)
	})
}

// tokenDigest is how tokens are keyed in memory: never the token itself.
func tokenDigest(tok string) [sha256.Size]byte { return sha256.Sum256([]byte(tok)) }

// callerDigest keys the caller of a request whose bearer is tok: their
// subject under OAuth (the same across refreshed tokens), else the token.
func callerDigest(ctx context.Context, tok string) [sha256.Size]byte {
	if subject, ok := httpsec.CallerFrom(ctx); ok {
		return sha256.Sum256([]byte("caller\x00" + subject))
	}
	return tokenDigest(tok)
}

// invalidToken marks a whoami refusal as httpsec.ErrInvalidToken (401 at connect).
func invalidToken(err error) error {
	if err != nil && (hfapi.IsUnauthorized(err) || hfapi.IsForbidden(err)) {
		return fmt.Errorf("%w: %w", httpsec.ErrInvalidToken, err)
	}
	return err
}

// sseKeepAlive is the keep-alive interval of legacy SSE streams.
func (s *Server) sseKeepAlive() time.Duration { return cmp.Or(s.opts.HTTP.SSEKeepAlive, sseKeepAlive) }

func (s *Server) streamHeartbeat() time.Duration {
	return cmp.Or(s.opts.HTTP.StreamHeartbeat, streamHeartbeat)
}
