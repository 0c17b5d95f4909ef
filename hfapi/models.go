package hfapi

import (
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// State is an endpoint's lifecycle state (status.state).
type State string

// The states the API reports.
const (
	StatePending      State = "pending"
	StateInitializing State = "initializing"
	StateUpdating     State = "updating"
	StateUpdateFailed State = "updateFailed"
	StateRunning      State = "running"
	StatePaused       State = "paused"
	StateFailed       State = "failed"
	StateScaledToZero State = "scaledToZero"
)

// Transitional reports whether the endpoint is on its way to another state without user action
// (pending, initializing, updating); waits poll faster while it is.
func (s State) Transitional() bool {
	switch s {
	case StatePending, StateInitializing, StateUpdating:
		return true
	}
	return false
}

// Endpoint is an Inference Endpoint as the management API returns it.
type Endpoint struct {
	Name                 string          `json:"name"`
	Type                 string          `json:"type"` // public | protected (deprecated) | authenticated | private
	AccountID            *string         `json:"accountId,omitempty"`
	Tags                 []string        `json:"tags,omitempty"`
	HealthRoute          string          `json:"healthRoute"`
	Route                *Route          `json:"route,omitempty"`
	CacheHTTPResponses   *bool           `json:"cacheHttpResponses,omitempty"`
	CustomRouter         *CustomRouter   `json:"customRouter,omitempty"`
	ExperimentalFeatures json.RawMessage `json:"experimentalFeatures,omitempty"` // shape unpublished
	PrivateService       json.RawMessage `json:"privateService,omitempty"`       // shape unpublished
	Provider             Provider        `json:"provider,omitzero"`
	Compute              Compute         `json:"compute,omitzero"`
	Model                Model           `json:"model,omitzero"`
	Status               Status          `json:"status,omitzero"`

	// Extra holds members this package does not model, so they survive a decode/encode round trip.
	Extra map[string]json.RawMessage `json:"-"`
	seen  presence
}

// URL returns status.url ("" until the endpoint has one).
func (e *Endpoint) URL() string { return e.Status.URL }

// UnmarshalJSON decodes an endpoint, keeping unknown members in Extra.
func (e *Endpoint) UnmarshalJSON(b []byte) error { return decodeObject(b, e) }

func (e *Endpoint) members() (*map[string]json.RawMessage, *presence) { return &e.Extra, &e.seen }

// MarshalJSON encodes the endpoint including Extra.
func (e Endpoint) MarshalJSON() ([]byte, error) { return encodeObject(&e, e.Extra, e.seen) }

// Route is the optional custom domain and path of an endpoint.
type Route struct {
	Domain string                     `json:"domain,omitempty"`
	Path   string                     `json:"path,omitempty"`
	Extra  map[string]json.RawMessage `json:"-"`
	seen   presence
}

// UnmarshalJSON decodes a route, keeping unknown members in Extra.
func (r *Route) UnmarshalJSON(b []byte) error { return decodeObject(b, r) }

func (r *Route) members() (*map[string]json.RawMessage, *presence) { return &r.Extra, &r.seen }

// MarshalJSON encodes the route including Extra.
func (r Route) MarshalJSON() ([]byte, error) { return encodeObject(&r, r.Extra, r.seen) }

// CustomRouter configures a custom request router in front of the replicas.
type CustomRouter struct {
	Tag   string                     `json:"tag,omitempty"`
	Env   map[string]string          `json:"env,omitempty"`
	Port  int                        `json:"port,omitempty"`
	Extra map[string]json.RawMessage `json:"-"`
	seen  presence
}

// UnmarshalJSON decodes a custom router, keeping unknown members in Extra.
func (r *CustomRouter) UnmarshalJSON(b []byte) error { return decodeObject(b, r) }

func (r *CustomRouter) members() (*map[string]json.RawMessage, *presence) { return &r.Extra, &r.seen }

// MarshalJSON encodes the custom router including Extra.
func (r CustomRouter) MarshalJSON() ([]byte, error) { return encodeObject(&r, r.Extra, r.seen) }

// Provider is the cloud vendor and region an endpoint runs in.
type Provider struct {
	Vendor string                     `json:"vendor"`
	Region string                     `json:"region"`
	Extra  map[string]json.RawMessage `json:"-"`
	seen   presence
}

// UnmarshalJSON decodes a provider, keeping unknown members in Extra.
func (p *Provider) UnmarshalJSON(b []byte) error { return decodeObject(b, p) }

func (p *Provider) members() (*map[string]json.RawMessage, *presence) { return &p.Extra, &p.seen }

// MarshalJSON encodes the provider including Extra.
func (p Provider) MarshalJSON() ([]byte, error) { return encodeObject(&p, p.Extra, p.seen) }

// Compute is the hardware an endpoint runs on and how it scales.
type Compute struct {
	ID           string                     `json:"id,omitempty"`
	Accelerator  string                     `json:"accelerator"` // cpu | gpu | neuron
	InstanceType string                     `json:"instanceType"`
	InstanceSize string                     `json:"instanceSize"`
	Scaling      Scaling                    `json:"scaling,omitzero"`
	Extra        map[string]json.RawMessage `json:"-"`
	seen         presence
}

// UnmarshalJSON decodes compute, keeping unknown members in Extra.
func (c *Compute) UnmarshalJSON(b []byte) error { return decodeObject(b, c) }

func (c *Compute) members() (*map[string]json.RawMessage, *presence) { return &c.Extra, &c.seen }

// MarshalJSON encodes compute including Extra.
func (c Compute) MarshalJSON() ([]byte, error) { return encodeObject(&c, c.Extra, c.seen) }

// Scaling bounds the replicas of an endpoint.
type Scaling struct {
	MinReplica int `json:"minReplica"`
	MaxReplica int `json:"maxReplica"`
	// ScaleToZeroTimeout is in minutes; nil when scale to zero is not configured.
	ScaleToZeroTimeout *int `json:"scaleToZeroTimeout,omitempty"`
	// Measure maps the autoscaling metric (hardwareUsage | pendingRequests) to its threshold (nil = default).
	Measure map[string]*float64        `json:"measure,omitempty"`
	Metric  string                     `json:"metric,omitempty"`
	Extra   map[string]json.RawMessage `json:"-"`
	seen    presence
}

// UnmarshalJSON decodes scaling, keeping unknown members in Extra.
func (s *Scaling) UnmarshalJSON(b []byte) error { return decodeObject(b, s) }

func (s *Scaling) members() (*map[string]json.RawMessage, *presence) { return &s.Extra, &s.seen }

// MarshalJSON encodes scaling including Extra.
func (s Scaling) MarshalJSON() ([]byte, error) { return encodeObject(&s, s.Extra, s.seen) }

// Model is what an endpoint serves and with which container.
type Model struct {
	Repository string                     `json:"repository"`
	Revision   *string                    `json:"revision"`
	Task       string                     `json:"task"`
	Framework  string                     `json:"framework"` // pytorch | custom | tensorflow | …
	Image      Image                      `json:"image,omitzero"`
	Env        map[string]string          `json:"env,omitempty"`
	Secrets    map[string]string          `json:"secrets,omitempty"`
	Command    []string                   `json:"command,omitempty"`
	Args       []string                   `json:"args,omitempty"`
	Extra      map[string]json.RawMessage `json:"-"`
	seen       presence
}

// UnmarshalJSON decodes a model, keeping unknown members in Extra.
func (m *Model) UnmarshalJSON(b []byte) error { return decodeObject(b, m) }

func (m *Model) members() (*map[string]json.RawMessage, *presence) { return &m.Extra, &m.seen }

// MarshalJSON encodes the model including Extra.
func (m Model) MarshalJSON() ([]byte, error) { return encodeObject(&m, m.Extra, m.seen) }

// Image is the one-key union model.image: exactly one variant is set. Variants the package does not
// know (added to the API later) are kept in Extra under their key.
type Image struct {
	Huggingface *HuggingfaceImage          `json:"huggingface,omitempty"`
	Custom      *CustomImage               `json:"custom,omitempty"`
	TGI         *EngineImage               `json:"tgi,omitempty"`
	TGINeuron   *EngineImage               `json:"tgiNeuron,omitempty"`
	TEI         *EngineImage               `json:"tei,omitempty"`
	LlamaCpp    *EngineImage               `json:"llamacpp,omitempty"`
	VLLM        *EngineImage               `json:"vLLM,omitempty"`
	VLLMNeuron  *EngineImage               `json:"vLLMNeuron,omitempty"`
	SGLang      *EngineImage               `json:"sGLang,omitempty"`
	HFServe     *EngineImage               `json:"hfServe,omitempty"`
	Extra       map[string]json.RawMessage `json:"-"`
	seen        presence
}

// Kind returns the variant key ("huggingface", "custom", "tgi", …) or "" for an empty image.
func (im *Image) Kind() string {
	for _, v := range []struct {
		key string
		set bool
	}{
		{"huggingface", im.Huggingface != nil}, {"custom", im.Custom != nil}, {"tgi", im.TGI != nil},
		{"tgiNeuron", im.TGINeuron != nil}, {"tei", im.TEI != nil}, {"llamacpp", im.LlamaCpp != nil},
		{"vLLM", im.VLLM != nil}, {"vLLMNeuron", im.VLLMNeuron != nil}, {"sGLang", im.SGLang != nil},
		{"hfServe", im.HFServe != nil},
	} {
		if v.set {
			return v.key
		}
	}
	keys := make([]string, 0, len(im.Extra))
	for key := range im.Extra {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	if len(keys) > 0 {
		return keys[0]
	}
	return ""
}

// UnmarshalJSON decodes an image, keeping unknown variants in Extra.
func (im *Image) UnmarshalJSON(b []byte) error { return decodeObject(b, im) }

func (im *Image) members() (*map[string]json.RawMessage, *presence) { return &im.Extra, &im.seen }

// MarshalJSON encodes the image including Extra.
func (im Image) MarshalJSON() ([]byte, error) { return encodeObject(&im, im.Extra, im.seen) }

// HuggingfaceImage is the default Hugging Face container (sent as {}).
type HuggingfaceImage struct {
	Extra map[string]json.RawMessage `json:"-"`
	seen  presence
}

// UnmarshalJSON decodes the variant, keeping unknown members in Extra.
func (h *HuggingfaceImage) UnmarshalJSON(b []byte) error { return decodeObject(b, h) }

func (h *HuggingfaceImage) members() (*map[string]json.RawMessage, *presence) {
	return &h.Extra, &h.seen
}

// MarshalJSON encodes the variant including Extra.
func (h HuggingfaceImage) MarshalJSON() ([]byte, error) { return encodeObject(&h, h.Extra, h.seen) }

// CustomImage is a user-supplied container.
type CustomImage struct {
	URL         string                     `json:"url"`
	HealthRoute string                     `json:"healthRoute,omitempty"`
	Port        int                        `json:"port,omitempty"`
	Env         map[string]string          `json:"env,omitempty"`
	Credentials *Credentials               `json:"credentials,omitempty"` // returned redacted
	Extra       map[string]json.RawMessage `json:"-"`
	seen        presence
}

// UnmarshalJSON decodes the variant, keeping unknown members in Extra.
func (c *CustomImage) UnmarshalJSON(b []byte) error { return decodeObject(b, c) }

func (c *CustomImage) members() (*map[string]json.RawMessage, *presence) { return &c.Extra, &c.seen }

// MarshalJSON encodes the variant including Extra.
func (c CustomImage) MarshalJSON() ([]byte, error) { return encodeObject(&c, c.Extra, c.seen) }

// Credentials authenticate against a private container registry.
type Credentials struct {
	Username string                     `json:"username,omitempty"`
	Password string                     `json:"password,omitempty"`
	Extra    map[string]json.RawMessage `json:"-"`
	seen     presence
}

// UnmarshalJSON decodes credentials, keeping unknown members in Extra.
func (c *Credentials) UnmarshalJSON(b []byte) error { return decodeObject(b, c) }

func (c *Credentials) members() (*map[string]json.RawMessage, *presence) { return &c.Extra, &c.seen }

// MarshalJSON encodes credentials including Extra.
func (c Credentials) MarshalJSON() ([]byte, error) { return encodeObject(&c, c.Extra, c.seen) }

// EngineImage is an inference-engine container (tgi, tei, vLLM, …). Engine options the package
// does not model (e.g. maxBatchPrefillTokens) are kept in Extra.
type EngineImage struct {
	URL                  string                     `json:"url"`
	HealthRoute          string                     `json:"healthRoute,omitempty"`
	Port                 int                        `json:"port,omitempty"`
	Env                  map[string]string          `json:"env,omitempty"`
	TensorParallelSize   *int                       `json:"tensorParallelSize,omitempty"` // vLLM, sGLang
	DataParallelSize     *int                       `json:"dataParallelSize,omitempty"`   // vLLM
	DisableCustomKernels *bool                      `json:"disableCustomKernels,omitempty"`
	Extra                map[string]json.RawMessage `json:"-"`
	seen                 presence
}

// UnmarshalJSON decodes the variant, keeping unknown members in Extra.
func (e *EngineImage) UnmarshalJSON(b []byte) error { return decodeObject(b, e) }

func (e *EngineImage) members() (*map[string]json.RawMessage, *presence) { return &e.Extra, &e.seen }

// MarshalJSON encodes the variant including Extra.
func (e EngineImage) MarshalJSON() ([]byte, error) { return encodeObject(&e, e.Extra, e.seen) }

// Status is the live state of an endpoint.
type Status struct {
	State         State                      `json:"state"`
	Message       string                     `json:"message"`
	URL           string                     `json:"url,omitempty"` // absent/null until the endpoint has one
	Private       *PrivateStatus             `json:"private,omitempty"`
	ReadyReplica  int                        `json:"readyReplica"`
	TargetReplica int                        `json:"targetReplica"`
	CreatedAt     Timestamp                  `json:"createdAt"`
	CreatedBy     *Actor                     `json:"createdBy,omitempty"`
	UpdatedAt     Timestamp                  `json:"updatedAt"`
	UpdatedBy     *Actor                     `json:"updatedBy,omitempty"`
	ErrorMessage  string                     `json:"errorMessage,omitempty"`
	Extra         map[string]json.RawMessage `json:"-"`
	seen          presence
}

// UnmarshalJSON decodes a status, keeping unknown members in Extra.
func (s *Status) UnmarshalJSON(b []byte) error { return decodeObject(b, s) }

func (s *Status) members() (*map[string]json.RawMessage, *presence) { return &s.Extra, &s.seen }

// MarshalJSON encodes the status including Extra.
func (s Status) MarshalJSON() ([]byte, error) { return encodeObject(&s, s.Extra, s.seen) }

// PrivateStatus describes a private (PrivateLink) endpoint.
type PrivateStatus struct {
	ServiceName string                     `json:"serviceName,omitempty"`
	Extra       map[string]json.RawMessage `json:"-"`
	seen        presence
}

// UnmarshalJSON decodes it, keeping unknown members in Extra.
func (p *PrivateStatus) UnmarshalJSON(b []byte) error { return decodeObject(b, p) }

func (p *PrivateStatus) members() (*map[string]json.RawMessage, *presence) { return &p.Extra, &p.seen }

// MarshalJSON encodes it including Extra.
func (p PrivateStatus) MarshalJSON() ([]byte, error) { return encodeObject(&p, p.Extra, p.seen) }

// Actor is the user who created or last updated an endpoint.
type Actor struct {
	ID    string                     `json:"id,omitempty"`
	Name  string                     `json:"name,omitempty"`
	Extra map[string]json.RawMessage `json:"-"`
	seen  presence
}

// UnmarshalJSON decodes an actor, keeping unknown members in Extra.
func (a *Actor) UnmarshalJSON(b []byte) error { return decodeObject(b, a) }

func (a *Actor) members() (*map[string]json.RawMessage, *presence) { return &a.Extra, &a.seen }

// MarshalJSON encodes the actor including Extra.
func (a Actor) MarshalJSON() ([]byte, error) { return encodeObject(&a, a.Extra, a.seen) }

// Timestamp is an API time (UTC, trailing Z, 0–9 fraction digits). The text received is kept so that
// re-encoding reproduces it; a value that does not parse is kept as text with a zero Time.
type Timestamp struct {
	Time time.Time
	raw  string
}

// NewTimestamp returns t as an API timestamp.
func NewTimestamp(t time.Time) Timestamp { return Timestamp{Time: t.UTC()} }

// String returns the API text of the timestamp.
func (t Timestamp) String() string {
	if t.raw != "" {
		if p, err := parseTimestamp(t.raw); err != nil || p.Equal(t.Time) {
			return t.raw
		}
	}
	if t.Time.IsZero() {
		return ""
	}
	return t.Time.UTC().Format(time.RFC3339Nano)
}

// IsZero reports whether the timestamp is unset.
func (t Timestamp) IsZero() bool { return t.raw == "" && t.Time.IsZero() }

// UnmarshalJSON accepts a JSON string (or null); unparseable text is kept verbatim.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	*t = Timestamp{}
	if string(b) == "null" {
		return nil
	}
	if inner, plain := plainString(b); plain {
		t.raw = string(inner)
	} else if err := json.Unmarshal(b, &t.raw); err != nil {
		return err
	}
	if p, err := parseTimestamp(t.raw); err == nil {
		t.Time = p
	}
	return nil
}

// MarshalJSON writes the timestamp as the API does.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte(`null`), nil
	}
	return json.Marshal(t.String())
}

