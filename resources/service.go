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
	Get(ctx context.Context, namespace, name string) (*hfapi.Endpoint, error)
	ListHardware(ctx context.Context, namespace string) ([]hfapi.Vendor, error)
}

// Options configure a Service. API is required.
type Options struct {
	API API
	// FastPoll and SlowPoll are the poll intervals (defaults DefaultFastPoll, DefaultSlowPoll).
	FastPoll, SlowPoll time.Duration
	// HardwareTTL is how long a namespace's hardware catalog is reused (default DefaultHardwareTTL).
	HardwareTTL time.Duration
	// Logger receives failures that do not reach a client (default: discard).
	Logger *slog.Logger
}

// Service is the endpoint status resources of one API client: reading, listing, the
// subscription registry and the shared poller. Create it with New and Close it when done.
type Service struct {
	api    API
	hw     *HardwareCache
	poller *Poller
	log    *slog.Logger

	mu          sync.Mutex
	listChanged func(namespace string) // set by Register
	closed      bool

	// ctx bounds background work started by Publish with an unresolved namespace.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a Service over opts.API.
func New(opts Options) (*Service, error) {
	if opts.API == nil {
		return nil, errors.New("resources: Options.API is required (an *hfapi.Client)")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{api: opts.API, hw: NewHardwareCache(opts.API, opts.HardwareTTL), log: log, ctx: ctx, cancel: cancel}
	s.poller = NewPoller(opts.API, PollerOptions{
		Fast: opts.FastPoll, Slow: opts.SlowPoll, Logger: log, OnListChanged: s.onListChanged,
	})
	return s, nil
}

// Poller returns the shared poller.
func (s *Service) Poller() *Poller { return s.poller }

// Registry returns the subscription registry.
func (s *Service) Registry() *Registry { return s.poller.Registry() }

// Close stops polling and waits for background work to end.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return s.poller.Close()
}

// Read returns the status document of the endpoint uri names. An endpoint the token cannot
// see is an error wrapping server.ErrResourceNotFound. The cost is null when the hardware
// catalog has no price for it or cannot be fetched; that never fails the read.
func (s *Service) Read(ctx context.Context, uri string) (StatusDocument, error) {
	ns, name, err := ParseURI(uri)
	if err != nil {
		return StatusDocument{}, fmt.Errorf("%w: %w", server.ErrResourceNotFound, err)
	}
	ep, err := s.api.Get(ctx, ns, name)
	if err != nil {
		if hfapi.IsNotFound(err) {
			return StatusDocument{}, fmt.Errorf("%w: %s: there is no endpoint %q in namespace %q that this token can see; resources/list or the list_endpoints tool show the endpoints",
				server.ErrResourceNotFound, uri, name, ns)
		}
		return StatusDocument{}, fmt.Errorf("reading %s: %w", uri, err)
	}
	return NewStatusDocument(ns, ep, s.cost(ctx, ns, ep)), nil
}

func (s *Service) cost(ctx context.Context, ns string, ep *hfapi.Endpoint) *hfapi.Cost {
	vendors, err := s.hw.Vendors(ctx, ns)
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
	ns, err := s.api.DefaultNamespace(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing endpoint resources: %w", err)
	}
	eps, err := s.api.List(ctx, ns)
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
// means the default namespace). It never blocks the caller on the network.
func (s *Service) Publish(namespace string, ep *hfapi.Endpoint) {
	if ep == nil {
		return
	}
	s.withNamespace(namespace, func(ns string) { s.poller.Publish(ns, ep) })
}

// PublishRemoval tells subscribers at once that a tool deleted namespace/name. The resource
// list changed even when nobody watches the namespace, so clients hear of that in any case.
func (s *Service) PublishRemoval(namespace, name string) {
	if s.Registry().Len() == 0 || (namespace != "" && !s.poller.Watched(namespace)) {
		s.onListChanged(namespace)
		return
	}
	s.withNamespace(namespace, func(ns string) {
		if s.poller.Watched(ns) {
			s.poller.PublishRemoval(ns, name)
		} else {
			s.onListChanged(ns)
		}
	})
}

// withNamespace runs f with namespace resolved. Resolving the default namespace may need a
// whoami call (cached after the first), so it runs in the background then; nothing is done
// when nobody subscribes to anything.
func (s *Service) withNamespace(namespace string, f func(ns string)) {
	if namespace != "" {
		f(namespace)
		return
	}
	if s.Registry().Len() == 0 {
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
		if ns, err := s.api.DefaultNamespace(ctx); err == nil {
			f(ns)
		}
	}()
}

func (s *Service) onListChanged(namespace string) {
	s.mu.Lock()
	f := s.listChanged
	s.mu.Unlock()
	if f != nil {
		f(namespace)
	}
}
