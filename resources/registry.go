package resources

import (
	"sort"
	"sync"
)

// Subscriber is one destination for notifications/resources/updated: a session that called
// resources/subscribe, or one subscriptions/listen stream. Implementations must be safe for
// concurrent use.
type Subscriber interface {
	// ID identifies the subscriber in a Registry; two subscribers with the same ID are the same.
	ID() string
	// Notify queues a notification without blocking and reports an error when it cannot.
	Notify(method string, params map[string]any) error
}

// Watcher is told when a namespace gains subscriptions and when its last one goes.
type Watcher interface {
	// Watch is called on every new subscription in namespace (idempotent for the watcher).
	Watch(namespace string)
	// Unwatch is called when namespace has no subscription left.
	Unwatch(namespace string)
}

// Registry maps resource URIs to their subscribers and counts subscriptions per namespace, so
// that the poller refreshes exactly the namespaces someone watches. Create it with NewRegistry.
type Registry struct {
	watcher Watcher

	mu    sync.Mutex
	subs  map[string]*subscription         // subscriber ID → its subscriptions
	byURI map[string]map[string]Subscriber // URI → subscriber ID → subscriber
	byNS  map[string]int                   // namespace → number of (subscriber, URI) pairs
}

type subscription struct {
	sub  Subscriber
	uris map[string]string // URI → namespace
}

// NewRegistry returns an empty registry reporting namespace activity to w (nil: nobody).
func NewRegistry(w Watcher) *Registry {
	return &Registry{
		watcher: w,
		subs:    map[string]*subscription{},
		byURI:   map[string]map[string]Subscriber{},
		byNS:    map[string]int{},
	}
}

// Subscribe records that sub wants updates of uri, an endpoint status URI. Subscribing twice
// is a no-op. It fails only when uri is not an endpoint status URI.
func (r *Registry) Subscribe(sub Subscriber, uri string) error {
	ns, _, err := ParseURI(uri)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.subs[sub.ID()]
	if s == nil {
		s = &subscription{sub: sub, uris: map[string]string{}}
		r.subs[sub.ID()] = s
	}
	if _, dup := s.uris[uri]; !dup {
		s.uris[uri] = ns
		if r.byURI[uri] == nil {
			r.byURI[uri] = map[string]Subscriber{}
		}
		r.byURI[uri][sub.ID()] = sub
		r.byNS[ns]++
	}
	// Watch under the lock so that a concurrent last Unsubscribe cannot overtake it.
	if r.watcher != nil {
		r.watcher.Watch(ns)
	}
	return nil
}

// Unsubscribe removes one subscription; unknown ones are ignored.
func (r *Registry) Unsubscribe(subscriberID, uri string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.subs[subscriberID]; s != nil {
		r.removeLocked(s, uri)
	}
}

// Drop removes every subscription of a subscriber (its session ended or its stream closed).
func (r *Registry) Drop(subscriberID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.subs[subscriberID]; s != nil {
		for uri := range s.uris {
			r.removeLocked(s, uri)
		}
	}
}

func (r *Registry) removeLocked(s *subscription, uri string) {
	ns, ok := s.uris[uri]
	if !ok {
		return
	}
	id := s.sub.ID()
	delete(s.uris, uri)
	if len(s.uris) == 0 {
		delete(r.subs, id)
	}
	delete(r.byURI[uri], id)
	if len(r.byURI[uri]) == 0 {
		delete(r.byURI, uri)
	}
	r.byNS[ns]--
	if r.byNS[ns] == 0 {
		delete(r.byNS, ns)
		if r.watcher != nil {
			r.watcher.Unwatch(ns)
		}
	}
}

// Subscribers returns the subscribers of uri.
func (r *Registry) Subscribers(uri string) []Subscriber {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Subscriber, 0, len(r.byURI[uri]))
	for _, s := range r.byURI[uri] {
		out = append(out, s)
	}
	return out
}

// Has reports whether subscriber subscribes to uri.
func (r *Registry) Has(subscriberID, uri string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.subs[subscriberID]
	if s == nil {
		return false
	}
	_, ok := s.uris[uri]
	return ok
}

// CountOf returns the number of subscriptions of subscriber.
func (r *Registry) CountOf(subscriberID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.subs[subscriberID]; s != nil {
		return len(s.uris)
	}
	return 0
}

// Subscribed reports whether anyone subscribes to uri.
func (r *Registry) Subscribed(uri string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byURI[uri]) > 0
}

// Count returns the number of subscriptions in namespace.
func (r *Registry) Count(namespace string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byNS[namespace]
}

// Namespaces returns the watched namespaces, sorted.
func (r *Registry) Namespaces() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.byNS))
	for ns := range r.byNS {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}

// Len returns the total number of subscriptions.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.byNS {
		n += c
	}
	return n
}
