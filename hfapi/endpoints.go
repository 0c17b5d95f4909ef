package hfapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Whoami returns the Hub identity of the token.
func (c *Client) Whoami(ctx context.Context) (*Whoami, error) {
	var w Whoami
	err := c.getJSON(ctx, "whoami", endpointURL(c.hub, "api", "whoami-v2"), &w)
	if err != nil {
		return nil, err
	}
	return &w, nil
}

// DefaultNamespace returns Config.Namespace, else the token user's name (fetched once, then cached).
// An organisation token cannot stand for a namespace: set Config.Namespace (HF_NAMESPACE) then.
func (c *Client) DefaultNamespace(ctx context.Context) (string, error) {
	if c.cfg.Namespace != "" {
		return c.cfg.Namespace, nil
	}
	c.nsMu.Lock()
	defer c.nsMu.Unlock()
	if c.ns != "" {
		return c.ns, nil
	}
	w, err := c.Whoami(ctx)
	if err != nil {
		return "", fmt.Errorf("finding the default namespace: %w", err)
	}
	if w.Type != "user" || w.Name == "" {
		return "", fmt.Errorf("finding the default namespace: the token belongs to a %q, not a user; pass a namespace explicitly or set HF_NAMESPACE", w.Type)
	}
	c.ns = w.Name
	return c.ns, nil
}

// namespace returns ns, checked, or the default namespace when ns is empty.
func (c *Client) namespace(ctx context.Context, ns string) (string, error) {
	if ns == "" {
		ns = c.cfg.Namespace
	}
	if ns != "" {
		return ns, ValidateNamespace(ns)
	}
	return c.DefaultNamespace(ctx)
}

// target checks an endpoint name and resolves its namespace, before any request about it is sent.
func (c *Client) target(ctx context.Context, namespace, name string) (string, error) {
	if err := ValidateName(name); err != nil {
		return "", err
	}
	return c.namespace(ctx, namespace)
}

// List returns the endpoints of a namespace ("" = default). "*" lists the user's own namespace and
// then every organisation of whoami; failures on organisation lists are skipped (as huggingface_hub
// does: most are orgs without billing or access), but a failure on the user's own list is returned.
func (c *Client) List(ctx context.Context, namespace string) ([]Endpoint, error) {
	return c.ListTagged(ctx, namespace, nil)
}

// ListTagged is List keeping only the endpoints that carry every tag given. The tags are also
// sent to the API (?tags=a,b), which filters server-side; the result is filtered here as well, so
// it holds whatever the server does with them.
func (c *Client) ListTagged(ctx context.Context, namespace string, tags []string) ([]Endpoint, error) {
	lists, err := c.ListByNamespace(ctx, namespace, tags)
	if err != nil {
		return nil, err
	}
	if len(lists) == 1 {
		return lists[0].Endpoints, nil
	}
	all := []Endpoint{}
	for _, l := range lists {
		all = append(all, l.Endpoints...)
	}
	return all, nil
}

// NamespaceEndpoints are the endpoints of one namespace.
type NamespaceEndpoints struct {
	Namespace string
	Endpoints []Endpoint
}

// ListByNamespace is ListTagged keeping each namespace's endpoints apart (with "*", the user's own
// namespace first, then each organisation whose list could be read).
func (c *Client) ListByNamespace(ctx context.Context, namespace string, tags []string) ([]NamespaceEndpoints, error) {
	for _, t := range tags {
		if strings.TrimSpace(t) == "" || strings.Contains(t, ",") {
			return nil, &ValidationError{"tags", fmt.Sprintf("%q is not a tag; tags are non-empty and have no comma", t)}
		}
	}
	if namespace != "*" {
		ns, err := c.namespace(ctx, namespace)
		if err != nil {
			return nil, err
		}
		eps, err := c.listOne(ctx, ns, tags)
		if err != nil {
			return nil, err
		}
		return []NamespaceEndpoints{{ns, eps}}, nil
	}
	w, err := c.Whoami(ctx)
	if err != nil {
		return nil, fmt.Errorf("list endpoints of all namespaces: %w", err)
	}
	own := w.Name
	if w.Type != "user" || own == "" {
		if own, err = c.DefaultNamespace(ctx); err != nil {
			return nil, err
		}
	}
	eps, err := c.listOne(ctx, own, tags)
	if err != nil {
		return nil, err
	}
	all := []NamespaceEndpoints{{own, eps}}
	done := map[string]bool{own: true}
	for _, org := range w.Orgs {
		if done[org.Name] || org.Name == "" {
			continue
		}
		done[org.Name] = true
		eps, err := c.listOne(ctx, org.Name, tags)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			continue // no billing or no access: skipped like huggingface_hub does
		}
		all = append(all, NamespaceEndpoints{org.Name, eps})
	}
	return all, nil
}

