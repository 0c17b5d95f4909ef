package hfapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/confirm"
)

// Guardrails: deleting an endpoint, and creating, updating or resuming one whose estimated hourly cost
// exceeds the configured ceiling, need a confirmation token that only a preview of this server can
// issue. The token is an HMAC (under the Issuer's key, shared by replicas) over the action, the endpoint and what
// identifies it (its createdAt, or a digest of the exact request), expires (default 5 min) and is
// single use. DELETE is sent by Delete only, after the token is redeemed. Every change of one
// endpoint holds that endpoint's lock (lock.go) from the read its guard prices to the answer of its
// request, so concurrent changes are priced one after the other, each against the endpoint as the
// previous one left it.

// DefaultMaxHourlyCost is the cost ceiling (USD per hour) used when Config.MaxHourlyCost is 0.
const DefaultMaxHourlyCost = 10.0

// NoCostCeiling, as Config.MaxHourlyCost, turns the cost ceiling off: no create, update or resume
// needs a confirmation (deletes always do). Any negative value means the same.
const NoCostCeiling = -1.0

// Issuer issues and redeems confirmation tokens. Clients that must accept each other's tokens (for
// example one client per request with different HF tokens) share one through Config.Confirmations.
type Issuer = confirm.Issuer

// NewIssuer returns an Issuer with a fresh random key of this process; ttl ≤ 0 means 5 minutes.
// confirm.New makes one with a shared key and ledger.
func NewIssuer(ttl time.Duration) *Issuer { return confirm.NewIssuer(ttl) }

// Why a confirmation token was refused (match with errors.Is on a *ConfirmationRefusedError).
var (
	ErrConfirmationMalformed = confirm.ErrMalformed
	ErrConfirmationForged    = confirm.ErrForged
	ErrConfirmationExpired   = confirm.ErrExpired
	ErrConfirmationUsed      = confirm.ErrUsed
	ErrConfirmationMismatch  = confirm.ErrMismatch
	ErrConfirmationRetired   = confirm.ErrRetired
	ErrConfirmationCaller    = confirm.ErrCaller
	// ErrConfirmationStoreDown: the store shared by replicas (Redis) could not say whether the token
	// was used, so it was refused without being spent.
	ErrConfirmationStoreDown = confirm.ErrLedger
	// ErrEndpointReplaced: the endpoint now under that name is not the one previewed (it was deleted
	// and re-created since).
	ErrEndpointReplaced = errors.New("the endpoint under this name is not the one previewed (it was deleted and re-created since): ask for a new preview")
	// ErrEndpointChanged: the endpoint's hardware or replicas changed since the preview, so the
	// action would not cost what was confirmed.
	ErrEndpointChanged = errors.New("the endpoint's hardware or replicas changed since the preview, so the confirmed cost no longer applies: ask for a new preview")
)

// Action names a guarded action.
type Action string

// Guarded actions.
const (
	ActionDelete            Action = "delete"
	ActionCreate            Action = "create"
	ActionCreateFromCatalog Action = "create_from_catalog"
	ActionUpdate            Action = "update"
	ActionResume            Action = "resume"
)

// Plan describes a guarded action for a human to confirm, with the token that confirms it.
type Plan struct {
	Action    Action
	Namespace string
	Name      string    // "" for a catalog deploy that lets the service pick the name
	Endpoint  *Endpoint // the endpoint as fetched (delete, update, resume); nil for creates
	// Compute, Vendor and Region are the hardware the action results in (delete: the current one).
	// A catalog deploy leaves them empty: the catalog picks the instance.
	Compute    Compute
	Vendor     string
	Region     string
	Repository string
	// Cost is the estimated hourly cost after the action (delete: what stops being billed); nil when
	// it cannot be estimated, which counts as over the ceiling.
	Cost     *Cost
	CostNote string  // how the estimate was made, or why there is none
	Ceiling  float64 // the ceiling in USD/h; negative when there is none
	Token    string  // confirms exactly this action, once, until Expires
	Expires  time.Time

	// unknownHardware is set when the catalog offers no such instance: a create, update or
	// resume of it is refused, never offered for confirmation.
	unknownHardware *UnknownHardwareError
}

