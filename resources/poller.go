package resources

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/mark3labs/mcp-go/mcp"
)

// Default poll intervals: fast while a subscribed endpoint is on its way to another state,
// slow when every subscribed endpoint is steady.
const (
	DefaultFastPoll = time.Second
	DefaultSlowPoll = 10 * time.Second
)

// maxFailureBackoff bounds the wait before listing again a namespace whose list calls keep failing
// (4xx: it does not exist or the token cannot read it; 5xx: the service is in trouble).
const maxFailureBackoff = 5 * time.Minute

// failureBackoff is the wait after fails failed list calls in a row: slow, doubled with every
// further failure, at most maxFailureBackoff (or slow, if that is longer).
func failureBackoff(slow time.Duration, fails int) time.Duration {
	d := slow
	for i := 1; i < fails && d < maxFailureBackoff; i++ {
		d *= 2
	}
	return max(min(d, maxFailureBackoff), slow)
}

// listTimeout bounds one list call, so that a hung request cannot stall a namespace's loop.
const listTimeout = 30 * time.Second

// Lister is what the poller needs from the API: one list call per namespace and cycle, each
// endpoint as the API sent it, so that only the endpoints that changed are decoded.
type Lister interface {
	ListRaw(ctx context.Context, namespace string) ([]json.RawMessage, error)
}

// PollerOptions tune a Poller. Zero fields take their defaults.
type PollerOptions struct {
	// Fast is the interval while a subscribed endpoint is transitional (default 1s).
	Fast time.Duration
	// Slow is the interval while every subscribed endpoint is steady (default 10s).
	Slow time.Duration
	// OnListChanged is called when endpoints appear in or disappear from a watched namespace.
	// It must not block.
	OnListChanged func(namespace string)
	// Logger receives list failures and dropped notifications (default: discard).
	Logger *slog.Logger
	// Share, when set, lets the pollers of several replicas share each namespace: it is called
	// once per watched namespace, and the loop lists only while its PollShare leads, taking the
	// lists the leader publishes otherwise. onList receives them; onLead asks for a poll now.
	Share func(namespace string, onList func(payload []byte), onLead func()) PollShare
}

// PollShare is one replica's part in polling one namespace (see internal/replicas.Share).
type PollShare interface {
	// Leading reports whether this replica should poll now.
	Leading(ctx context.Context) bool
	// WantFast records whether this replica's subscribers want fast polling; FastWanted
	// reports whether some replica does.
	WantFast(fast bool)
	FastWanted() bool
	// Publish hands what this replica polled to the others.
	Publish(payload []byte)
	// Close leaves the namespace to the other replicas.
	Close()
}

// PollerStats are counters since the poller started.
type PollerStats struct {
	Cycles        int64            // completed list calls (one per namespace and cycle), successful or not
	ByNamespace   map[string]int64 // Cycles per namespace
	Notifications int64            // resources/updated notifications queued
	Decoded       int64            // endpoints decoded from lists: new ones, and those whose bytes changed
}

// Poller refreshes every namespace that has at least one subscription with one List call per
// cycle, whatever the number of sessions and subscriptions, and notifies the subscribers of
// the documents that changed. A namespace's loop starts with its first subscription and ends
// with its last. Create it with NewPoller; Close it when done.
type Poller struct {
	api  Lister
	opts PollerOptions
	log  *slog.Logger
	reg  *Registry

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	loops map[string]*nsLoop

	running       atomic.Int64
	notifications atomic.Int64
	decoded       atomic.Int64
	statsMu       sync.Mutex
	cycles        map[string]int64
}

