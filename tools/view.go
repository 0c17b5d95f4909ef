package tools

import (
	"slices"
	"strconv"
	"strings"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// EndpointStatus is where an endpoint is: what tools that change or wait for
// an endpoint report.
type EndpointStatus struct {
	Name          string `json:"name"`
	Namespace     string `json:"namespace,omitempty"`
	State         string `json:"state"`
	Message       string `json:"message,omitempty"`
	URL           string `json:"url,omitempty"`
	ReadyReplica  int    `json:"ready_replica"`
	TargetReplica int    `json:"target_replica"`
}

// EndpointView is an endpoint as get_endpoint and list_endpoints report it:
// flat, with huggingface_hub's names, and without secrets or environment values.
type EndpointView struct {
	EndpointStatus
	Repository         string   `json:"repository"`
	Revision           string   `json:"revision,omitempty"`
	Task               string   `json:"task,omitempty"`
	Image              string   `json:"image,omitempty"`
	Vendor             string   `json:"vendor"`
	Region             string   `json:"region"`
	Accelerator        string   `json:"accelerator"`
	InstanceType       string   `json:"instance_type"`
	InstanceSize       string   `json:"instance_size"`
	MinReplica         int      `json:"min_replica"`
	MaxReplica         int      `json:"max_replica"`
	ScaleToZeroTimeout *int     `json:"scale_to_zero_timeout,omitempty"`
	Type               string   `json:"type"`
	Tags               []string `json:"tags,omitempty"`
	UpdatedAt          string   `json:"updated_at,omitempty"`
}

// statusOf is the status part of an API endpoint; namespace is the one the
// caller asked about ("" when unknown).
func statusOf(ep *hfapi.Endpoint, namespace string) EndpointStatus {
	return EndpointStatus{
		Name:          ep.Name,
		Namespace:     namespace,
		State:         string(ep.Status.State),
		Message:       joinNonEmpty(ep.Status.Message, ep.Status.ErrorMessage),
		URL:           ep.Status.URL,
		ReadyReplica:  ep.Status.ReadyReplica,
		TargetReplica: ep.Status.TargetReplica,
	}
}

// viewOf flattens an API endpoint.
func viewOf(ep *hfapi.Endpoint, namespace string) EndpointView {
	v := EndpointView{
		EndpointStatus:     statusOf(ep, namespace),
		Repository:         ep.Model.Repository,
		Task:               ep.Model.Task,
		Image:              ep.Model.Image.Kind(),
		Vendor:             ep.Provider.Vendor,
		Region:             ep.Provider.Region,
		Accelerator:        ep.Compute.Accelerator,
		InstanceType:       ep.Compute.InstanceType,
		InstanceSize:       ep.Compute.InstanceSize,
		MinReplica:         ep.Compute.Scaling.MinReplica,
		MaxReplica:         ep.Compute.Scaling.MaxReplica,
		ScaleToZeroTimeout: ep.Compute.Scaling.ScaleToZeroTimeout,
		Type:               ep.Type,
		Tags:               ep.Tags,
		UpdatedAt:          ep.Status.UpdatedAt.String(),
	}
	if ep.Model.Revision != nil {
		v.Revision = *ep.Model.Revision
	}
	return v
}

// describe is the one-line state of an endpoint, e.g.
// "acme/my-ep: initializing — 0/1 replicas ready".
// Every call's result has one, so it is built without fmt, in one allocation.
func (v EndpointStatus) describe() string {
	var b strings.Builder
	b.Grow(len(v.Namespace) + len(v.Name) + len(v.State) + len(v.Message) + 48)
	v.writeDescription(&b)
	return b.String()
}

func (v EndpointStatus) writeDescription(b *strings.Builder) {
	if v.Namespace != "" {
		b.WriteString(v.Namespace)
		b.WriteByte('/')
	}
	b.WriteString(v.Name)
	b.WriteString(": ")
	writeStateLine(b, hfapi.State(v.State), v.ReadyReplica, v.TargetReplica, v.Message)
}

// stateLine says where an endpoint is, the way progress messages do.
func stateLine(state hfapi.State, ready, target int, message string) string {
	var b strings.Builder
	writeStateLine(&b, state, ready, target, message)
	return b.String()
}

func writeStateLine(b *strings.Builder, state hfapi.State, ready, target int, message string) {
	b.WriteString(string(state))
	b.WriteString(" — ")
	b.WriteString(strconv.Itoa(ready))
	b.WriteByte('/')
	b.WriteString(strconv.Itoa(target))
	b.WriteString(" replicas ready")
	if message = strings.TrimSpace(message); message != "" {
		b.WriteString(" (")
		b.WriteString(message)
		b.WriteByte(')')
	}
}

// progressLine is the progress message for an endpoint seen while waiting.
func progressLine(ep *hfapi.Endpoint) string {
	if ep == nil {
		return "waiting for the endpoint"
	}
	return stateLine(ep.Status.State, ep.Status.ReadyReplica, ep.Status.TargetReplica, "")
}

// EndpointResult is get_endpoint's result: the whole endpoint.
type EndpointResult struct {
	Endpoint EndpointView `json:"endpoint"`
}

// Summary is the endpoint's state line, URL, model and hardware.
func (r EndpointResult) Summary() string {
	e := r.Endpoint
	var b strings.Builder
	b.Grow(len(e.Namespace) + len(e.Name) + len(e.State) + len(e.Message) + len(e.URL) + len(e.Repository) + len(e.Task) +
		len(e.Vendor) + len(e.Region) + len(e.Accelerator) + len(e.InstanceType) + len(e.InstanceSize) + 128)
	e.writeDescription(&b)
	if e.URL != "" {
		b.WriteString("\nurl: ")
		b.WriteString(e.URL)
	}
	for _, part := range [...]string{"\nmodel: ", e.Repository, " (", e.Task, ")\nhardware: ", e.Vendor, "/", e.Region,
		" ", e.Accelerator, " ", e.InstanceType, " ", e.InstanceSize, ", replicas ", strconv.Itoa(e.MinReplica),
		"–", strconv.Itoa(e.MaxReplica)} {
		b.WriteString(part)
	}
	return b.String()
}

// StatusResult is the result of tools that change an endpoint or wait for it.
type StatusResult struct {
	Endpoint EndpointStatus `json:"endpoint"`
	// Ready is set when the tool waited: true once the endpoint serves requests.
	Ready *bool `json:"ready,omitempty"`
	// Note says what happened or what to do next, e.g. after a wait timed out.
	Note string `json:"note,omitempty"`
}

// Summary is the endpoint's state line plus the note.
func (r StatusResult) Summary() string {
	s := r.Endpoint.describe()
	if r.Endpoint.URL != "" {
		s += "\nurl: " + r.Endpoint.URL
	}
	if r.Note != "" {
		s += "\n" + r.Note
	}
	return s
}

// joinNonEmpty joins the non-empty, distinct parts with "; ".
func joinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}