func parseTimestamp(s string) (time.Time, error) {
	p, err := time.Parse(time.RFC3339Nano, s)
	return p.UTC(), err
}

// Whoami is the Hub identity behind the token (GET /api/whoami-v2).
type Whoami struct {
	Type  string                     `json:"type"` // "user" for a user token
	Name  string                     `json:"name"`
	Orgs  []Org                      `json:"orgs,omitempty"`
	Extra map[string]json.RawMessage `json:"-"`
	seen  presence
}

// UnmarshalJSON decodes whoami, keeping unknown members in Extra.
func (w *Whoami) UnmarshalJSON(b []byte) error { return decodeObject(b, w) }

func (w *Whoami) members() (*map[string]json.RawMessage, *presence) { return &w.Extra, &w.seen }

// MarshalJSON encodes whoami including Extra.
func (w Whoami) MarshalJSON() ([]byte, error) { return encodeObject(&w, w.Extra, w.seen) }

// WhoamiAuth is whoami's "auth" member: how the token authenticates.
type WhoamiAuth struct {
	// Type is "access_token" for a user access token, "oauth" for an OAuth access token.
	Type string
	// ExpiresAt is when the token expires, when whoami says (OAuth tokens); zero otherwise.
	ExpiresAt time.Time
	// Scopes are an OAuth token's granted scopes, when whoami lists them; nil otherwise.
	Scopes []string
}

