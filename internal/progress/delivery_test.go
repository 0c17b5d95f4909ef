package progress

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestDeliveryFlushWaitsForEveryQueuedNotification(t *testing.T) {
	d := NewDelivery()
	assert.True(t, d.Flush(t.Context(), time.Hour), "nothing queued: nothing to wait for")

	d.Queued()
	d.Queued()
	flushed := make(chan bool)
	go func() { flushed <- d.Flush(t.Context(), time.Hour) }()
	d.Written()
	select {
	case <-flushed:
		t.Fatal("Flush returned with one of two notifications written")
	case <-time.After(20 * time.Millisecond):
	}
	d.Written()
	assert.True(t, <-flushed)
}

func TestDeliveryFlushGivesUp(t *testing.T) {
	d := NewDelivery()
	d.Queued()
	assert.False(t, d.Flush(t.Context(), time.Millisecond), "the limit ends the wait")

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	assert.False(t, d.Flush(ctx, time.Hour), "the request's end ends the wait")

	var none *Delivery
	none.Queued()
	none.Written()
	assert.True(t, none.Flush(ctx, time.Hour), "a nil Delivery has nothing to wait for")
	assert.Nil(t, DeliveryFrom(t.Context()))
	assert.Same(t, d, DeliveryFrom(WithDelivery(t.Context(), d)))
}
