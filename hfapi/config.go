package hfapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/scrub"
)

// Default base URLs of the services the client talks to.
const (
	DefaultAPIBase     = "https://api.endpoints.huggingface.cloud/v2"
	DefaultHubBase     = "https://huggingface.co"
	DefaultCatalogBase = "https://endpoints.huggingface.co/api/catalog"
)

// Config configures a Client. The zero value of every field but Token means "use the default".
type Config struct {
	Token       string // Hugging Face access token; never printed (see String/Format)
	APIBase     string // management API, e.g. https://api.endpoints.huggingface.cloud/v2
	HubBase     string // Hub, for whoami
	CatalogBase string // inference catalog API
	Namespace   string // default namespace; empty = the token's user (whoami)
	UserAgent   string
	HTTPClient  *http.Client
	Retry       RetryPolicy // zero = defaults
	// Timeouts bound every upstream request (zero fields = the defaults, e.g. 30 s for the
	// management API), so that an upstream that never answers cannot hold a call for ever.
	Timeouts Timeouts
	// MaxHourlyCost is the estimated cost (USD/h, pricePerHour × maxReplica) above which Create,
	// CreateFromCatalog, Update and Resume need a confirmation: 0 means DefaultMaxHourlyCost (10),
	// a negative value (NoCostCeiling) means no ceiling. Deletes always need one.
	MaxHourlyCost float64
	// Confirmations issues and redeems confirmation tokens; nil gives the client its own. Share one
	// between clients that must accept each other's tokens.
	Confirmations *Issuer
	// Caller is who confirmation tokens are bound to: a token issued to one caller is refused to
	// another. Empty: the caller is Token. Set it when one caller's token changes, as an OAuth access
	// token does on refresh, so that a confirmation survives the refresh.
	Caller string
	// EndpointLocks, when set, serialises the changes of one endpoint across every process that
	// shares it (replicas sharing Redis), as this package's own lock does within a process (lock.go).
	EndpointLocks EndpointLocker
}

// RetryPolicy bounds the retries of idempotent reads. Zero fields take the defaults.
type RetryPolicy struct {
	MaxAttempts int           // total attempts including the first (default 4)
	BaseDelay   time.Duration // first backoff (default 250ms), doubled each attempt, jittered
	MaxDelay    time.Duration // cap of one backoff, Retry-After included (default 10s)
	MaxElapsed  time.Duration // give up retrying after this much time (default 30s)
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 4
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 250 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 10 * time.Second
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = 30 * time.Second
	}
	return p
}

// ConfigFromEnv reads the base URLs and namespace from the environment (not the token: see DiscoverToken).
func ConfigFromEnv() Config {
	cfg := Config{
		APIBase:   envOr("HF_ENDPOINTS_API_URL", DefaultAPIBase),
		HubBase:   strings.TrimRight(envOr("HF_ENDPOINT", DefaultHubBase), "/"),
		Namespace: os.Getenv("HF_NAMESPACE"),
	}
	switch {
	case os.Getenv("HF_ENDPOINTS_CATALOG_URL") != "":
		cfg.CatalogBase = os.Getenv("HF_ENDPOINTS_CATALOG_URL")
	case cfg.HubBase == DefaultHubBase:
		cfg.CatalogBase = DefaultCatalogBase
	default:
		cfg.CatalogBase = cfg.HubBase + "/api/catalog"
	}
	return cfg
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// tokenPlaces is how error messages name where a token is looked for.
const tokenPlaces = "set HF_TOKEN, or write the token to the file named by HF_TOKEN_PATH, " +
	"to $HF_HOME/token, or to ~/.cache/huggingface/token (e.g. with `hf auth login`)"

// ErrNoToken is returned (wrapped) when no Hugging Face token can be found.
var ErrNoToken = errors.New("no Hugging Face token found: " + tokenPlaces)

// DiscoverToken finds the token like huggingface_hub: HF_TOKEN, else the file at HF_TOKEN_PATH, else
// $HF_HOME/token, else ${XDG_CACHE_HOME:-~/.cache}/huggingface/token. Values are trimmed; empty values
// and missing files are skipped. The error (ErrNoToken) names every place.
func DiscoverToken() (string, error) {
	if t := strings.TrimSpace(os.Getenv("HF_TOKEN")); t != "" {
		return t, nil
	}
	for _, path := range tokenFiles() {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // missing or unreadable: huggingface_hub also falls through
		}
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
	}
	return "", ErrNoToken
}

// tokenFiles lists the token file candidates in order: HF_TOKEN_PATH, $HF_HOME/token, then the
// default home (${XDG_CACHE_HOME:-~/.cache}/huggingface/token, as huggingface_hub computes HF_HOME).
// huggingface_hub reads only the first that applies; falling through to the next when a file is
// missing finds the same token whenever huggingface_hub would, and more often otherwise.
func tokenFiles() []string {
	var files []string
	add := func(p string) {
		p = expandHome(os.ExpandEnv(p))
		for _, f := range files {
			if f == p {
				return
			}
		}
		files = append(files, p)
	}
	if p := os.Getenv("HF_TOKEN_PATH"); p != "" {
		add(p)
	}
	if h := os.Getenv("HF_HOME"); h != "" {
		add(filepath.Join(h, "token"))
	}
	if x := os.Getenv("XDG_CACHE_HOME"); x != "" {
		add(filepath.Join(x, "huggingface", "token"))
	}
	add(filepath.Join("~", ".cache", "huggingface", "token"))
	return files
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, p[1:])
		}
	}
	return p
}