// Auth decodes the "auth" member; fields whoami does not give (or gives malformed) stay zero.
func (w *Whoami) Auth() WhoamiAuth {
	var raw struct {
		Type      string  `json:"type"`
		ExpiresAt string  `json:"expiresAt"`
		Scope     *string `json:"scope"`
	}
	var out WhoamiAuth
	if err := json.Unmarshal(w.Extra["auth"], &raw); err != nil {
		return out
	}
	out.Type = raw.Type
	if t, err := time.Parse(time.RFC3339, raw.ExpiresAt); err == nil {
		out.ExpiresAt = t
	}
	if raw.Scope != nil {
		out.Scopes = append([]string{}, strings.Fields(*raw.Scope)...)
	}
	return out
}

// Org is an organisation the user belongs to.
type Org struct {
	Name  string                     `json:"name"`
	Extra map[string]json.RawMessage `json:"-"`
	seen  presence
}

// UnmarshalJSON decodes an org, keeping unknown members in Extra.
func (o *Org) UnmarshalJSON(b []byte) error { return decodeObject(b, o) }

func (o *Org) members() (*map[string]json.RawMessage, *presence) { return &o.Extra, &o.seen }

// MarshalJSON encodes the org including Extra.
func (o Org) MarshalJSON() ([]byte, error) { return encodeObject(&o, o.Extra, o.seen) }

