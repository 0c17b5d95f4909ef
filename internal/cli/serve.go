package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/audit"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/mcpserver"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/scrub"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/tools"
)

// serveStdin is where the stdio transport reads; tests replace it.
var serveStdin io.Reader = os.Stdin

// serveConfig is the serve command's configuration, from flags and environment.
type serveConfig struct {
	transport string
	addr      string
	emulator  bool
	toolsets  string
	readOnly  bool
	logLevel  slog.Level
	waitPoll  time.Duration
	guard     guardConfig  // confirmations and audit (serve_guard.go)
	http      httpConfig   // auth, allowlists, pass-through (serve_http.go)
	bounds    boundsConfig // caps on calls, sessions and request rates (serve_bounds.go)
	state     stateConfig  // signing key, ledger, Redis (serve_state.go)
}

// Environment variables that set serve's defaults (flags win).
const (
	envTransport = "HF_MCP_TRANSPORT"
	envAddr      = "HF_MCP_ADDR"
	envEmulator  = "HF_MCP_EMULATOR"
	envToolsets  = "HF_MCP_TOOLSETS"
	envReadOnly  = "HF_MCP_READ_ONLY"
	envLogLevel  = "HF_MCP_LOG_LEVEL"
	envWaitPoll  = "HF_MCP_WAIT_POLL" // e.g. 2s; how often waits poll (default adaptive, 1–5 s)
)

// Emulator timings of `serve --emulator`: quick enough to try things, slow
// enough that progress is visible.
var embeddedEmulatorTimings = emulator.Timings{
	Deploy: 3 * time.Second, Update: 2 * time.Second, ScaleUp: 2 * time.Second, IdleMinute: 5 * time.Second,
}

// Flag groups of serve's usage.
const (
	groupServer = "Server"
	groupGuard  = "Guardrails"
	groupHTTP   = "HTTP transports (--transport sse or http)"
	groupLimits = "Limits"
)

// serveHeader opens the usage of serve, which is also the program's help.
const serveHeader = `hf-endpoints-mcp — an MCP server for Hugging Face Inference Endpoints

Usage:
  hf-endpoints-mcp [serve] [flags]   run the MCP server (the default command)
  hf-endpoints-mcp emulator [flags]  run the offline Inference Endpoints emulator
  hf-endpoints-mcp version           print the version (also --version)
  hf-endpoints-mcp help              print this help (also --help, -h)

Every flag can also be set by the environment variable named beside it; a flag wins.
The Hugging Face token comes from HF_TOKEN, else the file at HF_TOKEN_PATH, else
$HF_HOME/token, else ~/.cache/huggingface/token.
"hf-endpoints-mcp emulator --help" lists the emulator's flags.
`

// serveFlags is serve's flag set, bound to cfg and level.
func serveFlags(cfg *serveConfig, level *string) *commandFlags {
	c := newCommandFlags("serve", serveHeader)
	c.group(groupServer, func(fs *flag.FlagSet) {
		fs.StringVar(&cfg.transport, "transport", envOr(envTransport, "stdio"), "transport: stdio, sse or http (env "+envTransport+")")
		fs.BoolVar(&cfg.emulator, "emulator", envBool(envEmulator), "serve against an in-process offline emulator; no token needed (env "+envEmulator+")")
		fs.StringVar(&cfg.toolsets, "toolsets", envOr(envToolsets, "all"), "comma-separated toolsets: endpoints_read, endpoints_write, inference, or all (env "+envToolsets+")")
		fs.BoolVar(&cfg.readOnly, "read-only", envBool(envReadOnly), "serve only tools that change nothing (env "+envReadOnly+")")
		fs.StringVar(level, "log-level", envOr(envLogLevel, "info"), "log level on stderr: debug, info, warn or error (env "+envLogLevel+")")
	})
	c.group(groupGuard, cfg.guard.register)
	c.group(groupState, cfg.state.register)
	c.group(groupHTTP, func(fs *flag.FlagSet) {
		fs.StringVar(&cfg.addr, "addr", envOr(envAddr, "127.0.0.1:8080"), "listen address for sse and http (env "+envAddr+")")
		cfg.http.register(fs)
	})
	c.group(groupLimits, cfg.bounds.register)
	c.secret("auth-token")
	return c
}