// Target returns "namespace/name" (just the namespace when there is no name yet, just the name when
// the namespace is unknown).
func (p *Plan) Target() string {
	switch {
	case p.Name == "":
		return p.Namespace
	case p.Namespace == "":
		return p.Name
	}
	return p.Namespace + "/" + p.Name
}

// Hardware describes the instance, e.g. "nvidia-h100 x8 (gpu) on aws us-east-1, 1–2 replicas".
func (p *Plan) Hardware() string {
	if p.Compute.InstanceType == "" {
		return ""
	}
	s := fmt.Sprintf("%s %s (%s)", p.Compute.InstanceType, p.Compute.InstanceSize, p.Compute.Accelerator)
	if p.Vendor != "" {
		s += " on " + strings.TrimSpace(p.Vendor+" "+p.Region)
	}
	sc := p.Compute.Scaling
	return s + fmt.Sprintf(", %d–%d replicas", sc.MinReplica, max(sc.MaxReplica, 1))
}

// CostText is the estimate in words, e.g. "80.00 USD/h at 1 replica max".
func (p *Plan) CostText() string {
	if p.Cost == nil {
		return "unknown (" + p.CostNote + ")"
	}
	return fmt.Sprintf("%.2f %s/h (%s)", p.Cost.Max, p.Cost.Currency, p.CostNote)
}

