package resources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// API is the part of *hfapi.Client the resources use.
type API interface {
	DefaultNamespace(ctx context.Context) (string, error)
	List(ctx context.Context, namespace string) ([]hfapi.Endpoint, error)
	ListRaw(ctx context.Context, namespace string) ([]json.RawMessage, error)
	Get(ctx context.Context, namespace, name string) (*hfapi.Endpoint, error)
	ListHardware(ctx context.Context, namespace string) ([]hfapi.Vendor, error)
	// Whoami names the token's user and organizations: the namespaces it may subscribe to.
	Whoami(ctx context.Context) (*hfapi.Whoami, error)
}

// Options configure a Service. API or APIFor is required.
type Options struct {
	// API is the client of every caller: the server's own token.
	API API
	// APIFor, when set, gives the client of the caller of a request (Hugging Face token
	// pass-through) and a key naming that caller (never the token itself). Each caller then
	// reads with, subscribes under and is polled with their own client: the subscriptions of
	// different callers never share a poll, so nobody hears of endpoints they cannot see, and
	// a caller's list_changed reaches only that caller's sessions and listen streams.
	APIFor func(ctx context.Context) (key string, api API, err error)
	// FastPoll and SlowPoll are the poll intervals (defaults DefaultFastPoll, DefaultSlowPoll).
	FastPoll, SlowPoll time.Duration
	// HardwareTTL is how long a namespace's hardware catalog is reused (default DefaultHardwareTTL).
	HardwareTTL time.Duration
	// Logger receives failures that do not reach a client (default: discard).
	Logger *slog.Logger
	// MaxSubscriptionsPerSubscriber and MaxSubscriptions cap the subscriptions of one session
	// (or listen stream) and of the process (defaults DefaultMaxSubscriptionsPerSubscriber,
	// DefaultMaxSubscriptions); see CheckSubscribe.
	MaxSubscriptionsPerSubscriber, MaxSubscriptions int
	// SharePolling, when set, shares the polling of each scope's namespaces with other
	// replicas (see PollerOptions.Share); scope is "" for API, else a key naming the caller.
	SharePolling SharePolling
}

// SharePolling joins the polling of namespace for scope with the other replicas.
type SharePolling func(scope, namespace string, onList func(payload []byte), onLead func()) PollShare

// maxIdleScopes bounds how many callers without subscriptions keep their hardware catalogs.
const maxIdleScopes = 256

// scope is what one caller (one API client) has: its hardware catalogs and its poller with
// the subscriptions it drives.
type scope struct {
	key     string // "" for Options.API, else "caller:" and the caller's key
	api     API
	hw      *HardwareCache
	poller  *Poller
	visible visibleNamespaces // what the token may subscribe to (admission.go)
}

