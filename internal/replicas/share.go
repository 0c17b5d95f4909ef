package replicas

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Share is this replica's part in polling one namespace for one scope (one
// caller identity, or the server's own token). One replica at a time holds the
// namespace's lease: it polls and publishes what it lists; the others listen.
// A lease lasts the Store's LeaseTTL and is renewed three times per TTL, so a
// replica that dies loses it within a TTL. While Redis cannot be reached,
// every replica polls on its own. Create it with Store.Share.
type Share struct {
	s       *Store
	lease   string // key holding the holder's replica ID
	fast    string // key set while some replica wants fast polling
	channel string
	onList  func([]byte)
	onLead  func()

	leading    atomic.Bool
	wantFast   atomic.Bool
	othersFast atomic.Bool
	ready      chan struct{} // closed after the first lease attempt
	readyOnce  sync.Once
	failing    bool // Redis could not be reached at the last attempt; run's goroutine only

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// leaseScript takes or renews the lease and reports whether some replica wants
// fast polling. KEYS: lease, fast. ARGV: replica ID, TTL in ms, "1" if this
// replica wants fast polling. Returns {holds the lease, fast wanted}.
var leaseScript = redis.NewScript(`
if ARGV[3] == '1' then redis.call('SET', KEYS[2], '1', 'PX', ARGV[2]) end
local lead = 0
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]); lead = 1
elseif not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]); lead = 1 end
return {lead, redis.call('EXISTS', KEYS[2])}`)

// releaseScript deletes KEYS[1] if it still holds ARGV[1]: a lease this replica holds (ARGV: its
// ID), or an endpoint lock this holder took (locks.go).
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// Share joins the polling of namespace for scope. onList receives each list
// another replica publishes; onLead is called when this replica takes the
// lease (to poll at once). Neither may block for long. Close the Share when
// the namespace is no longer watched.
func (s *Store) Share(scope, namespace string, onList func(payload []byte), onLead func()) *Share {
	h := hashed(scope, namespace)
	ctx, cancel := context.WithCancel(s.ctx)
	sh := &Share{s: s, lease: prefix + "lease:{" + h + "}", fast: prefix + "fast:{" + h + "}",
		channel: prefix + "list:" + h, onList: onList, onLead: onLead,
		ready: make(chan struct{}), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	s.subscribe(sh)
	s.wg.Add(1)
	go sh.run(namespace)
	return sh
}

// LeaseKey is the Redis key of the lease of namespace for scope; its value is the holder's ID.
func LeaseKey(scope, namespace string) string {
	return prefix + "lease:{" + hashed(scope, namespace) + "}"
}

// Leading reports whether this replica should poll: it holds the lease, or
// Redis cannot be reached. The first call waits for the first lease attempt.
func (sh *Share) Leading(ctx context.Context) bool {
	select {
	case <-sh.ready:
	case <-ctx.Done():
	}
	return sh.leading.Load()
}

// WantFast records whether this replica's subscribers want fast polling.
func (sh *Share) WantFast(fast bool) { sh.wantFast.Store(fast) }

// FastWanted reports whether some replica wanted fast polling within the last lease TTL.
func (sh *Share) FastWanted() bool { return sh.othersFast.Load() }

// Publish sends the list this replica polled to the others. A failure only
// means they hear of changes later, so it is logged at debug level.
func (sh *Share) Publish(payload []byte) {
	ctx, cancel := context.WithTimeout(sh.ctx, opTimeout)
	defer cancel()
	msg := sh.s.id + "\n" + string(payload)
	if err := sh.s.rdb.Publish(ctx, sh.channel, msg).Err(); err != nil && sh.ctx.Err() == nil {
		sh.s.log.Debug("publishing a polled list to the other replicas failed", "err", err)
	}
}

// Close stops taking part and gives the lease up, so another replica takes it at once.
func (sh *Share) Close() {
	sh.cancel()
	<-sh.done
	sh.s.unsubscribe(sh)
}

func (sh *Share) run(namespace string) {
	defer sh.s.wg.Done()
	defer close(sh.done)
	every := sh.s.ttl / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		sh.attempt(namespace)
		select {
		case <-sh.ctx.Done():
			sh.release()
			return
		case <-t.C:
		}
	}
}

// attempt takes or renews the lease once.
func (sh *Share) attempt(namespace string) {
	defer sh.readyOnce.Do(func() { close(sh.ready) })
	ctx, cancel := context.WithTimeout(sh.ctx, opTimeout)
	defer cancel()
	want := "0"
	if sh.wantFast.Load() {
		want = "1"
	}
	res, err := leaseScript.Run(ctx, sh.s.rdb, []string{sh.lease, sh.fast}, sh.s.id, sh.s.ttl.Milliseconds(), want).Int64Slice()
	if sh.ctx.Err() != nil {
		return
	}
	if err == nil && len(res) != 2 {
		err = errors.New("unexpected answer to the lease script")
	}
	if err != nil {
		if !sh.failing {
			sh.s.log.Warn("Redis is unavailable: this replica polls on its own until it is back",
				"namespace", namespace, "redis", sh.s.addr, "err", err)
			sh.failing = true
		}
		sh.othersFast.Store(false)
		sh.setLeading(true, namespace)
		return
	}
	if sh.failing {
		sh.s.log.Info("Redis is back: the replicas share the polling again", "namespace", namespace)
		sh.failing = false
	}
	sh.othersFast.Store(res[1] == 1)
	sh.setLeading(res[0] == 1, namespace)
}

func (sh *Share) setLeading(lead bool, namespace string) {
	if was := sh.leading.Swap(lead); lead && !was {
		if !sh.failing {
			sh.s.log.Info("this replica polls for the others", "namespace", namespace, "replica", sh.s.id)
		}
		if sh.onLead != nil {
			sh.onLead()
		}
	}
}

func (sh *Share) release() {
	if !sh.leading.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(sh.ctx), opTimeout)
	defer cancel()
	_ = releaseScript.Run(ctx, sh.s.rdb, []string{sh.lease}, sh.s.id).Err() // it expires anyway
}

