// Package mcpserver builds the hf-endpoints-mcp MCP server from the tools and
// serves it over stdio, streamable HTTP and legacy SSE.
//
// Files named mcpgo_*.go work around defects of mcp-go v1.2.1; each says what
// it mends and how to tell when it can go. The rest is the server's design.
package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/audit"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/scrub"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/resources"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/tools"
)

// Name is the server name reported to clients.
const Name = "hf-endpoints-mcp"

// Instructions tell the model how the tools fit together.
const Instructions = `Operate Hugging Face Inference Endpoints. Typical flow: list_hardware or list_catalog → ` +
	`create_endpoint (wait: true) → text_generation / chat_completion / feature_extraction / text_to_image → ` +
	`pause_endpoint when done (billing stops). A paused endpoint needs resume_endpoint before inference; ` +
	`wait_for_endpoint follows any transition with progress. delete_endpoint, and creates, updates or resumes ` +
	`above the hourly cost ceiling, need the user's consent: a form they answer, or a preview whose ` +
	`confirmation_token you pass back only after showing it to the user and hearing yes.`

// Options configure the server. The fields from ClientMiddleware on are
// extension points for features layered on top (guardrails, resources,
// prompts, audit, HTTP hardening).
type Options struct {
	// Client is the API client. When nil, NewClient builds one on the first
	// tool call, so start-up does no I/O.
	Client    *hfapi.Client
	NewClient func(ctx context.Context) (*hfapi.Client, error)
	// Toolsets selects tools by toolset name (empty = all); see tools.ParseToolsets.
	Toolsets []string
	// ReadOnly serves only tools whose readOnly hint is set.
	ReadOnly bool
	Logger   *slog.Logger
	Version  string
	// StartAttrs are added to the one info line the server logs when it starts
	// serving (which API, which audit log), after the transport and address.
	StartAttrs []any
	// Heartbeat is the progress heartbeat interval (default progress.DefaultHeartbeat).
	Heartbeat time.Duration
	// WaitPoll is how often waits poll the endpoint (0 = hfapi's adaptive default).
	WaitPoll time.Duration
	// ResourcePoll fixes how often subscribed namespaces are polled (0 = WaitPoll when set,
	// else adaptive: resources.DefaultFastPoll during transitions, DefaultSlowPoll otherwise).
	ResourcePoll time.Duration
	// SharePolling, when set, shares the polling of subscribed namespaces with the other
	// replicas of this server (internal/replicas), so they cost one list call per cycle.
	SharePolling resources.SharePolling
	// ConfirmWith is how deletes and costly actions are confirmed ("" = auto:
	// elicitation when the client can answer it, else a confirmation token).
	ConfirmWith tools.ConfirmMode
	// DisableDestructive removes the tools that delete (delete_endpoint).
	DisableDestructive bool
	// Audit receives one line per mutating tool call, refused ones included;
	// nil or a disabled log records nothing.
	Audit *audit.Log
	// MaxConcurrentCalls caps the tool calls running at once (0 = DefaultMaxConcurrentCalls);
	// a call beyond it gets an isError "busy, retry" result at once (calls.go).
	MaxConcurrentCalls int
	// MaxCallsPerCaller caps one caller's running tool calls under token pass-through
	// (0 = DefaultMaxCallsPerCaller).
	MaxCallsPerCaller int

	// ClientMiddleware wraps the client provider, e.g. to use a per-request
	// token that HTTP middleware put in the context. It sees every tool call.
	ClientMiddleware func(next ClientFunc) ClientFunc
	// Hooks receive mcp-go's request hooks (subscriptions, session
	// registration, …). Use this rather than server.WithHooks in ServerOptions.
	Hooks *server.Hooks
	// ExtraTools are served along with the selected toolsets, under the same
	// toolset and read-only filtering; one named like a built-in tool replaces it.
	ExtraTools []tools.Tool
	// ServerOptions are appended to the mcp-go server options (capabilities,
	// hooks, elicitation, completions, …).
	ServerOptions []server.ServerOption
	// ToolMiddleware wraps every tool handler, outermost first (audit, confirmations).
	ToolMiddleware []server.ToolHandlerMiddleware
	// Configure runs on the built server, e.g. to add resources and prompts.
	Configure func(*server.MCPServer) error
	// HTTPMiddleware wraps the HTTP handler, outermost first (auth, Host/Origin
	// allowlists, body limits).
	HTTPMiddleware []func(http.Handler) http.Handler
	// ConfigureHTTPServer tunes the http.Server used by ListenAndServe.
	ConfigureHTTPServer func(*http.Server)
	// DisableLocalhostProtection turns off mcp-go's own DNS-rebinding check,
	// for when an HTTPMiddleware enforces a Host allowlist instead.
	DisableLocalhostProtection bool
	// HTTP hardens the HTTP transports: auth, allowlists, pass-through (security.go).
	HTTP HTTPOptions
	// Secrets scrubs what the transports send (wire.go); share it with the
	// audit log (audit.Log.Scrubber) so both keep the same secrets out. The
	// server adds its clients' tokens, pass-through callers' tokens and the
	// auth token. Nil: a scrubber of the server's own.
	Secrets *scrub.Scrubber
}