// Summary is one line saying what will happen, for previews and confirmation prompts.
func (p *Plan) Summary() string {
	var b strings.Builder
	switch p.Action {
	case ActionDelete:
		fmt.Fprintf(&b, "Delete endpoint %s permanently", p.Target())
		if p.Endpoint != nil {
			fmt.Fprintf(&b, " (state %s, model %s)", p.Endpoint.Status.State, p.Endpoint.Model.Repository)
		}
	case ActionCreateFromCatalog:
		fmt.Fprintf(&b, "Deploy catalog model %s in %s", p.Repository, p.Target())
	default:
		fmt.Fprintf(&b, "%s endpoint %s", capitalize(string(p.Action)), p.Target())
		if p.Repository != "" {
			fmt.Fprintf(&b, " (model %s)", p.Repository)
		}
	}
	if hw := p.Hardware(); hw != "" {
		fmt.Fprintf(&b, " on %s", hw)
	}
	fmt.Fprintf(&b, "; estimated cost %s", p.CostText())
	if p.Action != ActionDelete && p.Ceiling >= 0 {
		fmt.Fprintf(&b, ", above the %.2f USD/h ceiling", p.Ceiling)
	}
	return b.String()
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// ConfirmationRequiredError is returned by Create, CreateFromCatalog, Update and Resume when the
// action's estimated cost exceeds the ceiling and no confirmation was given. Nothing was sent. Repeat
// the call with WithConfirmation(Plan.Token) once a human has agreed to Plan.Summary().
type ConfirmationRequiredError struct {
	Plan *Plan
}

// Error says what needs confirming; it never contains the token.
func (e *ConfirmationRequiredError) Error() string {
	return fmt.Sprintf("%s endpoint %s needs a confirmation: %s; nothing was sent", e.Plan.Action, e.Plan.Target(), e.Plan.Summary())
}

// ConfirmationRefusedError is returned when a confirmation token is not valid for the action (see
// the ErrConfirmation… reasons). Nothing was sent.
type ConfirmationRefusedError struct {
	Op     string // e.g. "delete endpoint alice/my-ep"
	Reason error
}

// Error names the operation and why the token was refused; it never contains the token.
func (e *ConfirmationRefusedError) Error() string {
	return e.Op + ": confirmation refused, nothing was done: " + e.Reason.Error()
}

// Unwrap returns the reason, so errors.Is(err, ErrConfirmationExpired) works.
func (e *ConfirmationRefusedError) Unwrap() error { return e.Reason }

// ActionOption adjusts a guarded action.
type ActionOption func(*actionOptions)

type actionOptions struct{ token string }

// WithConfirmation passes the token of a Plan (from a ConfirmationRequiredError) to confirm the
// action it describes. A token is checked whenever one is given, even if the action would not need
// one.
func WithConfirmation(token string) ActionOption {
	return func(o *actionOptions) { o.token = strings.TrimSpace(token) }
}

func collect(opts []ActionOption) actionOptions {
	var o actionOptions
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}

// initGuard sets the client's issuer and ceiling from cfg.
func (c *Client) initGuard(cfg Config) {
	c.issuer = cfg.Confirmations
	if c.issuer == nil {
		c.issuer = confirm.NewIssuer(0)
	}
	c.caller = callerID(cfg.Token)
	if cfg.Caller != "" {
		c.caller = callerID("caller\x00" + cfg.Caller) // never equal to a token's
	}
	switch {
	case cfg.MaxHourlyCost == 0:
		c.ceiling = DefaultMaxHourlyCost
	case cfg.MaxHourlyCost < 0 || math.IsNaN(cfg.MaxHourlyCost):
		c.ceiling = NoCostCeiling
	default:
		c.ceiling = cfg.MaxHourlyCost
	}
}

// MaxHourlyCost returns the cost ceiling in USD/h above which creates, updates and resumes need a
// confirmation, and whether there is one.
func (c *Client) MaxHourlyCost() (float64, bool) { return c.ceiling, c.ceiling >= 0 }

// PrepareDelete fetches the endpoint and returns the plan of its deletion with a token for Delete.
// It changes nothing.
func (c *Client) PrepareDelete(ctx context.Context, namespace, name string) (*Plan, error) {
	ns, err := c.target(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	ep, err := c.Get(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	p := &Plan{Action: ActionDelete, Namespace: ns, Name: name, Endpoint: ep, Compute: ep.Compute,
		Vendor: ep.Provider.Vendor, Region: ep.Provider.Region, Repository: ep.Model.Repository, Ceiling: c.ceiling}
	c.priceEndpoint(ctx, ns, p)
	p.Token, p.Expires = c.issue(deleteClaims(ns, name, ep))
	return p, nil
}

func deleteClaims(ns, name string, ep *Endpoint) confirm.Claims {
	return confirm.Claims{Action: string(ActionDelete), Namespace: ns, Name: name, Identity: ep.Status.CreatedAt.String()}
}

// callerID is an opaque digest of a token, which confirmation tokens carry so
// that, when several callers share an issuer (HF token pass-through), only the
// caller who asked for a preview can redeem it.
func callerID(token string) string {
	sum := sha256.Sum256([]byte("hf-endpoints-mcp confirmation caller\x00" + token))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// issue and redeem bind claims to this client's caller.
func (c *Client) issue(claims confirm.Claims) (string, time.Time) {
	claims.Caller = c.caller
	return c.issuer.Issue(claims)
}

func (c *Client) redeem(ctx context.Context, token string, claims confirm.Claims) error {
	claims.Caller = c.caller
	return c.issuer.Redeem(ctx, token, claims)
}

// Delete deletes the endpoint a PrepareDelete token names, after checking the token (signature,
// expiry, single use, same namespace and name) and that the endpoint is still the one previewed
// (same createdAt). It returns the endpoint as last seen before deletion. This is the only way this
// package sends a DELETE request.
func (c *Client) Delete(ctx context.Context, namespace, name, token string) (*Endpoint, error) {
	ns, err := c.target(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	op := "delete endpoint " + ns + "/" + name
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, &ConfirmationRefusedError{Op: op, Reason: errors.New("no confirmation token: call PrepareDelete (delete_endpoint without a token) first")}
	}
	// Cheap checks before any request: a forged token or one for another endpoint costs nothing.
	claims, err := c.issuer.Inspect(token)
	if err != nil {
		return nil, &ConfirmationRefusedError{Op: op, Reason: err}
	}
	if claims.Caller != c.caller {
		return nil, &ConfirmationRefusedError{Op: op, Reason: ErrConfirmationCaller}
	}
	if claims.Action != string(ActionDelete) || claims.Namespace != ns || claims.Name != name {
		return nil, &ConfirmationRefusedError{Op: op, Reason: ErrConfirmationMismatch}
	}
	unlock, err := c.lockEndpoint(ctx, op, ns, name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	ep, err := c.Get(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	want := deleteClaims(ns, name, ep)
	if claims.Identity != want.Identity {
		return nil, &ConfirmationRefusedError{Op: op, Reason: ErrEndpointReplaced}
	}
	if err := c.redeem(ctx, token, want); err != nil {
		return nil, &ConfirmationRefusedError{Op: op, Reason: err}
	}
	req := request{op: op, method: http.MethodDelete, url: endpointURL(c.api, "endpoint", ns, name)}
	in := intentOf(req, ns, name)
	_, err = c.change(ctx, req, in)
	if answerLost(err) {
		// No answer: whether it is gone decides what happened, not the lost answer.
		_, err = c.settled(ctx, in, err, deleted(ep))
	}
	// Whatever the answer, tokens previewed before this request no longer describe the world.
	// Where the shared store misses that, they still name the old endpoint's createdAt.
	if rerr := c.issuer.Retire(context.WithoutCancel(ctx), ns, name); rerr != nil {
		notify(ctx, slog.LevelWarn, "%s: %v; earlier previews of it stay bound to its createdAt", op, rerr)
	}
	if err != nil {
		return nil, err
	}
	return ep, nil
}

// guardCostly lets an action through when a given token redeems for claims, or when no token is
// given and the plan's cost is known and within the ceiling. Otherwise it issues a token and returns
// a *ConfirmationRequiredError. plan is only called when needed.
func (c *Client) guardCostly(ctx context.Context, op string, o actionOptions, claims confirm.Claims, plan func() *Plan) error {
	if o.token != "" {
		if err := c.redeem(ctx, o.token, claims); err != nil {
			return &ConfirmationRefusedError{Op: op, Reason: err}
		}
		return nil
	}
	if c.ceiling < 0 {
		return nil
	}
	p := plan()
	if p.unknownHardware != nil {
		return fmt.Errorf("%s: %w", op, p.unknownHardware) // the API would refuse it: nothing to confirm
	}
	if p.Cost != nil && p.Cost.Max <= c.ceiling {
		return nil
	}
	p.Ceiling = c.ceiling
	p.Token, p.Expires = c.issue(claims)
	return &ConfirmationRequiredError{Plan: p}
}

func (c *Client) guardCreate(ctx context.Context, ns string, spec CreateSpec, opts []ActionOption) error {
	o := collect(opts)
	if o.token == "" && c.ceiling < 0 {
		return nil
	}
	claims := confirm.Claims{Action: string(ActionCreate), Namespace: ns, Name: spec.Name, Identity: digest(spec)}
	return c.guardCostly(ctx, "create endpoint "+ns+"/"+spec.Name, o, claims, func() *Plan {
		p := &Plan{Action: ActionCreate, Namespace: ns, Name: spec.Name, Compute: spec.compute(),
			Vendor: spec.Vendor, Region: spec.Region, Repository: spec.Repository}
		c.priceEndpoint(ctx, ns, p)
		return p
	})
}

// compute is the hardware and scaling the spec asks for, with the API's defaults.
func (s CreateSpec) compute() Compute {
	sc := Scaling{MinReplica: 1, MaxReplica: 1}
	if s.MinReplica != nil {
		sc.MinReplica = *s.MinReplica
	}
	if s.MaxReplica != nil {
		sc.MaxReplica = *s.MaxReplica
	}
	return Compute{Accelerator: s.Accelerator, InstanceType: s.InstanceType, InstanceSize: s.InstanceSize, Scaling: sc}
}

func (c *Client) guardCatalog(ctx context.Context, ns string, spec CatalogSpec, opts []ActionOption) error {
	o := collect(opts)
	if o.token == "" && c.ceiling < 0 {
		return nil
	}
	claims := confirm.Claims{Action: string(ActionCreateFromCatalog), Namespace: ns, Name: spec.EndpointName, Identity: digest(spec)}
	return c.guardCostly(ctx, "create endpoint from catalog "+spec.RepoID, o, claims, func() *Plan {
		p := &Plan{Action: ActionCreateFromCatalog, Namespace: ns, Name: spec.EndpointName, Repository: spec.RepoID}
		p.Compute.Accelerator = spec.Accelerator
		c.priceCatalog(ctx, ns, spec.Accelerator, p)
		return p
	})
}

// changesCost reports whether the update touches what the estimate depends on (hardware, replicas).
func (s UpdateSpec) changesCost() bool {
	return s.Accelerator != nil || s.InstanceType != nil || s.InstanceSize != nil || s.MinReplica != nil || s.MaxReplica != nil
}

// applyTo returns cur's compute as the update leaves it. A new instance type or size drops the
// compute id (it names the old instance) and, unless given, the accelerator.
func (s UpdateSpec) applyTo(cur Compute) Compute {
	out := Compute{ID: cur.ID, Accelerator: cur.Accelerator, InstanceType: cur.InstanceType, InstanceSize: cur.InstanceSize,
		Scaling: Scaling{MinReplica: cur.Scaling.MinReplica, MaxReplica: cur.Scaling.MaxReplica}}
	if s.InstanceType != nil || s.InstanceSize != nil || s.Accelerator != nil {
		out.ID, out.Accelerator = "", ""
	}
	setVal(&out.Accelerator, s.Accelerator)
	setVal(&out.InstanceType, s.InstanceType)
	setVal(&out.InstanceSize, s.InstanceSize)
	setVal(&out.Scaling.MinReplica, s.MinReplica)
	setVal(&out.Scaling.MaxReplica, s.MaxReplica)
	return out
}

func setVal[T any](dst *T, p *T) {
	if p != nil {
		*dst = *p
	}
}

// guardUpdate guards an update that changes hardware or replicas. The caller holds the endpoint's
// lock, so the endpoint read here is the one the update applies to, and the estimate is of the
// endpoint as the update leaves it. Its token binds the endpoint's createdAt, the exact spec and
// the hardware and replicas that result: redeemed after another change of the endpoint, it no
// longer describes what would be billed and is refused (ErrEndpointChanged).
func (c *Client) guardUpdate(ctx context.Context, ns, name string, spec UpdateSpec, opts []ActionOption) error {
	o := collect(opts)
	if o.token == "" && (c.ceiling < 0 || !spec.changesCost()) {
		return nil
	}
	op := "update endpoint " + ns + "/" + name
	cur, err := c.Get(ctx, ns, name)
	if err != nil {
		return fmt.Errorf("%s: checking its hourly cost: %w", op, err)
	}
	after := spec.applyTo(cur.Compute)
	request := cur.Status.CreatedAt.String() + " " + digest(spec)
	claims := confirm.Claims{Action: string(ActionUpdate), Namespace: ns, Name: name,
		Identity: request + " " + digest(billed{after, cur.Provider.Vendor, cur.Provider.Region})}
	if err := c.changedSincePreview(op, o, claims, request); err != nil {
		return err
	}
	return c.guardCostly(ctx, op, o, claims, func() *Plan {
		p := &Plan{Action: ActionUpdate, Namespace: ns, Name: name, Endpoint: cur, Compute: after,
			Vendor: cur.Provider.Vendor, Region: cur.Provider.Region, Repository: cur.Model.Repository}
		if spec.Repository != nil {
			p.Repository = *spec.Repository
		}
		c.priceEndpoint(ctx, ns, p)
		return p
	})
}

// billed is what an estimate prices: hardware, replicas and where they run.
type billed struct {
	Compute        Compute
	Vendor, Region string
}

// changedSincePreview refuses, with ErrEndpointChanged, a token issued for this very request
// (identity prefix) whose claims no longer match because the endpoint changed since.
func (c *Client) changedSincePreview(op string, o actionOptions, claims confirm.Claims, prefix string) error {
	if o.token == "" {
		return nil
	}
	got, err := c.issuer.Inspect(o.token)
	if err != nil || got.Action != claims.Action || got.Namespace != claims.Namespace || got.Name != claims.Name ||
		got.Identity == claims.Identity || !strings.HasPrefix(got.Identity, prefix+" ") {
		return nil // Redeem decides, with its own reason
	}
	return &ConfirmationRefusedError{Op: op, Reason: ErrEndpointChanged}
}

// guardResume guards resuming an endpoint that is not running. The caller holds the endpoint's
// lock. Its token binds the endpoint's createdAt and hardware, so a token does not survive a
// change of instance or replicas (ErrEndpointChanged).
func (c *Client) guardResume(ctx context.Context, ns, name string, opts []ActionOption) error {
	o := collect(opts)
	if o.token == "" && c.ceiling < 0 {
		return nil
	}
	op := "resume endpoint " + ns + "/" + name
	cur, err := c.Get(ctx, ns, name)
	if err != nil {
		return fmt.Errorf("%s: checking its hourly cost: %w", op, err)
	}
	if o.token == "" && cur.Status.State == StateRunning {
		return nil // nothing starts: the API answers "already running"
	}
	claims := confirm.Claims{Action: string(ActionResume), Namespace: ns, Name: name,
		Identity: cur.Status.CreatedAt.String() + " " + digest(cur.Compute)}
	if err := c.changedSincePreview(op, o, claims, cur.Status.CreatedAt.String()); err != nil {
		return err
	}
	return c.guardCostly(ctx, op, o, claims, func() *Plan {
		p := &Plan{Action: ActionResume, Namespace: ns, Name: name, Endpoint: cur, Compute: cur.Compute,
			Vendor: cur.Provider.Vendor, Region: cur.Provider.Region, Repository: cur.Model.Repository}
		c.priceEndpoint(ctx, ns, p)
		return p
	})
}

// priceTTL is how long a namespace's hardware catalog is reused for estimates: prices change
// rarely, and each guarded action would otherwise fetch (and decode) the whole catalog.
const priceTTL = 5 * time.Minute

// priceCache holds recent hardware catalogs by namespace.
type priceCache struct {
	mu    sync.Mutex
	byNS  map[string][]Vendor
	taken map[string]time.Time
}

// pricing returns the namespace's hardware catalog, from the cache when fresh.
func (c *Client) pricing(ctx context.Context, ns string) ([]Vendor, error) {
	now := c.clock.Now()
	c.prices.mu.Lock()
	if v, ok := c.prices.byNS[ns]; ok && now.Sub(c.prices.taken[ns]) < priceTTL {
		c.prices.mu.Unlock()
		return v, nil
	}
	c.prices.mu.Unlock()
	vendors, err := c.ListHardware(ctx, ns)
	if err != nil {
		return nil, err
	}
	c.prices.mu.Lock()
	defer c.prices.mu.Unlock()
	if c.prices.byNS == nil {
		c.prices.byNS, c.prices.taken = map[string][]Vendor{}, map[string]time.Time{}
	}
	c.prices.byNS[ns], c.prices.taken[ns] = vendors, now
	return vendors, nil
}

// priceEndpoint sets p.Cost from the hardware catalog for p's compute, vendor and region.
func (c *Client) priceEndpoint(ctx context.Context, ns string, p *Plan) {
	vendors, err := c.pricing(ctx, ns)
	if err != nil {
		p.CostNote = "the hardware catalog could not be read: " + err.Error()
		return
	}
	cost, err := estimate(p.Compute, vendors, p.Vendor, p.Region)
	if err != nil {
		p.CostNote = err.Error()
		errors.As(err, &p.unknownHardware)
		return
	}
	p.Cost = &cost
	p.CostNote = fmt.Sprintf("%.2f USD/h per replica × %d max replicas", cost.PricePerHour, max(p.Compute.Scaling.MaxReplica, 1))
}

// priceCatalog bounds the cost of a catalog deploy, whose instance the catalog picks: the most
// expensive offer for the accelerator (any accelerator when none is given), at one replica, the
// catalog configurations' maximum.
func (c *Client) priceCatalog(ctx context.Context, ns, accelerator string, p *Plan) {
	vendors, err := c.pricing(ctx, ns)
	if err != nil {
		p.CostNote = "the hardware catalog could not be read: " + err.Error()
		return
	}
	top, found := 0.0, false
	for _, v := range vendors {
		for _, r := range v.Regions {
			for _, h := range r.Computes {
				if accelerator != "" && h.Accelerator != accelerator {
					continue
				}
				if err := checkPrice(h); err != nil {
					p.CostNote = err.Error()
					return
				}
				top, found = math.Max(top, h.PricePerHour), true
			}
		}
	}
	if !found {
		p.CostNote = fmt.Sprintf("no %s instance in the hardware catalog", strings.TrimSpace(accelerator+" "))
		return
	}
	p.Cost = &Cost{Max: top, PricePerHour: top, Currency: "USD"}
	what := "instance"
	if accelerator != "" {
		what = accelerator + " instance"
	}
	p.CostNote = fmt.Sprintf("at most: the catalog picks the instance; the most expensive %s offered costs %.2f USD/h, one replica", what, top)
}

// digest is a short, stable fingerprint of v's JSON (maps encode with sorted keys). It binds a
// token to an exact request without carrying the request (or its secrets) in the token.
func digest(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		b = fmt.Appendf(nil, "%#v", v) // unreachable for the spec types; still deterministic
	}
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}
