package hfapi

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// Changes of one endpoint are serialised: create, update, pause, resume, scale to zero and delete
// of namespace/name take its lock before they read what they guard and hold it until their request
// is answered. So a guard always prices the endpoint as the change will leave it, from a read no
// other change can overtake: two updates sent at once (one raising max replicas, one moving to a
// dearer instance) cannot each pass the cost ceiling against the endpoint as it was before the
// other. The locks belong to the package, not to a Client, because a server builds a client per
// call (or per caller's token) and every one of them must wait on the same lock.
var endpointLocks = lockTable{held: map[string]*lockEntry{}}

// lockTable is a set of mutexes by key, created on demand and dropped when nobody holds or
// waits for them.
type lockTable struct {
	mu   sync.Mutex
	held map[string]*lockEntry
}

type lockEntry struct {
	sem  chan struct{} // one slot: a mutex that a waiter can give up on
	refs int           // holders and waiters
}

// lock takes key's lock, or gives up when ctx ends.
func (t *lockTable) lock(ctx context.Context, key string) (unlock func(), err error) {
	t.mu.Lock()
	e := t.held[key]
	if e == nil {
		e = &lockEntry{sem: make(chan struct{}, 1)}
		t.held[key] = e
	}
	e.refs++
	t.mu.Unlock()
	select {
	case e.sem <- struct{}{}:
		var once sync.Once
		return func() {
			once.Do(func() {
				<-e.sem
				t.release(key, e)
			})
		}, nil
	case <-ctx.Done():
		t.release(key, e)
		return nil, ctx.Err()
	}
}

func (t *lockTable) release(key string, e *lockEntry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e.refs--; e.refs == 0 {
		delete(t.held, key)
	}
}

// size is the number of keys held or waited for (tests check that none leak).
func (t *lockTable) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.held)
}

// EndpointLocker holds locks that every process sharing it sees, so that replicas serialise the
// changes of one endpoint as the processes' own locks do (Config.EndpointLocks).
type EndpointLocker interface {
	// Lock takes key's lock, waiting while another holder has it, until ctx ends. It is held
	// until unlock is called or, should its holder die, until it expires by itself. An error
	// means the lock was not taken (ctx ended, or the shared store does not answer).
	Lock(ctx context.Context, key string) (unlock func(), err error)
}

// lockEndpoint takes the lock of the endpoint ns/name at this client's API, for the change op:
// this process's lock, then the lock shared with other processes when there is one. A shared lock
// that cannot be taken refuses the change: without it, another replica's change could be priced
// against the endpoint as it was before this one.
func (c *Client) lockEndpoint(ctx context.Context, op, ns, name string) (unlock func(), err error) {
	key := c.api.String() + "\x00" + strings.ToLower(ns) + "/" + name
	local, err := endpointLocks.lock(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("%s: gave up waiting for another change of this endpoint to finish; nothing was sent: %w", op, err)
	}
	if c.cfg.EndpointLocks == nil {
		return local, nil
	}
	shared, err := c.cfg.EndpointLocks.Lock(ctx, key)
	if err != nil {
		local()
		return nil, fmt.Errorf("%s: the shared store that serialises changes of this endpoint across replicas is unavailable, "+
			"so nothing was done; once it answers, try again with the same confirmation_token if one was given (it was not spent): %w", op, err)
	}
	return func() { shared(); local() }, nil
}