// ClientFunc returns the API client for a tool call.
type ClientFunc func(ctx context.Context) (*hfapi.Client, error)

// Server is the MCP server with its transports.
type Server struct {
	mcp   *server.MCPServer
	opts  Options
	log   *slog.Logger
	tools []tools.Tool

	// Tools are described (schemas reflected) and registered on the first
	// tools/list or tools/call, not at start-up: initialize stays fast.
	hooks        *server.Hooks
	registerOnce sync.Once
	registerErr  error

	httpOnce       sync.Once
	http           *HTTPHandler
	modernPostsOff bool         // every 2026-07-28 POST goes through mcp-go's transport (tests, benchmarks)
	modernPosts    *modernPosts // the fast path of ordinary 2026-07-28 POSTs (mcpgo_modern_post.go)
	sec            securityState

	resources  *resources.Service // endpoint status resources and their poller
	calls      *callLimiter       // caps on running tool calls (calls.go)
	sessions   *sessionLimiter    // caps on HTTP sessions (sessions.go)
	idle       *idleSessions      // expiry of idle streamable HTTP sessions (mcpgo_stream_heartbeat.go)
	streams    detachedConns      // connections of GET streams served off them (detached_streams.go)
	events     *replayLog         // the event store of legacy streamable HTTP sessions (replay.go)
	sseStreams sync.Map           // legacy SSE session id → *sseTap (mcpgo_subscribe_refusal.go)

	secrets *scrub.Scrubber // kept out of everything sent (wire.go)

	// streamWriteTimeout bounds each write to a long-lived stream or of a POST's response (keepalive.go);
	// tests shorten it.
	streamWriteTimeout time.Duration
}