// Vendor is a cloud vendor in the hardware catalog (GET /provider/{ns}).
type Vendor struct {
	Name    string                     `json:"name"`
	Status  string                     `json:"status,omitempty"`
	Regions []Region                   `json:"regions"`
	Extra   map[string]json.RawMessage `json:"-"`
	seen    presence
}

// UnmarshalJSON decodes a vendor, keeping unknown members in Extra.
func (v *Vendor) UnmarshalJSON(b []byte) error { return decodeObject(b, v) }

func (v *Vendor) members() (*map[string]json.RawMessage, *presence) { return &v.Extra, &v.seen }

// MarshalJSON encodes the vendor including Extra.
func (v Vendor) MarshalJSON() ([]byte, error) { return encodeObject(&v, v.Extra, v.seen) }

// Region is a vendor region and the instances offered there.
type Region struct {
	Name     string                     `json:"name"`
	Label    string                     `json:"label,omitempty"`
	Status   string                     `json:"status,omitempty"`
	Computes []Hardware                 `json:"computes"`
	Extra    map[string]json.RawMessage `json:"-"`
	seen     presence
}

// UnmarshalJSON decodes a region, keeping unknown members in Extra.
func (r *Region) UnmarshalJSON(b []byte) error { return decodeObject(b, r) }

