package httpsec

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/scrub"
)

// Realm is the realm announced in WWW-Authenticate challenges.
const Realm = "hf-endpoints-mcp"

// ErrInvalidToken is returned (possibly wrapped) by an AuthOptions.Validate callback when the token is
// wrong, expired or revoked; the client gets 401. Any other error means validation could not be done
// (e.g. the Hub is unreachable) and the client gets 503.
var ErrInvalidToken = errors.New("invalid bearer token")

// Grant is what validating a token learned about it.
type Grant struct {
	// Expires is when the token stops being valid; a validation is never trusted past it. Zero: not
	// known (ValidateTTL alone applies).
	Expires time.Time
	// Scopes are the scopes the token was granted, when the issuer says (nil: not known, not checked).
	// With AuthOptions.Resource, a token lacking one of Resource.Scopes gets 403 insufficient_scope.
	Scopes []string
	// Subject is who the token stands for (e.g. "hf-user:<id>"), when that, rather than the token,
	// should name the caller: a refreshed OAuth token is still the same caller. Requests carry it
	// (see CallerFrom). Empty: the caller is the token.
	Subject string
	// Name is who the token stands for, for people to read (e.g. the Hub username); requests carry it
	// (see CallerNameFrom).
	Name string
}

// AuthOptions configures RequireBearer. At least one of Token and Validate must be set; when both are,
// the bearer must satisfy both.
type AuthOptions struct {
	// Token is a static shared secret (--auth-token / MCP_AUTH_TOKEN).
	Token string
	// Validate checks the bearer, e.g. against the Hub's whoami in HF token pass-through mode.
	// Successful results are cached for ValidateTTL (never past Grant.Expires) so it runs on connect,
	// not on every request.
	Validate func(ctx context.Context, token string) (Grant, error)
	// ValidateTTL is how long a successful validation is trusted; default 5 minutes.
	ValidateTTL time.Duration
	// ValidateRate bounds how many tokens not yet validated are checked per second (default 10, in
	// bursts of up to twice that): each check is a request to the Hub, and a flood of made-up tokens must
	// not become a flood of whoami calls. A new token beyond it gets 429 with Retry-After.
	ValidateRate float64
	// PassThrough stores the bearer in the request context as the HF token (see HFTokenFrom).
	PassThrough bool
	// PublicPaths are exact paths served without auth (e.g. "/healthz").
	PublicPaths []string
	// Resource, when set, makes the server an OAuth 2.0 protected resource (MCP authorization): its
	// metadata is served without auth, and challenges point to it (see ProtectedResource).
	Resource *ProtectedResource
	// Logger receives validation failures (never the token); nil means slog.Default().
	Logger *slog.Logger
}

// Configured reports whether the options require any authentication.
func (o AuthOptions) Configured() bool { return o.Token != "" || o.Validate != nil }

type (
	hfTokenKey    struct{}
	callerKey     struct{}
	callerNameKey struct{}
)

// WithCaller returns ctx carrying the subject of the request's token (Grant.Subject).
func WithCaller(ctx context.Context, subject string) context.Context {
	return context.WithValue(ctx, callerKey{}, subject)
}

// CallerFrom returns the subject of the request's token stored by WithCaller, if any.
func CallerFrom(ctx context.Context) (string, bool) {
	s, ok := ctx.Value(callerKey{}).(string)
	return s, ok && s != ""
}

// CallerNameFrom returns the Grant.Name of the request's token, if validation gave one.
func CallerNameFrom(ctx context.Context) (string, bool) {
	s, ok := ctx.Value(callerNameKey{}).(string)
	return s, ok && s != ""
}

// WithHFToken returns ctx carrying tok as the per-request Hugging Face token.
func WithHFToken(ctx context.Context, tok string) context.Context {
	return context.WithValue(ctx, hfTokenKey{}, tok)
}

// HFTokenFrom returns the per-request Hugging Face token stored by WithHFToken, if any.
func HFTokenFrom(ctx context.Context) (string, bool) {
	tok, ok := ctx.Value(hfTokenKey{}).(string)
	return tok, ok && tok != ""
}