// New builds the server: selects and binds the tools, applies the options.
// It does no I/O; the API client is built on first use when Options.Client is nil.
func New(opts Options) (*Server, error) {
	if opts.Client == nil && opts.NewClient == nil {
		return nil, errors.New("mcpserver: set Options.Client or Options.NewClient")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	toolsets, err := tools.ParseToolsets(opts.Toolsets)
	if err != nil {
		return nil, err
	}
	selected := tools.Select(toolsets, opts.ReadOnly)
	for _, t := range opts.ExtraTools {
		selected = slices.DeleteFunc(selected, func(b tools.Tool) bool { return b.Name == t.Name })
		if slices.Contains(toolsets, t.Toolset) && (!opts.ReadOnly || t.Hints.ReadOnly) {
			selected = append(selected, t)
		}
	}
	if opts.DisableDestructive {
		selected = slices.DeleteFunc(selected, tools.Destructive)
	}
	hooks := opts.Hooks
	if hooks == nil {
		hooks = &server.Hooks{}
	}
	if opts.Audit.Enabled() {
		hooks.AddOnError(tools.AuditUnservedCalls(opts.Audit, opts.Logger, selected))
	}
	s := &Server{opts: opts, log: opts.Logger, tools: selected, hooks: hooks, secrets: opts.Secrets,
		calls:              newCallLimiter(opts.MaxConcurrentCalls, opts.MaxCallsPerCaller),
		sessions:           newSessionLimiter(opts.HTTP.MaxSessions, opts.HTTP.MaxSessionsPerCaller),
		streamWriteTimeout: streamWriteTimeout}
	s.idle = newIdleSessions(s.sessionIdleTTL())
	if s.secrets == nil {
		s.secrets = scrub.New()
	}
	if opts.Client != nil {
		opts.Client.ScrubTokenWith(s.secrets)
	}
	hooks.AddOnRequestInitialization(refuseBeforeInitialize)
	if err := s.initSecurity(); err != nil {
		return nil, err
	}
	s.countSessions()
	s.trackIdleSessions()
	s.mcp = server.NewMCPServer(Name, opts.Version, s.serverOptions()...)
	s.installLazyTools()
	if err := s.addResourcesAndPrompts(); err != nil {
		return nil, fmt.Errorf("mcpserver: %w", err)
	}
	if opts.Configure != nil {
		if err := opts.Configure(s.mcp); err != nil {
			return nil, fmt.Errorf("mcpserver: configure: %w", err)
		}
	}
	return s, nil
}

func (s *Server) serverOptions() []server.ServerOption {
	opts := []server.ServerOption{
		server.WithHooks(s.hooks),
		server.WithToolCapabilities(false),
		// API retries and lost-answer checks reach clients that ask for log messages.
		server.WithLogging(),
		server.WithInstructions(Instructions),
		server.WithTitle("Hugging Face Inference Endpoints"),
		// A panicking handler is a programming fault: a JSON-RPC error, not a crash.
		server.WithRecovery(),
		// An unknown resource answers in the code of the client's revision (mcpgo_error_codes.go).
		server.WithResourceHandlerMiddleware(markModernResourceErrors),
	}
	// mcp-go makes the first registered middleware the outermost. Audit comes
	// first, so it records what every other layer decided.
	if s.opts.Audit.Enabled() {
		opts = append(opts, server.WithToolHandlerMiddleware(tools.AuditMiddleware(s.opts.Audit, s.log, s.tools)))
	}
	opts = append(opts, server.WithToolHandlerMiddleware(s.limitCalls))
	for _, mw := range s.opts.ToolMiddleware {
		opts = append(opts, server.WithToolHandlerMiddleware(mw))
	}
	opts = append(opts, server.WithToolHandlerMiddleware(flushProgress))
	opts = append(opts, s.completionOptions()...)
	return append(opts, s.opts.ServerOptions...)
}

// installLazyTools registers the tools from the first request that needs
// them. If Options.ServerOptions replaced the hooks, the hooks are added there.
func (s *Server) installLazyTools() {
	hooks := s.mcp.GetHooks()
	if hooks == nil {
		// WithHooks(nil) from ServerOptions: fall back to registering now.
		if err := s.RegisterTools(); err != nil {
			s.log.Error("registering tools failed", "err", err)
		}
		return
	}
	hooks.AddBeforeListTools(func(context.Context, any, *mcp.ListToolsRequest) { s.registerLogged() })
	hooks.AddBeforeCallTool(func(context.Context, any, *mcp.CallToolRequest) { s.registerLogged() })
}

func (s *Server) registerLogged() {
	if err := s.RegisterTools(); err != nil {
		s.log.Error("registering tools failed", "err", err)
	}
}

// RegisterTools describes and registers the selected tools; it runs once and
// later calls return the first outcome. The server calls it on the first
// tools/list or tools/call; call it directly to register eagerly.
func (s *Server) RegisterTools() error {
	s.registerOnce.Do(func() {
		deps := tools.Deps{Client: s.clientFunc(), Logger: s.log, Heartbeat: s.opts.Heartbeat, WaitPoll: s.opts.WaitPoll,
			ConfirmWith: s.opts.ConfirmWith}
		if s.resources != nil {
			deps.Changes = s.resources
		}
		bound := make([]server.ServerTool, 0, len(s.tools))
		for _, t := range s.tools {
			st, err := t.ServerTool(deps)
			if err != nil {
				s.registerErr = fmt.Errorf("mcpserver: %w", err)
				return
			}
			bound = append(bound, st)
		}
		s.mcp.AddTools(bound...)
	})
	return s.registerErr
}

// clientFunc returns the client provider handed to tools, wrapped in
// Options.ClientMiddleware.
func (s *Server) clientFunc() ClientFunc {
	provider := s.baseClientFunc()
	if s.opts.ClientMiddleware != nil {
		provider = s.opts.ClientMiddleware(provider)
	}
	return provider
}

// baseClientFunc is the fixed client, or NewClient memoised on success (a
// failure is retried on the next call, so fixing the environment does not
// need a restart).
func (s *Server) baseClientFunc() ClientFunc {
	if s.opts.Client != nil {
		c := s.opts.Client
		return func(context.Context) (*hfapi.Client, error) { return c, nil }
	}
	var (
		mu     sync.Mutex
		client *hfapi.Client
	)
	return func(ctx context.Context) (*hfapi.Client, error) {
		mu.Lock()
		defer mu.Unlock()
		if client != nil {
			return client, nil
		}
		c, err := s.opts.NewClient(ctx)
		if err != nil {
			return nil, err
		}
		c.ScrubTokenWith(s.secrets)
		client = c
		return c, nil
	}
}

// MCP returns the underlying mcp-go server.
func (s *Server) MCP() *server.MCPServer { return s.mcp }

// Tools returns the tools this server serves.
func (s *Server) Tools() []tools.Tool { return slices.Clone(s.tools) }
