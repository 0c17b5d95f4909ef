package progress

import (
	"context"
	"sync"
	"time"
)

// Delivery counts the progress notifications of one request that were queued
// for its response stream and those written to it, so the request can hold its
// result until every notification before it went out.
//
// A streamable HTTP transport forwards notifications to the response from
// another goroutine, and may drop one it picked up just as the result was
// being written: without waiting, the last progress of a call (a wait's
// "running", say) could be lost. Attach a Delivery to the request context with
// WithDelivery, call Written for each notification written to the response,
// and Flush before the result is returned. A nil *Delivery does nothing.
type Delivery struct {
	mu      sync.Mutex
	queued  int
	written int
	change  chan struct{} // closed and replaced when written changes
}

// NewDelivery returns an empty Delivery.
func NewDelivery() *Delivery { return &Delivery{change: make(chan struct{})} }

type deliveryKey struct{}

// WithDelivery returns ctx carrying d; reporters made from requests under it
// count their notifications there.
func WithDelivery(ctx context.Context, d *Delivery) context.Context {
	return context.WithValue(ctx, deliveryKey{}, d)
}

// DeliveryFrom returns the Delivery ctx carries, or nil.
func DeliveryFrom(ctx context.Context) *Delivery {
	d, _ := ctx.Value(deliveryKey{}).(*Delivery)
	return d
}

// Queued records one notification handed to the transport.
func (d *Delivery) Queued() {
	if d == nil {
		return
	}
	d.mu.Lock()
	d.queued++
	d.mu.Unlock()
}

// Written records one notification written to the response.
func (d *Delivery) Written() {
	if d == nil {
		return
	}
	d.mu.Lock()
	d.written++
	close(d.change)
	d.change = make(chan struct{})
	d.mu.Unlock()
}

// Flush waits until every queued notification was written, for at most limit
// and no longer than ctx lasts. It reports whether all were written.
func (d *Delivery) Flush(ctx context.Context, limit time.Duration) bool {
	if d == nil {
		return true
	}
	var timer *time.Timer // started only when there is something to wait for: most calls queue nothing
	for {
		d.mu.Lock()
		done, change := d.written >= d.queued, d.change
		d.mu.Unlock()
		if done {
			return true
		}
		if timer == nil {
			timer = time.NewTimer(limit)
			defer timer.Stop()
		}
		select {
		case <-change:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}