// NewPoller returns a poller listing through api. Its Registry drives which namespaces it polls.
func NewPoller(api Lister, opts PollerOptions) *Poller {
	if opts.Fast <= 0 {
		opts.Fast = DefaultFastPoll
	}
	if opts.Slow <= 0 {
		opts.Slow = DefaultSlowPoll
	}
	if opts.Slow < opts.Fast {
		opts.Slow = opts.Fast
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Poller{api: api, opts: opts, log: log, ctx: ctx, cancel: cancel,
		loops: map[string]*nsLoop{}, cycles: map[string]int64{}}
	p.reg = NewRegistry(p)
	return p
}

// Registry returns the subscription registry that drives this poller.
func (p *Poller) Registry() *Registry { return p.reg }

// Running returns the number of namespace loops whose goroutine is still running.
func (p *Poller) Running() int { return int(p.running.Load()) }

// Stats returns the poller's counters.
func (p *Poller) Stats() PollerStats {
	st := PollerStats{Notifications: p.notifications.Load(), Decoded: p.decoded.Load(), ByNamespace: map[string]int64{}}
	p.statsMu.Lock()
	defer p.statsMu.Unlock()
	for ns, n := range p.cycles {
		st.ByNamespace[ns] = n
		st.Cycles += n
	}
	return st
}

// Watch starts polling namespace unless it is polled already, in which case the loop
// re-evaluates its interval (a new subscription may concern a transitional endpoint).
func (p *Poller) Watch(namespace string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx.Err() != nil {
		return
	}
	if l := p.loops[namespace]; l != nil {
		l.wake()
		return
	}
	ctx, cancel := context.WithCancel(p.ctx)
	l := &nsLoop{ns: namespace, ctx: ctx, cancel: cancel, kick: make(chan struct{}, 1), lead: make(chan struct{}, 1),
		docs: map[string]snapshot{}, published: map[string]uint64{}}
	p.loops[namespace] = l
	p.wg.Add(1)
	p.running.Add(1)
	go p.run(l)
}

// Watched reports whether namespace is being polled.
func (p *Poller) Watched(namespace string) bool { return p.loop(namespace) != nil }

// Unwatch stops polling namespace.
func (p *Poller) Unwatch(namespace string) {
	p.mu.Lock()
	l := p.loops[namespace]
	delete(p.loops, namespace)
	p.mu.Unlock()
	if l != nil {
		l.cancel()
	}
}

// Publish records the endpoint a tool just received (after create, update, pause, …) so that
// subscribers hear of the change at once instead of at the next poll. It never blocks on the
// network and does nothing when nobody watches namespace.
func (p *Poller) Publish(namespace string, ep *hfapi.Endpoint) {
	if ep == nil {
		return
	}
	if l := p.loop(namespace); l != nil {
		p.deliver(namespace, l.set(ep.Name, snapshotOf(namespace, ep), true))
		l.wake()
	}
}

// PublishRemoval records that a tool deleted the endpoint namespace/name.
func (p *Poller) PublishRemoval(namespace, name string) {
	if l := p.loop(namespace); l != nil {
		p.deliver(namespace, l.set(name, snapshot{}, false))
	}
}

// Close stops every loop and waits for their goroutines to end.
func (p *Poller) Close() error {
	p.cancel()
	p.mu.Lock()
	p.loops = map[string]*nsLoop{}
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}

func (p *Poller) loop(namespace string) *nsLoop {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.loops[namespace]
}

// run polls one namespace until its context ends. The first poll is immediate: it sets the
// baseline against which changes are detected.
func (p *Poller) run(l *nsLoop) {
	defer p.wg.Done()
	defer p.running.Add(-1)
	if p.opts.Share != nil {
		// Made here rather than in Watch: joining may wait on the network.
		l.share = p.opts.Share(l.ns, func(payload []byte) { p.receive(l, payload) }, func() { signal(l.lead) })
		defer l.share.Close()
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	var last time.Time
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-timer.C:
			if l.share == nil || l.share.Leading(l.ctx) {
				p.poll(l)
			}
			last = time.Now()
		case <-l.lead:
			// This replica just took the namespace over: poll at once.
			p.poll(l)
			last = time.Now()
		case <-l.kick:
			// Re-evaluate the interval: a publish or subscription may call for faster polling.
			timer.Stop()
		}
		timer.Reset(max(p.interval(l)-time.Since(last), 0))
	}
}

// poll lists the namespace once, notifies what changed, then counts the cycle (so that a
// counted cycle has delivered its notifications). A list cut short by Unwatch or Close is
// neither applied nor counted.
func (p *Poller) poll(l *nsLoop) {
	gen := l.generation()
	ctx, cancel := context.WithTimeout(l.ctx, listTimeout)
	defer cancel()
	items, err := p.api.ListRaw(ctx, l.ns)
	if l.ctx.Err() != nil {
		return
	}
	var next map[string]snapshot
	if err == nil {
		var decoded int
		next, decoded, err = l.snapshots(items)
		p.decoded.Add(int64(decoded))
	}
	if err != nil {
		// Warn once per outage: a namespace the token cannot read would otherwise log every cycle.
		level := slog.LevelWarn
		if l.setFailed(true) {
			level = slog.LevelDebug
		}
		p.log.Log(ctx, level, "refreshing subscribed endpoints failed; retrying", "namespace", l.ns, "err", err)
	} else {
		l.setFailed(false)
		p.deliver(l.ns, l.applySnapshots(next, gen))
		if l.share != nil {
			l.share.Publish(l.encode())
		}
	}
	p.statsMu.Lock()
	p.cycles[l.ns]++
	p.statsMu.Unlock()
}