func (r *Region) members() (*map[string]json.RawMessage, *presence) { return &r.Extra, &r.seen }

// MarshalJSON encodes the region including Extra.
func (r Region) MarshalJSON() ([]byte, error) { return encodeObject(&r, r.Extra, r.seen) }

// Hardware is one instance offer of the catalog, with its hourly price in USD.
type Hardware struct {
	ID              string                     `json:"id,omitempty"`
	Accelerator     string                     `json:"accelerator"`
	NumAccelerators int                        `json:"numAccelerators,omitempty"`
	NumCpus         int                        `json:"numCpus,omitempty"`
	MemoryGb        float64                    `json:"memoryGb,omitempty"`
	GpuMemoryGb     *float64                   `json:"gpuMemoryGb,omitempty"`
	InstanceType    string                     `json:"instanceType"`
	InstanceSize    string                     `json:"instanceSize"`
	Architecture    string                     `json:"architecture,omitempty"`
	Status          string                     `json:"status,omitempty"`
	PricePerHour    float64                    `json:"pricePerHour"`
	Quota           *Quota                     `json:"quota,omitempty"`
	Extra           map[string]json.RawMessage `json:"-"`
	seen            presence
}

// UnmarshalJSON decodes hardware, keeping unknown (or mistyped) members in Extra.
func (h *Hardware) UnmarshalJSON(b []byte) error { return decodeObject(b, h) }

func (h *Hardware) members() (*map[string]json.RawMessage, *presence) { return &h.Extra, &h.seen }

// MarshalJSON encodes hardware including Extra.
func (h Hardware) MarshalJSON() ([]byte, error) { return encodeObject(&h, h.Extra, h.seen) }

// Quota is how many accelerators of a kind the namespace may use and uses.
type Quota struct {
	MaxAccelerators  int                        `json:"maxAccelerators"`
	UsedAccelerators int                        `json:"usedAccelerators"`
	Extra            map[string]json.RawMessage `json:"-"`
	seen             presence
}

// UnmarshalJSON decodes a quota, keeping unknown members in Extra.
func (q *Quota) UnmarshalJSON(b []byte) error { return decodeObject(b, q) }

func (q *Quota) members() (*map[string]json.RawMessage, *presence) { return &q.Extra, &q.seen }

// MarshalJSON encodes the quota including Extra.
func (q Quota) MarshalJSON() ([]byte, error) { return encodeObject(&q, q.Extra, q.seen) }