// Service is the endpoint status resources: reading, listing, the subscription registry and
// the shared poller, per caller when tokens are passed through. Create it with New and Close
// it when done.
type Service struct {
	opts Options
	log  *slog.Logger

	mu          sync.Mutex
	scopes      map[string]*scope           // "" = Options.API
	audience    *audience                   // who belongs to which scope (token pass-through)
	listChanged func(key, namespace string) // set by Register: tell scope key's clients
	closed      bool

	// ctx bounds background work started by Publish with an unresolved namespace.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a Service over opts.API (or opts.APIFor).
func New(opts Options) (*Service, error) {
	if opts.API == nil && opts.APIFor == nil {
		return nil, errors.New("resources: set Options.API (an *hfapi.Client) or Options.APIFor")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts.Logger = log
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{opts: opts, log: log, scopes: map[string]*scope{}, audience: newAudience(), ctx: ctx, cancel: cancel}
	if opts.API != nil {
		s.scopes[""] = s.newScope("", opts.API)
	}
	return s, nil
}

func (s *Service) newScope(key string, api API) *scope {
	opts := PollerOptions{
		Fast: s.opts.FastPoll, Slow: s.opts.SlowPoll, Logger: s.log,
		OnListChanged: func(ns string) { s.onListChanged(key, ns) },
	}
	if share := s.opts.SharePolling; share != nil {
		opts.Share = func(ns string, onList func([]byte), onLead func()) PollShare { return share(key, ns, onList, onLead) }
	}
	return &scope{key: key, api: api, hw: NewHardwareCache(api, s.opts.HardwareTTL), poller: NewPoller(api, opts)}
}

// scopeKey names the scope of the caller of ctx's request and gives their client.
func (s *Service) scopeKey(ctx context.Context) (string, API, error) {
	if s.opts.APIFor == nil {
		return "", s.opts.API, nil
	}
	k, a, err := s.opts.APIFor(ctx)
	if err != nil {
		return "", nil, err
	}
	return "caller:" + k, a, nil
}

// scopeFor returns the scope of the caller of ctx's request.
func (s *Service) scopeFor(ctx context.Context) (*scope, error) { return s.withScope(ctx, nil) }

// withScope finds (or makes) the scope of ctx's caller and runs f on it, if set, before the
// scope could be evicted.
func (s *Service) withScope(ctx context.Context, f func(*scope) error) (*scope, error) {
	key, api, err := s.scopeKey(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("resources: the service is closed")
	}
	sc := s.scopes[key]
	var evicted []*scope
	if sc == nil {
		evicted = s.evictIdleLocked()
		sc = s.newScope(key, api)
		s.scopes[key] = sc
	}
	if f != nil {
		err = f(sc)
	}
	s.mu.Unlock()
	for _, e := range evicted {
		_ = e.poller.Close()
	}
	return sc, err
}

// evictIdleLocked forgets callers without subscriptions once there are too many of them; the
// caller closes their pollers after unlocking.
func (s *Service) evictIdleLocked() []*scope {
	if len(s.scopes) < maxIdleScopes {
		return nil
	}
	var out []*scope
	for key, sc := range s.scopes {
		if key != "" && sc.poller.Registry().Len() == 0 {
			out = append(out, sc)
			delete(s.scopes, key)
		}
	}
	return out
}

func (s *Service) allScopes() []*scope {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*scope, 0, len(s.scopes))
	for _, sc := range s.scopes {
		out = append(out, sc)
	}
	return out
}

// Poller returns the poller of Options.API's subscriptions (nil without Options.API).
func (s *Service) Poller() *Poller {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc := s.scopes[""]; sc != nil {
		return sc.poller
	}
	return nil
}

// Registry returns the registry of Options.API's subscriptions (nil without Options.API).
func (s *Service) Registry() *Registry {
	if p := s.Poller(); p != nil {
		return p.Registry()
	}
	return nil
}

// Close stops polling and waits for background work to end.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	for _, sc := range s.allScopes() {
		_ = sc.poller.Close()
	}
	return nil
}

// Read returns the status document of the endpoint uri names. An endpoint the token cannot
// see is an error wrapping server.ErrResourceNotFound. The cost is null when the hardware
// catalog has no price for it or cannot be fetched; that never fails the read.
func (s *Service) Read(ctx context.Context, uri string) (StatusDocument, error) {
	ns, name, err := ParseURI(uri)
	if err != nil {
		return StatusDocument{}, fmt.Errorf("%w: %w", server.ErrResourceNotFound, err)
	}
	sc, err := s.scopeFor(ctx)
	if err != nil {
		return StatusDocument{}, fmt.Errorf("reading %s: %w", uri, err)
	}
	ep, err := sc.api.Get(ctx, ns, name)
	if err != nil {
		if hfapi.IsNotFound(err) {
			return StatusDocument{}, fmt.Errorf("%w: %s: there is no endpoint %q in namespace %q that this token can see; resources/list or the list_endpoints tool show the endpoints",
				server.ErrResourceNotFound, uri, name, ns)
		}
		return StatusDocument{}, fmt.Errorf("reading %s: %w", uri, err)
	}
	return NewStatusDocument(ns, ep, s.cost(ctx, sc, ns, ep)), nil
}

func (s *Service) cost(ctx context.Context, sc *scope, ns string, ep *hfapi.Endpoint) *hfapi.Cost {
	vendors, err := sc.hw.Vendors(ctx, ns)
	if err != nil {
		s.log.Debug("no hardware catalog for the cost estimate", "namespace", ns, "err", err)
		return nil
	}
	c, err := hfapi.EstimateEndpointCost(ep, vendors)
	if err != nil {
		return nil
	}
	return &c
}

