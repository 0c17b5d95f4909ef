package resources

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Subscription caps: each subscribed namespace costs a list call per poll cycle, so a client
// must not make the server poll without bound.
const (
	// DefaultMaxSubscriptionsPerSubscriber caps one session's (or listen stream's) subscriptions.
	DefaultMaxSubscriptionsPerSubscriber = 100
	// DefaultMaxSubscriptions caps the subscriptions of the process, every caller together.
	DefaultMaxSubscriptions = 10000
)

// visibleTTL is how long a caller's visible namespaces (whoami) are reused.
const visibleTTL = 5 * time.Minute

// ErrSubscriptionRefused marks a subscription the server will not take (errors.Is).
var ErrSubscriptionRefused = errors.New("subscription refused")

// visibleNamespaces caches the namespaces a scope's token can see: its user and its orgs.
type visibleNamespaces struct {
	mu    sync.Mutex
	names []string
	at    time.Time
}

func (v *visibleNamespaces) get(ctx context.Context, api API) ([]string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.names != nil && time.Since(v.at) < visibleTTL {
		return v.names, nil
	}
	who, err := api.Whoami(ctx)
	if err != nil {
		return nil, err
	}
	names := []string{who.Name}
	for _, o := range who.Orgs {
		names = append(names, o.Name)
	}
	v.names, v.at = names, time.Now()
	return names, nil
}

// CheckSubscribe says whether the caller of ctx may subscribe subscriberID to uri: uri must
// name an endpoint status resource in a namespace the caller can see (their own or one of their
// organizations, per whoami), and the subscriber and the process must be under their caps. A
// subscription already held is always accepted again. The error wraps ErrSubscriptionRefused
// and says what would be accepted.
func (s *Service) CheckSubscribe(ctx context.Context, subscriberID, uri string) error {
	ns, _, err := ParseURI(uri)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSubscriptionRefused, err)
	}
	sc, err := s.scopeFor(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSubscriptionRefused, err)
	}
	reg := sc.poller.Registry()
	if reg.Has(subscriberID, uri) {
		return nil
	}
	visible, err := sc.visible.get(ctx, sc.api)
	if err != nil {
		return fmt.Errorf("%w: could not check which namespaces this token can see (whoami): %w", ErrSubscriptionRefused, err)
	}
	if !slices.Contains(visible, ns) {
		return fmt.Errorf("%w: namespace %q is not one this token can see; subscribe to endpoints of %s",
			ErrSubscriptionRefused, ns, quotedList(visible))
	}
	if n, most := reg.CountOf(subscriberID), s.maxPerSubscriber(); n >= most {
		return fmt.Errorf("%w: this session already holds %d subscriptions, the most one may; unsubscribe from some first",
			ErrSubscriptionRefused, n)
	}
	if n, most := s.subscriptions(), s.maxSubscriptions(); n >= most {
		return fmt.Errorf("%w: the server already holds %d subscriptions, the most it takes; retry later", ErrSubscriptionRefused, n)
	}
	return nil
}

// CheckListen says whether the caller of ctx may open a subscriptions/listen stream subscribed to
// uris (2026-07-28): every one must pass CheckSubscribe, and they must be within the cap of one
// subscriber.
func (s *Service) CheckListen(ctx context.Context, uris []string) error {
	if most := s.maxPerSubscriber(); len(uris) > most {
		return fmt.Errorf("%w: %d resource subscriptions on one stream; at most %d", ErrSubscriptionRefused, len(uris), most)
	}
	for _, uri := range uris {
		if err := s.CheckSubscribe(ctx, "", uri); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) maxPerSubscriber() int {
	if s.opts.MaxSubscriptionsPerSubscriber > 0 {
		return s.opts.MaxSubscriptionsPerSubscriber
	}
	return DefaultMaxSubscriptionsPerSubscriber
}

func (s *Service) maxSubscriptions() int {
	if s.opts.MaxSubscriptions > 0 {
		return s.opts.MaxSubscriptions
	}
	return DefaultMaxSubscriptions
}

// subscriptions counts the subscriptions of every caller.
func (s *Service) subscriptions() int {
	n := 0
	for _, sc := range s.allScopes() {
		n += sc.poller.Registry().Len()
	}
	return n
}

func quotedList(names []string) string {
	out := ""
	for i, n := range names {
		switch {
		case i == 0:
		case i == len(names)-1:
			out += " or "
		default:
			out += ", "
		}
		out += strconv.Quote(n)
	}
	return out
}