// receive applies a list another replica polled, as if this one had.
func (p *Poller) receive(l *nsLoop, payload []byte) {
	var docs map[string]wireSnapshot
	if err := json.Unmarshal(payload, &docs); err != nil {
		p.log.Warn("ignoring an undecodable list from another replica", "namespace", l.ns, "err", err)
		return
	}
	next := make(map[string]snapshot, len(docs))
	for name, d := range docs {
		next[name] = snapshot{state: d.State, body: d.Body}
	}
	if l.ctx.Err() != nil {
		return
	}
	l.setFailed(false)
	p.deliver(l.ns, l.applySnapshots(next, l.generation()))
}

// interval is Fast while any subscribed endpoint of the namespace is transitional (here or,
// when replicas share the polling, at any of them), else Slow.
func (p *Poller) interval(l *nsLoop) time.Duration {
	d := p.localInterval(l)
	if l.share == nil {
		return d
	}
	l.share.WantFast(d == p.opts.Fast)
	if l.share.FastWanted() {
		return p.opts.Fast
	}
	return d
}

func (p *Poller) localInterval(l *nsLoop) time.Duration {
	uris, failed := l.transitional()
	if failed {
		return failureBackoff(p.opts.Slow, l.failures())
	}
	for _, uri := range uris {
		if p.reg.Subscribed(uri) {
			return p.opts.Fast
		}
	}
	return p.opts.Slow
}

func (p *Poller) deliver(namespace string, c changes) {
	for _, uri := range c.updated {
		for _, s := range p.reg.Subscribers(uri) {
			if err := s.Notify(mcp.MethodNotificationResourceUpdated, map[string]any{"uri": uri}); err != nil {
				p.log.Debug("dropping resources/updated", "uri", uri, "subscriber", s.ID(), "err", err)
				continue
			}
			p.notifications.Add(1)
		}
	}
	if c.listChanged && p.opts.OnListChanged != nil {
		p.opts.OnListChanged(namespace)
	}
}

// snapshot is what change detection compares: the status document without its cost (which
// only changes with the hardware, already part of the document).
type snapshot struct {
	state hfapi.State
	body  string
}

// wireSnapshot is a snapshot as replicas exchange it.
type wireSnapshot struct {
	State hfapi.State `json:"s"`
	Body  string      `json:"b"`
}

func snapshotOf(namespace string, ep *hfapi.Endpoint) snapshot {
	b, err := json.Marshal(NewStatusDocument(namespace, ep, nil))
	if err != nil {
		// The document holds only strings, numbers and pointers to them: this cannot happen,
		// and a changing placeholder would only cause one extra notification.
		b = []byte(err.Error())
	}
	return snapshot{state: ep.Status.State, body: string(b)}
}

// changes is what one poll or publish found.
type changes struct {
	updated     []string // URIs whose document changed, appeared or disappeared
	listChanged bool     // endpoints appeared or disappeared
}

// itemKey identifies an endpoint's bytes in a list response: a hash of them, and their length.
type itemKey struct {
	hash uint64
	size int
}

// listed is what an endpoint's bytes in a list response gave: its name and document.
type listed struct {
	name string
	doc  snapshot
}

// nsLoop is the state of one watched namespace.
type nsLoop struct {
	ns     string
	ctx    context.Context
	cancel context.CancelFunc
	kick   chan struct{}
	lead   chan struct{} // this replica took the namespace's lease
	share  PollShare     // nil unless replicas share the polling; set and used by run

	mu     sync.Mutex
	docs   map[string]snapshot // endpoint name → last known document
	primed bool                // docs holds a complete list
	failed bool                // the last list call failed
	fails  int                 // list calls failed in a row (the backoff's exponent)
	// gen counts publishes; published[name] is the generation of the last publish of name, so
	// that a list requested before that publish does not undo it.
	gen       uint64
	published map[string]uint64
	// byBytes holds what each endpoint of the last list decoded to, by its bytes: an endpoint
	// sent again unchanged is not decoded again. Only the poll goroutine uses it.
	byBytes map[itemKey]listed
}

