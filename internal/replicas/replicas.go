// Package replicas lets the replicas of one server share state through Redis:
// the single-use ledger of confirmations, one poller per watched namespace, and
// the locks that serialise changes of one endpoint across replicas.
package replicas

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultLeaseTTL is how long a replica's poll lease lasts unless renewed: a
// replica that dies loses its namespaces within about this long.
const DefaultLeaseTTL = 3 * time.Second

// prefix starts every key and channel this package uses.
const prefix = "hf-endpoints-mcp:"

// opTimeout bounds one Redis round trip, so a stalled Redis refuses a
// confirmation quickly rather than hanging the tool call.
const opTimeout = 2 * time.Second

// Options configure a Store.
type Options struct {
	// LeaseTTL is how long a poll lease lasts unless renewed (default DefaultLeaseTTL);
	// it is renewed three times per TTL.
	LeaseTTL time.Duration
	// LockTTL is how long an endpoint lock lasts unless renewed (default DefaultLockTTL); it is
	// renewed three times per TTL while held.
	LockTTL time.Duration
	// Logger receives Redis outages and recoveries (default: discard).
	Logger *slog.Logger
}

// Store is this replica's connection to the Redis shared by all replicas.
// Create it with Open; Close it when done.
type Store struct {
	rdb     *redis.Client
	id      string // names this replica in leases and messages
	ttl     time.Duration
	lockTTL time.Duration
	log     *slog.Logger
	addr    string // host:port, for logs (never the password)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	subsMu sync.Mutex
	pubsub *redis.PubSub
	subs   map[string]map[*Share]struct{} // channel → shares listening on it
}

// Open parses url (redis://[user:password@]host:port/db, or rediss:// for TLS)
// and returns a Store using it. It does no I/O: a Redis that is down at start
// is an outage like any other.
func Open(url string, opts Options) (*Store, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("the Redis URL is not valid (want redis://[:password@]host:port/db or rediss://…): %w", redactURLError(err, url))
	}
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout = opTimeout, opTimeout, opTimeout
	o.MaxRetries = 1
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.LockTTL <= 0 {
		opts.LockTTL = DefaultLockTTL
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	id := make([]byte, 9)
	_, _ = rand.Read(id) // crypto/rand never fails on supported platforms
	return &Store{rdb: redis.NewClient(o), id: base64.RawURLEncoding.EncodeToString(id), ttl: opts.LeaseTTL, lockTTL: opts.LockTTL,
		log: log, addr: o.Addr, ctx: ctx, cancel: cancel, subs: map[string]map[*Share]struct{}{}}, nil
}

// redactURLError keeps a URL, and so its password, out of a parse error.
func redactURLError(err error, url string) error {
	return errors.New(strings.ReplaceAll(err.Error(), url, "(the URL)"))
}

// ID names this replica.
func (s *Store) ID() string { return s.id }

// Addr is the Redis server's host:port.
func (s *Store) Addr() string { return s.addr }

// LeaseTTL is how long a poll lease lasts unless renewed.
func (s *Store) LeaseTTL() time.Duration { return s.ttl }

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis at %s: %w", s.addr, err)
	}
	return nil
}

// Close releases this replica's leases, stops listening and closes the connection.
func (s *Store) Close() error {
	s.cancel()
	s.wg.Wait()
	s.subsMu.Lock()
	if s.pubsub != nil {
		_ = s.pubsub.Close()
		s.pubsub = nil
	}
	s.subsMu.Unlock()
	return s.rdb.Close()
}

// hashed names a key by a digest of its parts, so that caller identities and
// namespaces never appear in Redis as they are, and keys stay short.
func hashed(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
