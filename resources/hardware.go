package resources

import (
	"context"
	"sync"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// DefaultHardwareTTL is how long a namespace's hardware catalog is reused: prices and offers
// change rarely, and every status document would otherwise cost a catalog call.
const DefaultHardwareTTL = time.Hour

// hardwareRetry is how long a failed catalog fetch is remembered before it is tried again.
const hardwareRetry = 30 * time.Second

// HardwareLister is the API call behind the hardware catalog.
type HardwareLister interface {
	ListHardware(ctx context.Context, namespace string) ([]hfapi.Vendor, error)
}

// HardwareCache keeps each namespace's hardware catalog for a TTL. Concurrent callers of the
// same namespace share one fetch.
type HardwareCache struct {
	api HardwareLister
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*hardwareEntry
}

type hardwareEntry struct {
	done    chan struct{} // closed when the fetch finished
	vendors []hfapi.Vendor
	err     error
	expires time.Time
}

// NewHardwareCache returns a cache over api keeping catalogs for ttl (≤0: DefaultHardwareTTL).
func NewHardwareCache(api HardwareLister, ttl time.Duration) *HardwareCache {
	if ttl <= 0 {
		ttl = DefaultHardwareTTL
	}
	return &HardwareCache{api: api, ttl: ttl, now: time.Now, entries: map[string]*hardwareEntry{}}
}

// Vendors returns the hardware catalog of namespace, fetching it when absent or stale.
func (c *HardwareCache) Vendors(ctx context.Context, namespace string) ([]hfapi.Vendor, error) {
	c.mu.Lock()
	e := c.entries[namespace]
	if e == nil || c.expired(e) {
		e = &hardwareEntry{done: make(chan struct{})}
		c.entries[namespace] = e
		c.mu.Unlock()
		c.fetch(ctx, namespace, e)
		return e.vendors, e.err
	}
	c.mu.Unlock()
	select {
	case <-e.done:
		return e.vendors, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *HardwareCache) expired(e *hardwareEntry) bool {
	select {
	case <-e.done:
		return c.now().After(e.expires)
	default:
		return false // still fetching: share it
	}
}

// fetch runs in the first caller's context; the others wait for it. A failure (including that
// caller's cancellation) is kept only briefly.
func (c *HardwareCache) fetch(ctx context.Context, namespace string, e *hardwareEntry) {
	vendors, err := c.api.ListHardware(ctx, namespace)
	ttl := c.ttl
	switch {
	case ctx.Err() != nil:
		ttl = 0
	case err != nil:
		ttl = min(hardwareRetry, ttl)
	}
	e.vendors, e.err, e.expires = vendors, err, c.now().Add(ttl)
	close(e.done)
}