// Client talks to the Inference Endpoints API, the Hub and endpoint URLs. It is safe for concurrent use.
type Client struct {
	cfg     Config
	api     *url.URL
	hub     *url.URL
	catalog *url.URL
	http    *http.Client
	retry   RetryPolicy
	clock   clock
	// heartbeat is the longest silence between progress reports (Wait, cold starts).
	heartbeat time.Duration

	timeouts Timeouts // upstream deadlines (deadline.go)

	nsMu sync.Mutex
	ns   string // cached default namespace

	secrets *scrub.Scrubber // the token, kept out of answers and errors (transport.go)

	issuer  *Issuer // confirmation tokens (guard.go)
	caller  string  // binds this client's confirmation tokens to its token (guard.go)
	ceiling float64 // cost ceiling in USD/h; negative = none
	prices  priceCache

	catalogRepos catalogCache // CreateFromCatalog's check of the repository
}

// New checks cfg and returns a client. Empty bases take the defaults of ConfigFromEnv.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, fmt.Errorf("hfapi: %w", ErrNoToken)
	}
	cfg.Token = strings.TrimSpace(cfg.Token)
	c := &Client{cfg: cfg, http: cfg.HTTPClient, retry: cfg.Retry.withDefaults(),
		timeouts: cfg.Timeouts.withDefaults(), clock: realClock{},
		heartbeat: heartbeatPeriod, secrets: scrub.New(cfg.Token)}
	if c.http == nil {
		c.http = &http.Client{}
	}
	c.http = withRedirectRules(c.http)
	var err error
	if c.api, err = parseBase("APIBase", cfg.APIBase, DefaultAPIBase); err != nil {
		return nil, err
	}
	if c.hub, err = parseBase("HubBase", cfg.HubBase, DefaultHubBase); err != nil {
		return nil, err
	}
	catalogDefault := DefaultCatalogBase
	if cfg.HubBase != "" && strings.TrimRight(cfg.HubBase, "/") != DefaultHubBase {
		catalogDefault = strings.TrimRight(cfg.HubBase, "/") + "/api/catalog"
	}
	if c.catalog, err = parseBase("CatalogBase", cfg.CatalogBase, catalogDefault); err != nil {
		return nil, err
	}
	if c.cfg.UserAgent == "" {
		c.cfg.UserAgent = "hf-endpoints-mcp"
	}
	c.initGuard(cfg)
	return c, nil
}

func parseBase(field, raw, def string) (*url.URL, error) {
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("hfapi: %s %q is not a valid base URL: want an absolute http(s) URL such as %s", field, raw, def)
	}
	if u.User != nil {
		return nil, fmt.Errorf("hfapi: %s must not carry credentials in the URL; set Config.Token instead", field)
	}
	return u, nil
}

// redacted is how the token appears wherever a Config or Client is printed.
const redacted = "[REDACTED]"

func (cfg Config) safe() string {
	tok := ""
	if cfg.Token != "" {
		tok = redacted
	}
	return fmt.Sprintf("hfapi.Config{Token:%s APIBase:%q HubBase:%q CatalogBase:%q Namespace:%q UserAgent:%q}",
		tok, cfg.APIBase, cfg.HubBase, cfg.CatalogBase, cfg.Namespace, cfg.UserAgent)
}

// String describes the config with the token redacted.
func (cfg Config) String() string { return cfg.safe() }

// GoString is String, so %#v does not print the token either.
func (cfg Config) GoString() string { return cfg.safe() }

// Format makes every fmt verb (%v, %+v, %#v, %s, %q…) print the redacted form.
func (cfg Config) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(cfg.safe())) }

// LogValue makes slog print the redacted form.
func (cfg Config) LogValue() slog.Value { return slog.StringValue(cfg.safe()) }

func (c *Client) safe() string {
	if c == nil {
		return "hfapi.Client(nil)"
	}
	return fmt.Sprintf("hfapi.Client{API:%s Hub:%s Catalog:%s Namespace:%q Token:%s}",
		c.api, c.hub, c.catalog, c.cfg.Namespace, redacted)
}

// ScrubTokenWith registers the client's token with s, so that whatever s scrubs (the MCP
// transports' output, the audit log) never carries it, as is or encoded.
func (c *Client) ScrubTokenWith(s *scrub.Scrubber) { s.Add(c.cfg.Token) }

// String describes the client without its token.
func (c *Client) String() string { return c.safe() }

// GoString is String, so %#v does not print the token.
func (c *Client) GoString() string { return c.safe() }

// Format makes every fmt verb print the redacted form.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.safe())) }

// LogValue makes slog print the redacted form.
func (c *Client) LogValue() slog.Value { return slog.StringValue(c.safe()) }
