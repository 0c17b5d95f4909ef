package httpsec

import (
	"crypto/sha256"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// DefaultRequestRate is the default cap on one caller's requests, per second (in bursts of up to
// twice that): far above what an assistant sends, low enough that one caller cannot flood the server.
const DefaultRequestRate = 100

// maxRateCallers bounds how many callers' buckets are kept; idle ones are dropped first.
const maxRateCallers = 4096

// LimitRate returns middleware that answers 429 with Retry-After once a caller goes over rate requests
// a second (rate 0 means DefaultRequestRate; a negative rate turns the limit off). A caller is their
// bearer token (kept as a digest) or, without one, their IP address. Put it behind RequireBearer, so
// that only authenticated tokens get buckets of their own.
func LimitRate(rate float64) Middleware {
	if rate < 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	if rate == 0 {
		rate = DefaultRequestRate
	}
	b := &callerBuckets{rate: rate, now: time.Now, buckets: map[[sha256.Size]byte]*rateLimiter{}}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if wait, ok := b.take(callerOf(r)); !ok {
				w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
				writeError(w, http.StatusTooManyRequests, "too many requests: this server takes at most "+
					strconv.FormatFloat(rate, 'f', -1, 64)+" a second from one caller; retry after the Retry-After delay")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// callerOf names the caller of r: a digest of their bearer token, else of their IP address.
func callerOf(r *http.Request) [sha256.Size]byte {
	if tok, ok := BearerToken(r); ok {
		return sha256.Sum256([]byte("bearer:" + tok))
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return sha256.Sum256([]byte("ip:" + host))
}

// callerBuckets is one token bucket per caller, bounded in number.
type callerBuckets struct {
	rate float64
	now  func() time.Time

	mu      sync.Mutex
	buckets map[[sha256.Size]byte]*rateLimiter
}

func (b *callerBuckets) take(caller [sha256.Size]byte) (time.Duration, bool) {
	b.mu.Lock()
	l := b.buckets[caller]
	if l == nil {
		if len(b.buckets) >= maxRateCallers {
			b.dropIdleLocked()
		}
		l = newRateLimiter(b.rate, b.now)
		b.buckets[caller] = l
	}
	b.mu.Unlock()
	return l.take()
}

// dropIdleLocked forgets the callers whose bucket has refilled (forgetting them loses nothing),
// and every caller if that frees nothing.
func (b *callerBuckets) dropIdleLocked() {
	for k, l := range b.buckets {
		if l.full() {
			delete(b.buckets, k)
		}
	}
	if len(b.buckets) >= maxRateCallers {
		clear(b.buckets)
	}
}