// seed keys the hashes of list items; fixed for the process, so that the keys of consecutive
// lists compare.
var seed = maphash.MakeSeed()

// snapshots returns the documents of a list's items by endpoint name, and how many items it
// decoded: only those whose bytes were not in the previous list. An item that is not an endpoint
// fails the list, as decoding it whole would.
func (l *nsLoop) snapshots(items []json.RawMessage) (next map[string]snapshot, decoded int, err error) {
	next = make(map[string]snapshot, len(items))
	byBytes := make(map[itemKey]listed, len(items))
	for _, item := range items {
		key := itemKey{hash: maphash.Bytes(seed, item), size: len(item)}
		got, ok := l.byBytes[key]
		if !ok {
			var ep hfapi.Endpoint
			if err := json.Unmarshal(item, &ep); err != nil {
				return nil, decoded, fmt.Errorf("list of %s: decoding an endpoint: %w", l.ns, err)
			}
			got = listed{name: ep.Name, doc: snapshotOf(l.ns, &ep)}
			decoded++
		}
		byBytes[key] = got
		next[got.name] = got.doc
	}
	l.byBytes = byBytes
	return next, decoded, nil
}

func (l *nsLoop) wake() { signal(l.kick) }

// signal sends on a channel of capacity 1 unless a signal is pending already.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// encode returns the known documents as replicas exchange them.
func (l *nsLoop) encode() []byte {
	l.mu.Lock()
	docs := make(map[string]wireSnapshot, len(l.docs))
	for name, s := range l.docs {
		docs[name] = wireSnapshot{State: s.state, Body: s.body}
	}
	l.mu.Unlock()
	b, _ := json.Marshal(docs) // strings only: cannot fail
	return b
}

func (l *nsLoop) generation() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen
}

// setFailed records whether the last list failed and returns the previous value.
func (l *nsLoop) setFailed(f bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	was := l.failed
	l.failed = f
	if f {
		l.fails = min(l.fails+1, 30)
	} else {
		l.fails = 0
	}
	return was
}

// failures returns how many list calls failed in a row.
func (l *nsLoop) failures() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fails
}

// transitional returns the URIs of the known endpoints that are transitional.
func (l *nsLoop) transitional() (uris []string, failed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, s := range l.docs {
		if s.state.Transitional() {
			uris = append(uris, URI(l.ns, name))
		}
	}
	return uris, l.failed
}

// applySnapshots replaces the known documents by those of a fresh list requested at generation gen
// (next, which it keeps), made by this replica or another, and returns what changed. The first list
// only sets the baseline.
func (l *nsLoop) applySnapshots(next map[string]snapshot, gen uint64) changes {
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, g := range l.published {
		if g <= gen {
			delete(l.published, name) // the list saw this publish
			continue
		}
		if s, ok := l.docs[name]; ok {
			next[name] = s
		} else {
			delete(next, name)
		}
	}
	prev, primed := l.docs, l.primed
	l.docs, l.primed = next, true
	if !primed {
		return changes{}
	}
	var c changes
	for name, s := range next {
		old, had := prev[name]
		if !had || old.body != s.body {
			c.updated = append(c.updated, URI(l.ns, name))
		}
		c.listChanged = c.listChanged || !had
	}
	for name := range prev {
		if _, ok := next[name]; !ok {
			c.updated = append(c.updated, URI(l.ns, name))
			c.listChanged = true
		}
	}
	return c
}

// set records a published document (present) or removal (!present) and returns what changed.
func (l *nsLoop) set(name string, s snapshot, present bool) changes {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gen++
	l.published[name] = l.gen
	old, had := l.docs[name]
	if present {
		l.docs[name] = s
	} else {
		delete(l.docs, name)
	}
	uri := URI(l.ns, name)
	if !l.primed {
		// Without a baseline the list cannot be compared; the document itself did change.
		return changes{updated: []string{uri}}
	}
	var c changes
	if had != present || (present && old.body != s.body) {
		c.updated = []string{uri}
	}
	c.listChanged = had != present
	return c
}