func parseServeFlags(args []string, stdout io.Writer) (serveConfig, *commandFlags, error) {
	var cfg serveConfig
	var level string
	c := serveFlags(&cfg, &level)
	if err := c.parse(args, stdout); err != nil {
		return cfg, c, err
	}
	if err := cfg.guard.check(); err != nil {
		return cfg, c, err
	}
	if err := cfg.http.check(cfg.transport); err != nil {
		return cfg, c, err
	}
	if err := cfg.bounds.check(); err != nil {
		return cfg, c, err
	}
	switch cfg.transport {
	case "stdio", "sse", "http":
	default:
		return cfg, c, fmt.Errorf("unknown transport %q; use stdio, sse or http", cfg.transport)
	}
	if err := cfg.logLevel.UnmarshalText([]byte(level)); err != nil {
		return cfg, c, fmt.Errorf("unknown log level %q; use debug, info, warn or error", level)
	}
	if v := strings.TrimSpace(os.Getenv(envWaitPoll)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return cfg, c, fmt.Errorf("%s=%q is not a positive duration such as 2s or 500ms", envWaitPoll, v)
		}
		cfg.waitPoll = d
	}
	return cfg, c, nil
}

func envOr(key, def string) string {
	if v := strings.TrimSpace(os.Getenv(key)); v != "" {
		return v
	}
	return def
}

// envBool reads a boolean variable; anything but a true value (1, true, yes, on) is false.
func envBool(key string) bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv(key)))
	if b, err := strconv.ParseBool(v); err == nil {
		return b
	}
	return v == "yes" || v == "on"
}

// runServe runs the MCP server until its input ends (stdio) or ctx is cancelled.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, flags, err := parseServeFlags(args, stdout)
	if err != nil {
		return err
	}
	// One scrubber keeps every secret the server learns out of its log, its
	// audit log and everything it sends.
	secrets := scrub.New()
	logger := slog.New(slog.NewTextHandler(scrub.NewWriter(stderr, secrets), &slog.HandlerOptions{Level: cfg.logLevel}))
	if cfg.transport == "stdio" {
		if ignored := flags.explicitlySet(flags.groupNamed(groupHTTP)); len(ignored) > 0 {
			logger.Warn("flags for the HTTP transports have no effect with --transport stdio",
				"ignored", "--"+strings.Join(ignored, ", --"), "hint", "add --transport http (or sse) to serve over HTTP")
		}
	}
	if cfg.http.needsLocalToken(cfg.transport, cfg.addr, cfg.emulator) {
		if err := cfg.http.useLocalToken(cfg.state, stderr); err != nil {
			return err
		}
	}
	state, err := openState(cfg.state, logger)
	if err != nil {
		return err
	}
	defer state.close()
	backend := newBackend(cfg, logger, state)
	defer backend.close()
	if cfg.guard.auditLog == "" && cfg.state.dir != "" {
		cfg.guard.auditLog = filepath.Join(cfg.state.dir, "audit.jsonl") // --state-dir moves the default too
	}
	if backend.audit, err = openAuditLog(cfg.guard, logger); err != nil {
		return err
	}
	defer backend.audit.Close()
	if cfg.http.oauth && cfg.emulator {
		// The emulator signs callers in, so its URL must be known up front.
		if _, err := backend.emulatorClient(); err != nil {
			return err
		}
	}
	backend.audit.ShareScrubber(secrets)

	opts := serverOptions(cfg, logger, backend)
	opts.StartAttrs = startAttrs(cfg, backend.audit)
	srv, err := mcpserver.New(opts)
	if err != nil {
		return err
	}
	defer srv.Close() // stops the resource poller; subscriptions end with their sessions
	if cfg.transport == "stdio" {
		logger.Debug("serving MCP over stdio", "emulator", cfg.emulator, "read_only", cfg.readOnly)
		return srv.ServeStdio(ctx, serveStdin, stdout)
	}
	// Refuses a non-loopback address unless auth is configured (serve_http.go).
	return srv.ListenAndServe(ctx, cfg.addr)
}

// startAttrs describe the server in the one line it logs when it starts
// serving: which API it talks to, where it audits, and what a listener on
// every interface still needs.
func startAttrs(cfg serveConfig, log *audit.Log) []any {
	api := hfapi.ConfigFromEnv().APIBase
	switch {
	case cfg.emulator && cfg.http.oauth:
		api = "in-process emulator (which also signs callers in)"
	case cfg.emulator:
		api = "in-process emulator (started on the first call)"
	case cfg.http.passThrough:
		api += " (each caller's token)"
	}
	if cfg.http.oauth {
		api += "; callers sign in with OAuth"
	}
	auditPath := "off"
	if log.Enabled() {
		auditPath = log.Path()
	}
	attrs := []any{"api", api, "audit_log", auditPath}
	if cfg.transport != "stdio" && listensOnEveryInterface(cfg.addr) && len(cfg.http.allowedHosts) == 0 {
		attrs = append(attrs, "note", "clients that reach this server by a name or address other than localhost need --allowed-hosts")
	}
	return attrs
}

// listensOnEveryInterface reports an unspecified host: "", 0.0.0.0 or ::.
func listensOnEveryInterface(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "" || (ip != nil && ip.IsUnspecified())
}