// List returns one resource per endpoint of the default namespace.
func (s *Service) List(ctx context.Context) ([]mcp.Resource, error) {
	sc, err := s.scopeFor(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing endpoint resources: %w", err)
	}
	ns, err := sc.api.DefaultNamespace(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing endpoint resources: %w", err)
	}
	eps, err := sc.api.List(ctx, ns)
	if err != nil {
		return nil, fmt.Errorf("listing endpoint resources of %s: %w", ns, err)
	}
	out := make([]mcp.Resource, 0, len(eps))
	for i := range eps {
		out = append(out, resourceOf(ns, &eps[i]))
	}
	return out, nil
}

func resourceOf(ns string, ep *hfapi.Endpoint) mcp.Resource {
	desc := fmt.Sprintf("Status of the Inference Endpoint %s/%s serving %s on %s %s %s in %s %s: state, URL, replicas, scaling and estimated hourly cost.",
		ns, ep.Name, orUnknown(ep.Model.Repository), orUnknown(ep.Compute.Accelerator), ep.Compute.InstanceType,
		ep.Compute.InstanceSize, orUnknown(ep.Provider.Vendor), ep.Provider.Region)
	return mcp.NewResource(URI(ns, ep.Name), ep.Name,
		mcp.WithResourceTitle("Endpoint "+ns+"/"+ep.Name),
		mcp.WithResourceDescription(desc),
		mcp.WithMIMEType(MIMEType))
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// Template returns the endpoint status resource template with its read handler.
func (s *Service) Template() server.ServerResourceTemplate {
	t := mcp.NewResourceTemplate(URITemplate, "endpoint_status",
		mcp.WithTemplateTitle("Inference Endpoint status"),
		mcp.WithTemplateDescription("Live status of one Inference Endpoint as JSON: state, message, URL, replicas, model, hardware, scaling, estimated hourly cost and timestamps. Subscribe to be notified when it changes. Example: hf-endpoints://my-user/my-endpoint"),
		mcp.WithTemplateMIMEType(MIMEType))
	return server.ServerResourceTemplate{Template: t, Handler: s.handleRead}
}

func (s *Service) handleRead(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	doc, err := s.Read(ctx, req.Params.URI)
	if err != nil {
		return nil, err
	}
	body, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the status document of %s: %w", req.Params.URI, err)
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: MIMEType, Text: string(body)}}, nil
}

// Publish tells subscribers at once about an endpoint a tool just changed (namespace ""
// means the default namespace); ctx is the tool call's, naming its caller. It never blocks
// the caller on the network.
func (s *Service) Publish(ctx context.Context, namespace string, ep *hfapi.Endpoint) {
	sc, err := s.scopeFor(ctx)
	if ep == nil || err != nil {
		return
	}
	s.withNamespace(sc, namespace, func(ns string) { sc.poller.Publish(ns, ep) })
}

// PublishRemoval tells subscribers at once that a tool deleted namespace/name. The resource
// list changed even when nobody watches the namespace, so the caller's clients hear of that in
// any case (and only theirs: other callers' pollers see the removal if it concerns them).
func (s *Service) PublishRemoval(ctx context.Context, namespace, name string) {
	sc, err := s.scopeFor(ctx)
	if err != nil {
		return // no caller (or closed): nobody to tell
	}
	if sc.poller.Registry().Len() == 0 || (namespace != "" && !sc.poller.Watched(namespace)) {
		s.onListChanged(sc.key, namespace)
		return
	}
	s.withNamespace(sc, namespace, func(ns string) {
		if sc.poller.Watched(ns) {
			sc.poller.PublishRemoval(ns, name)
		} else {
			s.onListChanged(sc.key, ns)
		}
	})
}

// withNamespace runs f with namespace resolved. Resolving the default namespace may need a
// whoami call (cached after the first), so it runs in the background then; nothing is done
// when the caller subscribes to nothing.
func (s *Service) withNamespace(sc *scope, namespace string, f func(ns string)) {
	if namespace != "" {
		f(namespace)
		return
	}
	if sc.poller.Registry().Len() == 0 {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(s.ctx, listTimeout)
		defer cancel()
		if ns, err := sc.api.DefaultNamespace(ctx); err == nil {
			f(ns)
		}
	}()
}

// onListChanged tells the clients of scope key that their resource list changed.
func (s *Service) onListChanged(key, namespace string) {
	s.mu.Lock()
	f := s.listChanged
	s.mu.Unlock()
	if f != nil {
		f(key, namespace)
	}
}