func (c *Client) listOne(ctx context.Context, ns string, tags []string) ([]Endpoint, error) {
	var page endpointPage
	u := endpointURL(c.api, "endpoint", ns)
	if len(tags) > 0 {
		u.RawQuery = url.Values{"tags": {strings.Join(tags, ",")}}.Encode()
	}
	if err := c.getJSON(ctx, "list endpoints of "+ns, u, &page); err != nil {
		return nil, err
	}
	if page.Items == nil {
		page.Items = []Endpoint{}
	}
	if len(tags) == 0 {
		return page.Items, nil
	}
	return slices.DeleteFunc(page.Items, func(ep Endpoint) bool { return !hasTags(ep.Tags, tags) }), nil
}

// hasTags reports whether have holds every tag of want.
func hasTags(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// ListRaw returns the endpoints of one namespace ("" = default) as the API sent them, each checked to
// be well-formed JSON but not decoded: for callers that look at what changed before decoding it.
func (c *Client) ListRaw(ctx context.Context, namespace string) ([]json.RawMessage, error) {
	ns, err := c.namespace(ctx, namespace)
	if err != nil {
		return nil, err
	}
	var page rawPage
	if err := c.getJSON(ctx, "list endpoints of "+ns, endpointURL(c.api, "endpoint", ns), &page); err != nil {
		return nil, err
	}
	if page.Items == nil {
		page.Items = []json.RawMessage{}
	}
	return page.Items, nil
}

// Get returns one endpoint.
func (c *Client) Get(ctx context.Context, namespace, name string) (*Endpoint, error) {
	ns, err := c.target(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	return c.get(ctx, ns, name, nil)
}

// get reads one endpoint; pace (optional) replaces the sleep between retries (see request.pace).
func (c *Client) get(ctx context.Context, ns, name string, pace func(context.Context, time.Duration) error) (*Endpoint, error) {
	op := "get endpoint " + ns + "/" + name
	resp, err := c.send(ctx, request{op: op, method: http.MethodGet, url: endpointURL(c.api, "endpoint", ns, name), pace: pace})
	if err != nil {
		return nil, err
	}
	var ep Endpoint
	if err := json.Unmarshal(resp.body, &ep); err != nil {
		return nil, fmt.Errorf("%s: decoding response: %w", op, err)
	}
	return &ep, nil
}

// Create validates spec and creates the endpoint. The POST is never repeated: if it fails without an
// answer (connection lost, timeout), Create GETs the endpoint by name and returns it when it exists.
// Over the cost ceiling it sends nothing and returns a *ConfirmationRequiredError unless confirmed
// with WithConfirmation (see guard.go).
func (c *Client) Create(ctx context.Context, namespace string, spec CreateSpec, opts ...ActionOption) (*Endpoint, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	ns, err := c.namespace(ctx, namespace)
	if err != nil {
		return nil, err
	}
	op := "create endpoint " + ns + "/" + spec.Name
	unlock, err := c.lockEndpoint(ctx, op, ns, spec.Name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := c.guardCreate(ctx, ns, spec, opts); err != nil {
		return nil, err
	}
	req := request{op: op, method: http.MethodPost, url: endpointURL(c.api, "endpoint", ns), body: spec.body()}
	in := intentOf(req, ns, spec.Name)
	ep, err := c.mutate(ctx, req, in)
	if !answerLost(err) {
		return ep, err
	}
	// No HTTP answer: the endpoint may or may not exist. Look before reporting, never POST twice.
	got, s, gerr := c.settle(ctx, in, err, func(ep *Endpoint) (bool, string) {
		switch {
		case ep == nil:
			return false, "the endpoint does not exist: it was not created"
		case !spec.describes(ep):
			return false, "an endpoint of that name exists but does not match the requested configuration"
		}
		return true, "the endpoint exists as requested: it was created"
	})
	switch {
	case gerr != nil:
		return nil, fmt.Errorf("%w (the endpoint may or may not have been created; check with get_endpoint before trying again)", err)
	case s.Done:
		return got, nil
	case got == nil:
		return nil, fmt.Errorf("%w (checked: the endpoint was not created; it is safe to try again)", err)
	}
	return nil, fmt.Errorf("%w (an endpoint named %q exists but does not match the requested configuration; it may predate this request: check it with get_endpoint)", err, spec.Name)
}

// describes reports whether ep looks like the endpoint spec creates (same model, hardware and place),
// used to recognise our own create after a lost answer.
func (s CreateSpec) describes(ep *Endpoint) bool {
	return ep.Model.Repository == s.Repository && ep.Compute.InstanceType == s.InstanceType &&
		ep.Compute.InstanceSize == s.InstanceSize && ep.Provider.Vendor == s.Vendor && ep.Provider.Region == s.Region
}

// Update changes only the fields set in spec. An update of hardware or replicas that leaves the
// estimated cost over the ceiling needs a confirmation, like Create; the estimate is of the
// endpoint as the update leaves it, read under the endpoint's lock (lock.go).
func (c *Client) Update(ctx context.Context, namespace, name string, spec UpdateSpec, opts ...ActionOption) (*Endpoint, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	ns, err := c.target(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	op := "update endpoint " + ns + "/" + name
	unlock, err := c.lockEndpoint(ctx, op, ns, name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := c.guardUpdate(ctx, ns, name, spec, opts); err != nil {
		return nil, err
	}
	var current map[string]any
	if spec.needsCurrentImage() {
		cur, err := c.Get(ctx, ns, name)
		if err != nil {
			return nil, fmt.Errorf("update endpoint %s/%s: reading the current image to set parallelism: %w", ns, name, err)
		}
		if current, err = imageAsMap(cur.Model.Image); err != nil {
			return nil, err
		}
	}
	body, err := spec.body(current)
	if err != nil {
		return nil, err
	}
	req := request{op: op, method: http.MethodPut, url: endpointURL(c.api, "endpoint", ns, name), body: body}
	in := intentOf(req, ns, name)
	ep, err := c.mutate(ctx, req, in)
	if answerLost(err) {
		return c.settled(ctx, in, err, spec.shownBy)
	}
	return ep, err
}

func imageAsMap(im Image) (map[string]any, error) {
	b, err := json.Marshal(im)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

// Pause stops the endpoint (no charge) until Resume.
func (c *Client) Pause(ctx context.Context, namespace, name string) (*Endpoint, error) {
	return c.action(ctx, namespace, name, "pause")
}

// ScaleToZero scales the endpoint to zero replicas; the next request wakes it.
func (c *Client) ScaleToZero(ctx context.Context, namespace, name string) (*Endpoint, error) {
	return c.action(ctx, namespace, name, "scale-to-zero")
}

// Resume restarts a paused endpoint. With runningOK, an "already running" answer returns the endpoint.
// Resuming an endpoint whose estimated cost is over the ceiling needs a confirmation, like Create.
func (c *Client) Resume(ctx context.Context, namespace, name string, runningOK bool, opts ...ActionOption) (*Endpoint, error) {
	ns, err := c.target(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	unlock, err := c.lockEndpoint(ctx, "resume endpoint "+ns+"/"+name, ns, name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := c.guardResume(ctx, ns, name, opts); err != nil {
		return nil, err
	}
	ep, err := c.actLocked(ctx, ns, name, "resume")
	var apiErr *APIError
	if err != nil && runningOK && errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest &&
		strings.Contains(apiErr.Message, "already running") {
		return c.Get(ctx, ns, name)
	}
	return ep, err
}

func (c *Client) action(ctx context.Context, namespace, name, verb string) (*Endpoint, error) {
	ns, err := c.target(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	unlock, err := c.lockEndpoint(ctx, verb+" endpoint "+ns+"/"+name, ns, name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return c.actLocked(ctx, ns, name, verb)
}

// actLocked sends pause, resume or scale-to-zero; the caller holds the endpoint's lock.
func (c *Client) actLocked(ctx context.Context, ns, name, verb string) (*Endpoint, error) {
	req := request{op: verb + " endpoint " + ns + "/" + name, method: http.MethodPost, url: endpointURL(c.api, "endpoint", ns, name, verb)}
	in := intentOf(req, ns, name)
	ep, err := c.mutate(ctx, req, in)
	if !answerLost(err) {
		return ep, err
	}
	judge := stateIs(StatePaused)
	switch verb {
	case "resume":
		judge = stateIs(StatePending, StateInitializing, StateRunning, StateUpdating)
	case "scale-to-zero":
		judge = stateIs(StateScaledToZero)
	}
	return c.settled(ctx, in, err, judge)
}

// mutate sends a non-idempotent request once, after recording in, and decodes the endpoint it returns.
func (c *Client) mutate(ctx context.Context, req request, in Intent) (*Endpoint, error) {
	resp, err := c.change(ctx, req, in)
	if err != nil {
		return nil, err
	}
	var ep Endpoint
	if err := json.Unmarshal(resp.body, &ep); err != nil {
		return nil, fmt.Errorf("%s: decoding response: %w", req.op, err)
	}
	return &ep, nil
}

// ListHardware returns the vendors, regions and instances available to the namespace, with prices.
func (c *Client) ListHardware(ctx context.Context, namespace string) ([]Vendor, error) {
	ns, err := c.namespace(ctx, namespace)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Vendors []Vendor `json:"vendors"`
	}
	if err := c.getJSON(ctx, "list hardware of "+ns, endpointURL(c.api, "provider", ns), &doc); err != nil {
		return nil, err
	}
	return doc.Vendors, nil
}

// ListCatalog returns the repository ids of the Inference Catalog.
func (c *Client) ListCatalog(ctx context.Context) ([]string, error) {
	var doc struct {
		Models []string `json:"models"`
	}
	if err := c.getJSON(ctx, "list catalog", endpointURL(c.catalog, "repo-list"), &doc); err != nil {
		return nil, err
	}
	return doc.Models, nil
}

// CatalogSpec is what CreateFromCatalog sends.
type CatalogSpec struct {
	RepoID       string // required, a repository of ListCatalog
	EndpointName string // optional; the server picks one when empty
	Accelerator  string // optional: cpu | gpu | neuron
}

// CreateFromCatalog deploys a catalog model with its tested default configuration. The repository
// must be one of ListCatalog's (checked first; nothing is sent otherwise). The catalog picks the
// instance, so the cost checked against the ceiling is the most expensive instance offered for the
// accelerator (see guard.go); over it, a confirmation is needed, like Create.
func (c *Client) CreateFromCatalog(ctx context.Context, namespace string, spec CatalogSpec, opts ...ActionOption) (*Endpoint, error) {
	spec.RepoID = strings.TrimSpace(spec.RepoID)
	if spec.RepoID == "" {
		return nil, &ValidationError{"repoId", "is required (e.g. \"meta-llama/Llama-3.2-3B-Instruct\"); list_catalog shows the choices"}
	}
	if spec.EndpointName != "" {
		if err := ValidateName(spec.EndpointName); err != nil {
			return nil, err
		}
	}
	if err := c.checkCatalog(ctx, spec.RepoID); err != nil {
		return nil, err
	}
	ns, err := c.namespace(ctx, namespace)
	if err != nil {
		return nil, err
	}
	if spec.EndpointName != "" { // a name the service picks is new: nothing to serialise with
		unlock, err := c.lockEndpoint(ctx, "create endpoint "+ns+"/"+spec.EndpointName, ns, spec.EndpointName)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	if err := c.guardCatalog(ctx, ns, spec, opts); err != nil {
		return nil, err
	}
	body := map[string]any{"namespace": ns, "repoId": spec.RepoID}
	setIf(body, "endpointName", spec.EndpointName, spec.EndpointName != "")
	setIf(body, "accelerator", spec.Accelerator, spec.Accelerator != "")
	req := request{op: "create endpoint from catalog " + spec.RepoID, method: http.MethodPost, url: endpointURL(c.catalog, "deploy"), body: body}
	in := intentOf(req, ns, spec.EndpointName)
	resp, err := c.change(ctx, req, in)
	if answerLost(err) && spec.EndpointName != "" {
		// A named deploy can be looked up: record whether it happened, never deploy twice.
		return c.settled(ctx, in, err, func(ep *Endpoint) (bool, string) {
			switch {
			case ep == nil:
				return false, "the endpoint does not exist: it was not created"
			case ep.Model.Repository != spec.RepoID:
				return false, "an endpoint of that name exists with another model"
			}
			return true, "the endpoint exists with this model: it was created"
		})
	}
	if err != nil {
		return nil, err
	}
	var doc struct {
		Endpoint *Endpoint `json:"endpoint"`
	}
	if err := json.Unmarshal(resp.body, &doc); err != nil || doc.Endpoint == nil {
		return nil, fmt.Errorf("create endpoint from catalog %s: response has no endpoint object", spec.RepoID)
	}
	return doc.Endpoint, nil
}

// Metrics returns the endpoint's OpenMetrics text.
func (c *Client) Metrics(ctx context.Context, namespace, name string) (string, error) {
	ns, err := c.target(ctx, namespace, name)
	if err != nil {
		return "", err
	}
	resp, err := c.send(ctx, request{op: "metrics of " + ns + "/" + name, method: http.MethodGet,
		url:    endpointURL(c.api, "endpoint", ns, name, "open-metrics"),
		header: http.Header{"Accept": {"application/openmetrics-text, text/plain;q=0.9, */*;q=0.1"}}})
	if err != nil {
		return "", err
	}
	return string(resp.body), nil
}

func (c *Client) getJSON(ctx context.Context, op string, u *url.URL, out any) error {
	resp, err := c.send(ctx, request{op: op, method: http.MethodGet, url: u})
	if err != nil {
		return err
	}
	switch page := out.(type) {
	case *endpointPage:
		err = page.decode(resp.body)
	case *rawPage:
		page.Items, err = splitList(resp.body)
	default:
		err = json.Unmarshal(resp.body, out)
	}
	if err != nil {
		return fmt.Errorf("%s: decoding response: %w", op, err)
	}
	return nil
}

// endpointPage is a list response ({"items": [...]}); getJSON decodes it in one pass with decodeList.
type endpointPage struct{ Items []Endpoint }

func (p *endpointPage) decode(body []byte) (err error) {
	p.Items, err = decodeList(body)
	return err
}

// rawPage is a list response whose items getJSON splits but does not decode (splitList).
type rawPage struct{ Items []json.RawMessage }

// catalogTTL is how long the catalog's repository list is trusted to say a repository is in it; a
// repository missing from a cached list is looked up again in a fresh one before it is refused.
const catalogTTL = 5 * time.Minute

// catalogCache holds the last catalog repository list.
type catalogCache struct {
	mu    sync.Mutex
	repos map[string]bool
	taken time.Time
}

// checkCatalog fails with a *ValidationError unless repo is in the Inference Catalog.
func (c *Client) checkCatalog(ctx context.Context, repo string) error {
	c.catalogRepos.mu.Lock()
	fresh := c.catalogRepos.repos != nil && c.clock.Now().Sub(c.catalogRepos.taken) < catalogTTL
	known := fresh && c.catalogRepos.repos[repo]
	c.catalogRepos.mu.Unlock()
	if known {
		return nil
	}
	models, err := c.ListCatalog(ctx)
	if err != nil {
		return fmt.Errorf("create endpoint from catalog %s: checking the repository is in the catalog: %w", repo, err)
	}
	repos := make(map[string]bool, len(models))
	for _, m := range models {
		repos[m] = true
	}
	c.catalogRepos.mu.Lock()
	c.catalogRepos.repos, c.catalogRepos.taken = repos, c.clock.Now()
	c.catalogRepos.mu.Unlock()
	if repos[repo] {
		return nil
	}
	msg := fmt.Sprintf("%q is not in the Inference Catalog, so it cannot be deployed from it", repo)
	for _, m := range models {
		if strings.EqualFold(m, repo) {
			msg += fmt.Sprintf(" (did you mean %q?)", m)
			break
		}
	}
	return &ValidationError{"repoId", msg + "; call list_catalog (Client.ListCatalog) to see the deployable repositories, " +
		"or create_endpoint (Client.Create) to deploy any other model with a configuration of your choice"}
}
