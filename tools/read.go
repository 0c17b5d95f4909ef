package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// ReadTools are the endpoints_read toolset: nothing here changes anything.
func ReadTools() []Tool {
	return []Tool{whoami, listEndpoints, getEndpoint, waitForEndpoint, listHardware, recommendHardware, listCatalog, getEndpointMetrics,
		getEndpointLogs, listEndpointReplicas}
}

// readHints are the annotations of every read tool.
var readHints = Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false}

// Target names one endpoint; every tool acting on an endpoint embeds it.
type Target struct {
	EndpointName string `json:"endpoint_name"`
	Namespace    string `json:"namespace,omitempty" jsonschema_description:"User or org; default: yours."`
}

// namespaceFor resolves the namespace to report for a result; hfapi applies
// the same default on its own, so a failure here only leaves the field empty.
func namespaceFor(ctx context.Context, call *Call, namespace string) string {
	if namespace != "" {
		return namespace
	}
	ns, err := call.Client.DefaultNamespace(ctx)
	if err != nil {
		return ""
	}
	return ns
}

// NoArgs is the input of tools without arguments.
type NoArgs struct{}

// WhoamiResult is who the token belongs to.
type WhoamiResult struct {
	Name string   `json:"name"`
	Type string   `json:"type"`
	Orgs []string `json:"orgs"`
}

// Summary names the user and orgs.
func (r WhoamiResult) Summary() string {
	s := fmt.Sprintf("authenticated as %s (%s)", r.Name, r.Type)
	if len(r.Orgs) > 0 {
		s += "; orgs: " + strings.Join(r.Orgs, ", ")
	}
	return s
}

var whoami = Tool{
	Name:        "whoami",
	Title:       "Who am I",
	Description: `The Hugging Face user behind the token and their organizations (the namespaces you can use). Example: {}`,
	Toolset:     EndpointsRead,
	Hints:       readHints,
	Handler: Handle(func(ctx context.Context, call *Call, _ NoArgs) (WhoamiResult, error) {
		w, err := call.Client.Whoami(ctx)
		if err != nil {
			return WhoamiResult{}, err
		}
		res := WhoamiResult{Name: w.Name, Type: w.Type, Orgs: []string{}}
		for _, o := range w.Orgs {
			res.Orgs = append(res.Orgs, o.Name)
		}
		return res, nil
	}),
}

// ListEndpointsInput selects endpoints to list, a page at a time.
type ListEndpointsInput struct {
	Namespace string   `json:"namespace,omitempty" jsonschema_description:"User or org; \"*\": all yours; default: yours."`
	State     string   `json:"state,omitempty" jsonschema:"enum=pending,enum=initializing,enum=updating,enum=updateFailed,enum=running,enum=paused,enum=failed,enum=scaledToZero"`
	Tags      []string `json:"tags,omitempty" jsonschema_description:"All of these."`
	Search    string   `json:"search,omitempty" jsonschema_description:"In name or repository."`
	Limit     *int     `json:"limit,omitempty" jsonschema:"minimum=1,maximum=500" jsonschema_description:"Default 50."`
	Cursor    string   `json:"cursor,omitempty" jsonschema_description:"A next_cursor."`
}

// EndpointRow is one endpoint of a listing, compact: get_endpoint has the rest.
type EndpointRow struct {
	Name       string `json:"name"`
	Namespace  string `json:"namespace,omitempty"`
	State      string `json:"state"`
	Repository string `json:"repository"`
	Hardware   string `json:"hardware"`
	URL        string `json:"url,omitempty"`
}