// BearerToken returns the token of an "Authorization: Bearer <token>" header (scheme case-insensitive).
func BearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// RequireBearer returns middleware that answers 401 with a WWW-Authenticate challenge unless the request
// carries a valid bearer token. With neither Token nor Validate set it is a no-op.
func RequireBearer(opts AuthOptions) Middleware {
	if !opts.Configured() {
		return func(next http.Handler) http.Handler { return next }
	}
	a := &authenticator{opts: opts, cache: newValidCache(opts.ValidateTTL), limit: newRateLimiter(opts.ValidateRate, time.Now)}
	if opts.Token != "" {
		a.want = sha256.Sum256([]byte(opts.Token))
	}
	if a.opts.Logger == nil {
		a.opts.Logger = slog.Default()
	}
	public := make(map[string]bool, len(opts.PublicPaths))
	for _, p := range opts.PublicPaths {
		public[p] = true
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if public[r.URL.Path] {
				next.ServeHTTP(w, r)
				return
			}
			if opts.Resource.serveMetadata(w, r) {
				return
			}
			tok, g, ok := a.check(w, r)
			if !ok {
				return
			}
			if g.Subject != "" {
				r = r.WithContext(WithCaller(r.Context(), g.Subject))
			}
			if g.Name != "" {
				r = r.WithContext(context.WithValue(r.Context(), callerNameKey{}, g.Name))
			}
			if opts.PassThrough {
				r = r.WithContext(WithHFToken(r.Context(), tok))
			}
			next.ServeHTTP(w, r)
		})
	}
}

type authenticator struct {
	opts  AuthOptions
	want  [sha256.Size]byte
	cache *validCache
	limit *rateLimiter // of Validate calls
}

// check authenticates r, writing the error response itself when it returns false; g is what the
// token's validation said of it (its Subject and Name), cached or fresh.
func (a *authenticator) check(w http.ResponseWriter, r *http.Request) (tok string, g Grant, ok bool) {
	tok, ok = BearerToken(r)
	if !ok {
		a.challenge(w, r, http.StatusUnauthorized, "", "missing bearer token: send the header Authorization: Bearer <token>")
		return "", Grant{}, false
	}
	sum := sha256.Sum256([]byte(tok))
	// Comparing fixed-length digests keeps the comparison constant-time without leaking the length.
	if a.opts.Token != "" && subtle.ConstantTimeCompare(sum[:], a.want[:]) != 1 {
		a.challenge(w, r, http.StatusUnauthorized, "invalid_token", "invalid bearer token")
		return "", Grant{}, false
	}
	if a.opts.Validate == nil {
		return tok, Grant{}, true
	}
	if g, ok := a.cache.valid(sum); ok {
		return tok, g, true
	}
	if wait, ok := a.limit.take(); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		writeError(w, http.StatusTooManyRequests, "too many new bearer tokens to verify right now; retry after the Retry-After delay")
		return "", Grant{}, false
	}
	grant, err := a.opts.Validate(r.Context(), tok)
	if err != nil {
		if errors.Is(err, ErrInvalidToken) {
			a.challenge(w, r, http.StatusUnauthorized, "invalid_token", "invalid bearer token: the Hugging Face Hub rejected it")
			return "", Grant{}, false
		}
		a.opts.Logger.WarnContext(r.Context(), "bearer token validation failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "could not validate the bearer token right now; try again")
		return "", Grant{}, false
	}
	if missing := a.opts.Resource.missingScopes(grant); len(missing) > 0 {
		a.challenge(w, r, http.StatusForbidden, "insufficient_scope", "the token lacks the scope "+strings.Join(missing, " ")+
			": sign in again granting "+strings.Join(a.opts.Resource.Scopes, " "))
		return "", Grant{}, false
	}
	a.cache.store(sum, grant)
	return tok, grant, true
}

// defaultValidateRate is AuthOptions.ValidateRate's default, per second.
const defaultValidateRate = 10

