package prompts

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// MaxCompletions is the most values one completion returns (the protocol's limit).
const MaxCompletions = 100

// Cache lifetimes: completions come per keystroke, so API answers are reused briefly. The
// hardware catalog and the identity rarely change; endpoints do.
const (
	identityTTL  = 10 * time.Minute
	hardwareTTL  = 10 * time.Minute
	endpointsTTL = 5 * time.Second
)

// CompletionAPI is the part of *hfapi.Client that completions use.
type CompletionAPI interface {
	Whoami(ctx context.Context) (*hfapi.Whoami, error)
	List(ctx context.Context, namespace string) ([]hfapi.Endpoint, error)
	ListHardware(ctx context.Context, namespace string) ([]hfapi.Vendor, error)
}

// Completer completes prompt arguments and resource template variables by name: namespace
// (the user and their organisations), endpoint_name (the endpoints of the namespace given in
// the other arguments, else the default one), vendor, region, accelerator, instance_type and
// instance_size (from the hardware catalog, narrowed by the other arguments), and task. Values
// match the typed prefix case-insensitively. An API failure yields no values, never an error.
type Completer struct {
	api     CompletionAPI
	prompts map[string]bool
	caller  func(ctx context.Context) string

	cache ttlCache
}

// CompleterOption configures a Completer.
type CompleterOption func(*Completer)

// CallerKey partitions the remembered answers by caller, for servers where each caller has
// their own token (key must name the caller, never be the token): nobody is offered the
// namespaces or endpoints of another.
func CallerKey(key func(ctx context.Context) string) CompleterOption {
	return func(c *Completer) { c.caller = key }
}

