package httpsec

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Config gathers the HTTP listener's security settings.
type Config struct {
	// Addr is the listen address; pass the listener's resolved address when listening on port 0.
	Addr string
	// Auth configures bearer authentication; a non-loopback Addr requires it (see CheckListenAddr).
	Auth AuthOptions
	// AllowedHosts and AllowedOrigins extend the loopback defaults (see NewAllowlist).
	AllowedHosts   []string
	AllowedOrigins []string
	// MaxBodyBytes caps request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// BodyReadTimeout bounds reading a request body; 0 means DefaultBodyReadTimeout.
	BodyReadTimeout time.Duration
	// BodyBudget bounds the request bodies held in memory at once; 0 means DefaultBodyBudget.
	BodyBudget int64
	// RequestRate caps one caller's requests a second; 0 means DefaultRequestRate, negative is no cap.
	RequestRate float64
	// Logger receives the request log; nil means slog.Default().
	Logger *slog.Logger
}

// Handler checks the configuration and wraps h with every protection, outermost first: request log,
// Host/Origin allowlist, query-token refusal, bearer auth, per-caller rate limit, body limit. Refusals
// therefore happen before any body is buffered, and every response, refusals included, is logged. Auth.PublicPaths skip the
// allowlist as well as auth: a health check is probed by address (a Kubernetes probe sends the pod's IP
// as Host) and reveals nothing a rebinding page could use.
func (c Config) Handler(h http.Handler) (http.Handler, error) {
	if err := CheckListenAddr(c.Addr, c.Auth.Configured()); err != nil {
		return nil, err
	}
	allow, err := NewAllowlist(c.Addr, c.AllowedHosts, c.AllowedOrigins)
	if err != nil {
		return nil, fmt.Errorf("httpsec: %w", err)
	}
	auth := c.Auth
	if auth.Logger == nil {
		auth.Logger = c.Logger
	}
	return Chain(h,
		LogRequests(c.Logger),
		except(c.Auth.PublicPaths, allow.Guard()),
		RejectQueryTokens(),
		RequireBearer(auth),
		LimitRate(c.RequestRate),
		LimitBodies(BodyLimits{Max: c.MaxBodyBytes, ReadTimeout: c.BodyReadTimeout, Budget: c.BodyBudget}),
	), nil
}

// except applies mw to every request but those for the given exact paths.
func except(paths []string, mw Middleware) Middleware {
	if len(paths) == 0 {
		return mw
	}
	skip := make(map[string]bool, len(paths))
	for _, p := range paths {
		skip[p] = true
	}
	return func(next http.Handler) http.Handler {
		guarded := mw(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if skip[r.URL.Path] {
				next.ServeHTTP(w, r)
				return
			}
			guarded.ServeHTTP(w, r)
		})
	}
}