// subscribe adds sh to the listeners of its channel, starting this replica's
// one pub/sub connection on first use (go-redis re-subscribes after outages).
func (s *Store) subscribe(sh *Share) {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	if s.subs[sh.channel] == nil {
		s.subs[sh.channel] = map[*Share]struct{}{}
		if s.pubsub == nil {
			s.pubsub = s.rdb.Subscribe(s.ctx, sh.channel)
			s.wg.Add(1)
			go s.dispatch(s.pubsub)
		} else {
			ctx, cancel := context.WithTimeout(s.ctx, opTimeout)
			// On failure the channel stays recorded and is subscribed on reconnection.
			_ = s.pubsub.Subscribe(ctx, sh.channel)
			cancel()
		}
	}
	s.subs[sh.channel][sh] = struct{}{}
}

func (s *Store) unsubscribe(sh *Share) {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	delete(s.subs[sh.channel], sh)
	if len(s.subs[sh.channel]) == 0 {
		delete(s.subs, sh.channel)
		if s.pubsub != nil {
			ctx, cancel := context.WithTimeout(s.ctx, opTimeout)
			_ = s.pubsub.Unsubscribe(ctx, sh.channel)
			cancel()
		}
	}
}

// dispatch hands each message from another replica to the shares of its channel.
func (s *Store) dispatch(ps *redis.PubSub) {
	defer s.wg.Done()
	ch := ps.Channel()
	for {
		select {
		case <-s.ctx.Done():
			return
		case msg, ok := <-ch:
			if !ok {
				return
			}
			from, payload, found := strings.Cut(msg.Payload, "\n")
			if !found || from == s.id {
				continue
			}
			s.subsMu.Lock()
			var targets []*Share
			for sh := range s.subs[msg.Channel] {
				targets = append(targets, sh)
			}
			s.subsMu.Unlock()
			for _, sh := range targets {
				sh.onList([]byte(payload))
			}
		}
	}
}