// NewCompleter returns a Completer over api for the prompts of All.
func NewCompleter(api CompletionAPI, opts ...CompleterOption) *Completer {
	names := map[string]bool{}
	for _, p := range All() {
		names[p.Name] = true
	}
	c := &Completer{api: api, prompts: names, caller: func(context.Context) string { return "" },
		cache: ttlCache{now: time.Now, entries: map[string]ttlEntry{}}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// key scopes a cache key to the caller of ctx.
func (c *Completer) key(ctx context.Context, k string) string { return c.caller(ctx) + "\x00" + k }

// ServerOptions declares the completions capability and installs c as the prompt and resource
// completion provider.
func (c *Completer) ServerOptions() []server.ServerOption {
	return []server.ServerOption{
		server.WithCompletions(),
		server.WithPromptCompletionProvider(c),
		server.WithResourceCompletionProvider(c),
	}
}

// CompletePromptArgument implements server.PromptCompletionProvider.
func (c *Completer) CompletePromptArgument(ctx context.Context, prompt string, arg mcp.CompleteArgument, cc mcp.CompleteContext) (*mcp.Completion, error) {
	if !c.prompts[prompt] {
		return nil, fmt.Errorf("%w: no prompt named %q to complete; the prompts are %s", ErrInvalidParams, prompt, strings.Join(sortedKeys(c.prompts), ", "))
	}
	values := c.values(ctx, arg.Name, cc.Arguments)
	if prompt == costReview.Name && arg.Name == "namespace" {
		values = append(values, "*") // cost_review also takes every namespace at once
	}
	return complete(values, arg.Value), nil
}

// CompleteResourceArgument implements server.ResourceCompletionProvider.
func (c *Completer) CompleteResourceArgument(ctx context.Context, _ string, arg mcp.CompleteArgument, cc mcp.CompleteContext) (*mcp.Completion, error) {
	return complete(c.values(ctx, arg.Name, cc.Arguments), arg.Value), nil
}

// values returns every candidate for the argument, unfiltered.
func (c *Completer) values(ctx context.Context, name string, args map[string]string) []string {
	switch name {
	case "namespace":
		return c.namespaces(ctx)
	case "endpoint_name":
		return c.endpoints(ctx, args["namespace"])
	case "task":
		return slices.Clone(tasks)
	}
	if slices.Contains(hardwareFields, name) {
		return hardwareValues(c.hardware(ctx, args["namespace"]), name, args)
	}
	return nil
}

func (c *Completer) namespaces(ctx context.Context) []string {
	v, err := c.cache.get(c.key(ctx, "whoami"), identityTTL, func() (any, error) { return c.api.Whoami(ctx) })
	if err != nil {
		return nil
	}
	w := v.(*hfapi.Whoami)
	out := []string{w.Name}
	for _, o := range w.Orgs {
		out = append(out, o.Name)
	}
	return out
}

func (c *Completer) endpoints(ctx context.Context, ns string) []string {
	v, err := c.cache.get(c.key(ctx, "endpoints:"+ns), endpointsTTL, func() (any, error) { return c.api.List(ctx, ns) })
	if err != nil {
		return nil
	}
	eps := v.([]hfapi.Endpoint)
	out := make([]string, 0, len(eps))
	for _, ep := range eps {
		out = append(out, ep.Name)
	}
	return out
}

func (c *Completer) hardware(ctx context.Context, ns string) []hfapi.Vendor {
	if ns == "*" {
		ns = "" // the catalog is per namespace: use the default one
	}
	v, err := c.cache.get(c.key(ctx, "hardware:"+ns), hardwareTTL, func() (any, error) { return c.api.ListHardware(ctx, ns) })
	if err != nil {
		return nil
	}
	return v.([]hfapi.Vendor)
}

// hardwareFields are the argument names completed from the hardware catalog.
var hardwareFields = []string{"vendor", "region", "accelerator", "instance_type", "instance_size"}

// hardwareValues lists one field of the catalog's offers that agree with the other hardware
// arguments already given (e.g. only the regions of the chosen vendor).
func hardwareValues(vendors []hfapi.Vendor, field string, args map[string]string) []string {
	var out []string
	for _, v := range vendors {
		for _, r := range v.Regions {
			for _, h := range r.Computes {
				if agrees(v.Name, r.Name, h, field, args) {
					out = append(out, offerField(field, v.Name, r.Name, h))
				}
			}
		}
	}
	return out
}

func agrees(vendor, region string, h hfapi.Hardware, field string, args map[string]string) bool {
	for _, k := range hardwareFields {
		if k != field && args[k] != "" && !strings.EqualFold(args[k], offerField(k, vendor, region, h)) {
			return false
		}
	}
	return true
}

func offerField(field, vendor, region string, h hfapi.Hardware) string {
	switch field {
	case "vendor":
		return vendor
	case "region":
		return region
	case "accelerator":
		return h.Accelerator
	case "instance_type":
		return h.InstanceType
	default:
		return h.InstanceSize
	}
}

// complete keeps the distinct non-empty values starting with prefix (case-insensitive), sorted,
// at most MaxCompletions of them.
func complete(values []string, prefix string) *mcp.Completion {
	p := strings.ToLower(prefix)
	seen := map[string]bool{}
	matched := []string{}
	for _, v := range values {
		if v != "" && !seen[v] && strings.HasPrefix(strings.ToLower(v), p) {
			seen[v] = true
			matched = append(matched, v)
		}
	}
	sort.Strings(matched)
	out := &mcp.Completion{Values: matched, Total: len(matched)}
	if len(matched) > MaxCompletions {
		out.Values, out.HasMore = matched[:MaxCompletions], true
	}
	return out
}

// tasks are the pipeline tasks Inference Endpoints serve most often.
var tasks = []string{
	"audio-classification", "automatic-speech-recognition", "feature-extraction", "fill-mask",
	"image-classification", "image-segmentation", "image-to-text", "object-detection",
	"question-answering", "sentence-embeddings", "sentence-similarity", "summarization",
	"table-question-answering", "text-classification", "text-generation", "text-ranking",
	"text-to-image", "text2text-generation", "token-classification", "translation",
	"zero-shot-classification",
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ttlCache remembers successful answers for a while; failures are not remembered.
type ttlCache struct {
	now     func() time.Time
	mu      sync.Mutex
	entries map[string]ttlEntry
}

type ttlEntry struct {
	value   any
	expires time.Time
}

func (c *ttlCache) get(key string, ttl time.Duration, fetch func() (any, error)) (any, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && c.now().Before(e.expires) {
		return e.value, nil
	}
	v, err := fetch()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.entries[key] = ttlEntry{value: v, expires: c.now().Add(ttl)}
	c.mu.Unlock()
	return v, nil
}