// rateLimiter is a token bucket: rate tokens a second, holding at most twice that (and at least one).
type rateLimiter struct {
	rate, burst float64
	now         func() time.Time

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newRateLimiter(rate float64, now func() time.Time) *rateLimiter {
	if rate <= 0 {
		rate = defaultValidateRate
	}
	burst := max(2*rate, 1)
	return &rateLimiter{rate: rate, burst: burst, now: now, tokens: burst, last: now()}
}

// take uses one token if there is one; otherwise it reports how long until there will be.
func (l *rateLimiter) take() (wait time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.tokens = math.Min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	l.last = now
	if l.tokens >= 1 {
		l.tokens--
		return 0, true
	}
	return time.Duration((1 - l.tokens) / l.rate * float64(time.Second)), false
}

// challenge writes a 401 or 403 with a Bearer challenge (RFC 6750) and a JSON error body. With a
// Resource, the challenge names its metadata and scopes (RFC 9728 §5.1, MCP authorization).
func (a *authenticator) challenge(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	v := `Bearer realm="` + Realm + `"`
	if code != "" {
		v += `, error="` + code + `"`
	}
	if res := a.opts.Resource; res != nil {
		v += `, resource_metadata="` + res.MetadataURL(r) + `"`
		if len(res.Scopes) > 0 {
			v += `, scope="` + strings.Join(res.Scopes, " ") + `"`
		}
	}
	w.Header().Set("WWW-Authenticate", v)
	writeError(w, status, msg)
}

// validCache remembers digests of tokens that passed Validate, so the callback runs at connect time and
// then once per TTL rather than on every request. Only digests are stored, never tokens.
type validCache struct {
	ttl time.Duration
	mu  sync.Mutex
	exp map[[sha256.Size]byte]validEntry
}

type validEntry struct {
	exp           time.Time
	subject, name string
}

const maxCachedTokens = 1024

func newValidCache(ttl time.Duration) *validCache {
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	return &validCache{ttl: ttl, exp: make(map[[sha256.Size]byte]validEntry)}
}

// valid reports whether sum is trusted, and the subject and name of its grant.
func (c *validCache) valid(sum [sha256.Size]byte) (Grant, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.exp[sum]
	return Grant{Subject: e.subject, Name: e.name}, ok && time.Now().Before(e.exp)
}

// store trusts sum for the TTL, or until the grant expires when that is sooner.
func (c *validCache) store(sum [sha256.Size]byte, g Grant) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if len(c.exp) >= maxCachedTokens {
		for k, e := range c.exp {
			if !now.Before(e.exp) {
				delete(c.exp, k)
			}
		}
		if len(c.exp) >= maxCachedTokens {
			clear(c.exp)
		}
	}
	exp := now.Add(c.ttl)
	if !g.Expires.IsZero() && g.Expires.Before(exp) {
		exp = g.Expires
	}
	c.exp[sum] = validEntry{exp: exp, subject: g.Subject, name: g.Name}
}

// queryTokenParams are query parameters that look like credentials. URLs end up in logs, proxies and
// browser history, so a token there is refused rather than silently ignored.
var queryTokenParams = map[string]bool{
	"access_token": true, "token": true, "api_key": true, "apikey": true, "api-key": true,
	"auth": true, "auth_token": true, "authorization": true, "hf_token": true, "bearer": true,
	"password": true, "secret": true, "key": true,
}

// RejectQueryTokens returns middleware that answers 400 when the query string carries a parameter that
// looks like a credential (access_token, token, api_key, …), or any name or value that looks like a
// Hugging Face token, as is or encoded, telling the client to use the header instead. The refusal
// never repeats what the query carried.
func RejectQueryTokens() Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if hfTokenInQuery(r.URL.RawQuery) {
				writeError(w, http.StatusBadRequest, "the URL query string carries what looks like a Hugging "+
					"Face token, which is refused (URLs end up in logs and histories); send it in the header "+
					"Authorization: Bearer <token>")
				return
			}
			for k := range r.URL.Query() {
				if queryTokenParams[strings.ToLower(k)] {
					writeError(w, http.StatusBadRequest, "credentials in the URL query string are refused "+
						"(parameter "+strings.ToLower(k)+"); send them in the header Authorization: Bearer <token>")
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// hfTokenInQuery reports whether a raw query string holds an HF token, in any parameter's name or
// value, raw, percent-encoded or JSON-escaped.
func hfTokenInQuery(raw string) bool {
	if raw == "" {
		return false
	}
	if scrub.ContainsHFToken(raw) {
		return true
	}
	q, _ := url.ParseQuery(raw) // '+' for spaces and the like
	for k, vs := range q {
		if scrub.ContainsHFToken(k) || slices.ContainsFunc(vs, scrub.ContainsHFToken) {
			return true
		}
	}
	return false
}

// full reports whether the bucket has refilled completely.
func (l *rateLimiter) full() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tokens+l.now().Sub(l.last).Seconds()*l.rate >= l.burst
}