// serverOptions turns the configuration into the MCP server's options; the
// place to wire features that extend the server (guardrails, resources,
// prompts, HTTP middleware).
func serverOptions(cfg serveConfig, logger *slog.Logger, backend *backend) mcpserver.Options {
	return mcpserver.Options{
		NewClient: backend.client,
		Toolsets:  []string{cfg.toolsets},
		ReadOnly:  cfg.readOnly,
		Logger:    logger,
		Version:   Version,
		WaitPoll:  cfg.waitPoll,

		ConfirmWith:        cfg.guard.confirmWith,
		DisableDestructive: cfg.guard.disableDestructive,
		Audit:              backend.audit,
		Secrets:            backend.audit.Scrubber(),

		MaxConcurrentCalls: cfg.bounds.maxCalls,
		MaxCallsPerCaller:  cfg.bounds.maxCallsPerCaller,

		HTTP:         cfg.http.options(logger, backend, cfg.bounds),
		SharePolling: backend.state.sharePolling(),
		Hooks:        afterStartUp(),
	}
}

// afterStartUp is work that start-up need not wait for, done once a client
// has been initialized, or has sent its first request other than ping in the
// 2026-07-28 era, which has no initialize: handing back the pages of the
// chart fonts that gonum.org/v1/plot parsed at init (1.8 MB resident; the
// release would slow start-up by some 0.3 ms). It runs on a goroutine of its
// own, beside the client's next requests; a chart drawn meanwhile reads the
// same bytes.
func afterStartUp() *server.Hooks {
	hooks := &server.Hooks{}
	var once sync.Once
	release := func() { once.Do(func() { go releaseChartFonts() }) }
	hooks.AddAfterInitialize(func(context.Context, any, *mcp.InitializeRequest, *mcp.InitializeResult) { release() })
	hooks.AddBeforeAny(func(_ context.Context, _ any, method mcp.MCPMethod, _ any) {
		if method != mcp.MethodPing && method != mcp.MethodInitialize {
			release()
		}
	})
	return hooks
}

// releaseChartFonts is tools.ReleaseChartFontPages; tests count its calls.
var releaseChartFonts = tools.ReleaseChartFontPages

// backend builds the API client on first use: against Hugging Face with the
// discovered token, or against an emulator it starts on a free loopback port.
type backend struct {
	cfg    serveConfig
	logger *slog.Logger

	// issuer is shared by every client built, so a confirmation token issued
	// through one is accepted by the next (and, through state, by replicas).
	issuer *hfapi.Issuer
	state  *sharedState
	audit  *audit.Log

	mu     sync.Mutex
	emu    *emulator.Server // the emulator this process serves
	emuURL string           // or the one another process serves (serve_emulator.go)
	// emulatorHTTP carries the emulator clients' requests, taking the emulator over when
	// the process serving it stops.
	emulatorHTTP *http.Client
}

func newBackend(cfg serveConfig, logger *slog.Logger, state *sharedState) *backend {
	if !cfg.emulator && !cfg.http.passThrough {
		// A cheap check (environment and a few files) so a missing token is
		// visible at start; tools report it too, and pick it up once it is set.
		if _, err := hfapi.DiscoverToken(); err != nil {
			logger.Warn("no Hugging Face token yet; tools will fail until one is set", "err", err)
		}
	}
	b := &backend{cfg: cfg, logger: logger, issuer: state.issuer, state: state}
	b.emulatorHTTP = &http.Client{Transport: emulatorTransport{b: b, next: apiHTTPClient.Transport}}
	return b
}

func (b *backend) client(ctx context.Context) (*hfapi.Client, error) {
	if b.cfg.emulator {
		return b.emulatorClient()
	}
	token, err := hfapi.DiscoverToken()
	if err != nil {
		return nil, err
	}
	cfg := hfapi.ConfigFromEnv()
	cfg.Token = token
	cfg.UserAgent = "hf-endpoints-mcp/" + Version
	cfg.HTTPClient = apiHTTPClient
	b.guardClient(&cfg)
	return hfapi.New(cfg)
}

func (b *backend) emulatorClient() (*hfapi.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	url, err := b.emulatorURL()
	if err != nil {
		return nil, err
	}
	cfg := emulatorConfig(url)
	cfg.Token, cfg.UserAgent, cfg.HTTPClient = emulator.DefaultToken, "hf-endpoints-mcp/"+Version, b.emulatorHTTP
	b.guardClient(&cfg)
	return hfapi.New(cfg)
}

func (b *backend) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.emu != nil {
		if err := b.emu.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			b.logger.Warn("closing the emulator", "err", err)
		}
		b.emu = nil
	}
}
