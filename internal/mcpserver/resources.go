package mcpserver

import (
	"context"
	"encoding/hex"
	"encoding/json"

	"github.com/mark3labs/mcp-go/server"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/httpsec"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/prompts"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/resources"
)

// lazyAPI is the API client of resources and completions: the tools' client provider, so
// it is built on first use (no I/O at start-up) and follows token pass-through.
type lazyAPI struct{ client ClientFunc }

func (l lazyAPI) Whoami(ctx context.Context) (*hfapi.Whoami, error) {
	c, err := l.client(ctx)
	if err != nil {
		return nil, err
	}
	return c.Whoami(ctx)
}

func (l lazyAPI) DefaultNamespace(ctx context.Context) (string, error) {
	c, err := l.client(ctx)
	if err != nil {
		return "", err
	}
	return c.DefaultNamespace(ctx)
}

func (l lazyAPI) List(ctx context.Context, namespace string) ([]hfapi.Endpoint, error) {
	c, err := l.client(ctx)
	if err != nil {
		return nil, err
	}
	return c.List(ctx, namespace)
}

func (l lazyAPI) ListRaw(ctx context.Context, namespace string) ([]json.RawMessage, error) {
	c, err := l.client(ctx)
	if err != nil {
		return nil, err
	}
	return c.ListRaw(ctx, namespace)
}

func (l lazyAPI) Get(ctx context.Context, namespace, name string) (*hfapi.Endpoint, error) {
	c, err := l.client(ctx)
	if err != nil {
		return nil, err
	}
	return c.Get(ctx, namespace, name)
}

func (l lazyAPI) ListHardware(ctx context.Context, namespace string) ([]hfapi.Vendor, error) {
	c, err := l.client(ctx)
	if err != nil {
		return nil, err
	}
	return c.ListHardware(ctx, namespace)
}

// callerKey names the caller of a pass-through request by a digest of their token, or of
// their subject under OAuth (never the token itself); "" without pass-through.
func (s *Server) callerKey(ctx context.Context) string {
	if s.sec.tokens == nil {
		return ""
	}
	tok, ok := httpsec.HFTokenFrom(ctx)
	if !ok {
		return ""
	}
	d := callerDigest(ctx, tok)
	return hex.EncodeToString(d[:12])
}

// callerAPI is the client of a pass-through request's caller, bound to their token so that
// their subscriptions can be polled outside any request. Under OAuth it follows the caller
// to their latest token, since the one of this request expires.
func (s *Server) callerAPI(ctx context.Context) (string, resources.API, error) {
	tok, ok := httpsec.HFTokenFrom(ctx)
	if !ok {
		return "", nil, errNoPassThroughToken
	}
	c, err := s.sec.tokens.get(ctx, tok)
	if err != nil {
		return "", nil, err
	}
	if subject, ok := httpsec.CallerFrom(ctx); ok {
		s.sec.tokens.remember(subject, c)
		return s.callerKey(ctx), lazyAPI{client: func(context.Context) (*hfapi.Client, error) {
			return s.sec.tokens.latestFor(subject)
		}}, nil
	}
	return s.callerKey(ctx), c, nil
}

// completionOptions make the server answer completion/complete for the prompts and the
// endpoint resource template.
func (s *Server) completionOptions() []server.ServerOption {
	return prompts.NewCompleter(lazyAPI{client: s.clientFunc()}, prompts.CallerKey(s.callerKey)).ServerOptions()
}

// addResourcesAndPrompts serves the endpoint status resources (with subscriptions and the
// shared poller) and the prompts. A fixed WaitPoll also fixes the resource poll interval
// unless ResourcePoll is set; otherwise it adapts (resources.DefaultFastPoll / DefaultSlowPoll).
func (s *Server) addResourcesAndPrompts() error {
	poll := s.opts.ResourcePoll
	if poll <= 0 {
		poll = s.opts.WaitPoll
	}
	opts := resources.Options{FastPoll: poll, SlowPoll: poll, Logger: s.log, SharePolling: s.opts.SharePolling}
	if s.sec.tokens != nil {
		opts.APIFor = s.callerAPI
	} else {
		opts.API = lazyAPI{client: s.clientFunc()}
	}
	svc, err := resources.New(opts)
	if err != nil {
		return err
	}
	svc.Register(s.mcp)
	s.mcp.AddPrompts(prompts.ServerPrompts(prompts.All())...)
	s.resources = svc
	return nil
}

// Resources returns the endpoint status resources, e.g. for tools to Publish their changes.
func (s *Server) Resources() *resources.Service { return s.resources }

// Close stops the resource poller. Subscriptions end with their sessions anyway; Close makes
// sure no goroutine outlives the server.
func (s *Server) Close() error { return s.resources.Close() }