// EndpointList is one page of endpoints.
type EndpointList struct {
	Namespace  string        `json:"namespace"`
	Count      int           `json:"count"`
	Total      int           `json:"total"`
	Endpoints  []EndpointRow `json:"endpoints"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// Summary is one line per endpoint, then how to get the next page.
func (l EndpointList) Summary() string {
	where := l.Namespace
	if where == "*" {
		where = "your namespaces"
	}
	if l.Total == 0 {
		return fmt.Sprintf("no endpoints in %s match", where)
	}
	lines := []string{fmt.Sprintf("%d of %d endpoint(s) in %s:", l.Count, l.Total, where)}
	for _, e := range l.Endpoints {
		name := e.Name
		if e.Namespace != "" {
			name = e.Namespace + "/" + e.Name
		}
		lines = append(lines, fmt.Sprintf("- %s (%s) · %s · %s", name, e.State, e.Repository, e.Hardware))
	}
	if l.NextCursor != "" {
		lines = append(lines, "more: call list_endpoints again with the same arguments and cursor = next_cursor")
	}
	return strings.Join(lines, "\n")
}

var listEndpoints = Tool{
	Name:        "list_endpoints",
	Title:       "List endpoints",
	Description: `List Inference Endpoints, a page at a time, with state, model and hardware. Example: {"namespace": "*", "state": "running"}`,
	Toolset:     EndpointsRead,
	Hints:       readHints,
	Handler: Handle(func(ctx context.Context, call *Call, in ListEndpointsInput) (EndpointList, error) {
		q := in.query()
		start, err := q.start(in.Cursor)
		if err != nil {
			return EndpointList{}, err
		}
		lists, err := call.Client.ListByNamespace(ctx, in.Namespace, in.Tags)
		if err != nil {
			return EndpointList{}, err
		}
		ns := in.Namespace
		if ns != "*" {
			ns = namespaceFor(ctx, call, ns)
		}
		var rows []EndpointRow
		for _, l := range lists {
			for i := range l.Endpoints {
				if ep := &l.Endpoints[i]; q.matches(ep) {
					row := rowOf(ep)
					if ns == "*" {
						row.Namespace = l.Namespace // rows of several namespaces say whose they are
					}
					rows = append(rows, row)
				}
			}
		}
		return q.page(ns, rows, start), nil
	}),
}

func rowOf(ep *hfapi.Endpoint) EndpointRow {
	return EndpointRow{Name: ep.Name, State: string(ep.Status.State), Repository: ep.Model.Repository, URL: ep.Status.URL,
		Hardware: fmt.Sprintf("%s/%s %s %s %s", ep.Provider.Vendor, ep.Provider.Region, ep.Compute.Accelerator,
			ep.Compute.InstanceType, ep.Compute.InstanceSize)}
}

var getEndpoint = Tool{
	Name:        "get_endpoint",
	Title:       "Get endpoint",
	Description: `An endpoint's state, URL, replicas, model and hardware. Example: {"endpoint_name": "my-gpt2"}`,
	Toolset:     EndpointsRead,
	Hints:       readHints,
	Handler: Handle(func(ctx context.Context, call *Call, in Target) (EndpointResult, error) {
		ep, err := call.Client.Get(ctx, in.Namespace, in.EndpointName)
		if err != nil {
			return EndpointResult{}, err
		}
		return EndpointResult{Endpoint: viewOf(ep, namespaceFor(ctx, call, in.Namespace))}, nil
	}),
}

// WaitInput is the input of wait_for_endpoint.
type WaitInput struct {
	Target
	TimeoutSeconds *float64 `json:"timeout_seconds,omitempty" jsonschema:"minimum=0,maximum=3600" jsonschema_description:"Give up after this long (default 600)."`
	PollSeconds    *float64 `json:"poll_seconds,omitempty" jsonschema:"minimum=0" jsonschema_description:"Poll interval (default adaptive)."`
}

// Validate bounds the timeout.
func (in WaitInput) Validate() error {
	if seconds(in.TimeoutSeconds) > maxWaitTimeout {
		return fmt.Errorf("timeout_seconds %v is above the maximum %v; wait again instead", *in.TimeoutSeconds, maxWaitTimeout.Seconds())
	}
	if seconds(in.TimeoutSeconds) < 0 || seconds(in.PollSeconds) < 0 {
		return fmt.Errorf("timeout_seconds and poll_seconds must be positive")
	}
	return nil
}

var waitForEndpoint = Tool{
	Name:  "wait_for_endpoint",
	Title: "Wait for endpoint",
	Description: `Wait until an endpoint is running and answers requests, with progress. ` +
		`Times out with ready=false (not an error). Example: {"endpoint_name": "my-gpt2", "timeout_seconds": 300}`,
	Toolset: EndpointsRead,
	Hints:   readHints,
	Handler: Handle(func(ctx context.Context, call *Call, in WaitInput) (StatusResult, error) {
		ns := namespaceFor(ctx, call, in.Namespace)
		return waitReady(ctx, call, ns, in.EndpointName, seconds(in.TimeoutSeconds), seconds(in.PollSeconds), waitPlain)
	}),
}

// HardwareInput filters the hardware catalog.
type HardwareInput struct {
	Namespace   string `json:"namespace,omitempty" jsonschema_description:"Whose prices and quotas."`
	Vendor      string `json:"vendor,omitempty" jsonschema_description:"e.g. aws, gcp, azure."`
	Region      string `json:"region,omitempty" jsonschema_description:"e.g. us-east-1."`
	Accelerator string `json:"accelerator,omitempty" jsonschema:"enum=cpu,enum=gpu,enum=neuron"`
}

// HardwareOffer is one instance type available in a region.
type HardwareOffer struct {
	Vendor          string  `json:"vendor"`
	Region          string  `json:"region"`
	Accelerator     string  `json:"accelerator"`
	InstanceType    string  `json:"instance_type"`
	InstanceSize    string  `json:"instance_size"`
	NumAccelerators int     `json:"num_accelerators,omitempty"`
	MemoryGb        float64 `json:"memory_gb,omitempty"`
	PricePerHour    float64 `json:"price_per_hour"`
	Status          string  `json:"status,omitempty"`
	QuotaMax        *int    `json:"quota_max,omitempty"`
	QuotaUsed       *int    `json:"quota_used,omitempty"`
}

// HardwareList is the filtered catalog.
type HardwareList struct {
	Count    int             `json:"count"`
	Hardware []HardwareOffer `json:"hardware"`
}

// Summary lists offers, cheapest first, up to a screenful.
func (l HardwareList) Summary() string {
	if l.Count == 0 {
		return "no hardware matches; drop a filter (vendor, region, accelerator) to see more"
	}
	lines := []string{fmt.Sprintf("%d offer(s), price in USD per replica-hour:", l.Count)}
	for i, h := range l.Hardware {
		if i == 40 {
			lines = append(lines, fmt.Sprintf("… and %d more (see structured content)", l.Count-i))
			break
		}
		line := fmt.Sprintf("- %s/%s %s %s %s: $%.2f/h", h.Vendor, h.Region, h.Accelerator, h.InstanceType, h.InstanceSize, h.PricePerHour)
		if h.QuotaMax != nil && h.QuotaUsed != nil {
			line += fmt.Sprintf(" (quota %d/%d used)", *h.QuotaUsed, *h.QuotaMax)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

var listHardware = Tool{
	Name:  "list_hardware",
	Title: "List hardware",
	Description: `Instance types you can deploy on, per vendor and region, with hourly prices and quotas; ` +
		`use them for create_endpoint. Example: {"vendor": "aws", "accelerator": "gpu"}`,
	Toolset: EndpointsRead,
	Hints:   readHints,
	Handler: Handle(func(ctx context.Context, call *Call, in HardwareInput) (HardwareList, error) {
		vendors, err := call.Client.ListHardware(ctx, in.Namespace)
		if err != nil {
			return HardwareList{}, err
		}
		out := HardwareList{Hardware: []HardwareOffer{}}
		for _, v := range vendors {
			for _, r := range v.Regions {
				for _, h := range r.Computes {
					if matches(in, v.Name, r.Name, h.Accelerator) {
						out.Hardware = append(out.Hardware, offerOf(v.Name, r.Name, h))
					}
				}
			}
		}
		slices.SortStableFunc(out.Hardware, func(a, b HardwareOffer) int {
			switch {
			case a.PricePerHour < b.PricePerHour:
				return -1
			case a.PricePerHour > b.PricePerHour:
				return 1
			}
			return 0
		})
		out.Count = len(out.Hardware)
		return out, nil
	}),
}

func matches(in HardwareInput, vendor, region, accelerator string) bool {
	return (in.Vendor == "" || strings.EqualFold(in.Vendor, vendor)) &&
		(in.Region == "" || strings.EqualFold(in.Region, region)) &&
		(in.Accelerator == "" || strings.EqualFold(in.Accelerator, accelerator))
}

func offerOf(vendor, region string, h hfapi.Hardware) HardwareOffer {
	o := HardwareOffer{Vendor: vendor, Region: region, Accelerator: h.Accelerator, InstanceType: h.InstanceType,
		InstanceSize: h.InstanceSize, NumAccelerators: h.NumAccelerators, MemoryGb: h.MemoryGb,
		PricePerHour: h.PricePerHour, Status: h.Status}
	if h.Quota != nil {
		o.QuotaMax, o.QuotaUsed = ptrTo(h.Quota.MaxAccelerators), ptrTo(h.Quota.UsedAccelerators)
	}
	return o
}

// CatalogList is the models that can be deployed from the catalog.
type CatalogList struct {
	Count  int      `json:"count"`
	Models []string `json:"models"`
}

// Summary lists the repositories.
func (l CatalogList) Summary() string {
	return fmt.Sprintf("%d model(s) deployable with create_endpoint_from_catalog:\n%s", l.Count, strings.Join(l.Models, "\n"))
}

var listCatalog = Tool{
	Name:  "list_catalog",
	Title: "List catalog models",
	Description: `Models with a tested one-click configuration, deployable with create_endpoint_from_catalog. ` +
		`Example: {}`,
	Toolset: EndpointsRead,
	Hints:   readHints,
	Handler: Handle(func(ctx context.Context, call *Call, _ NoArgs) (CatalogList, error) {
		models, err := call.Client.ListCatalog(ctx)
		if err != nil {
			return CatalogList{}, err
		}
		if models == nil {
			models = []string{}
		}
		return CatalogList{Count: len(models), Models: models}, nil
	}),
}
