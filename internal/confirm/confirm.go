// Package confirm issues and redeems single-use confirmation tokens: an HMAC
// over what is to be done, so that only a preview step of this server (every
// process sharing its key and ledger) can authorize it.
package confirm

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// DefaultTTL is how long a token stays valid when the Issuer is given none.
const DefaultTTL = 5 * time.Minute

// Errors returned by Redeem. Each says why the token was refused; none
// repeats the token.
var (
	ErrMalformed = errors.New("the confirmation token is malformed: pass the confirmation_token value exactly as it was returned")
	ErrForged    = errors.New("the confirmation token was not issued by this server (or its signing key changed since): ask for a new preview")
	ErrExpired   = errors.New("the confirmation token has expired: ask for a new preview")
	ErrUsed      = errors.New("the confirmation token has already been used: each token confirms one action; ask for a new preview")
	ErrMismatch  = errors.New("the confirmation token was issued for a different action or endpoint: ask for a new preview of this one")
	ErrRetired   = errors.New("the endpoint this confirmation token was issued for has been deleted since: ask for a new preview")
	ErrCaller    = errors.New("the confirmation token was issued to another caller (a different Hugging Face token): ask for a new preview with your own")
	// ErrLedger: the shared ledger of redeemed tokens could not answer, so no
	// token can be known to be unused; Redeem fails closed.
	ErrLedger = errors.New("the server cannot check that the confirmation token is unused: its shared confirmation store is unavailable")
)

// Claims name the action a token authorizes. Every field must match at redemption.
type Claims struct {
	// Action is what is confirmed, e.g. "delete" or "create".
	Action string `json:"a"`
	// Namespace and Name identify the endpoint.
	Namespace string `json:"ns"`
	Name      string `json:"n"`
	// Identity pins the exact object or request, e.g. the endpoint's createdAt
	// (so a token does not survive a delete and re-create under the same name)
	// or a digest of the requested configuration.
	Identity string `json:"id"`
	// Caller identifies who asked for the preview (an opaque digest of their
	// credentials), so that only they can redeem it.
	Caller string `json:"c,omitempty"`
}

type payload struct {
	Claims
	Expiry int64  `json:"exp"` // unix milliseconds
	Nonce  string `json:"nonce"`
	// Seq orders tokens by issue, so Retire can void every token issued before it
	// even when a re-created endpoint shares the old one's Identity.
	Seq uint64 `json:"seq"`
	// Issued (unix nanoseconds) orders tokens across the processes sharing a
	// key, whose sequence numbers are not comparable; Origin names the issuing
	// Issuer, so that its own tokens are ordered by Seq.
	Issued int64  `json:"iat,omitempty"`
	Origin string `json:"o,omitempty"`
}

// Issuer issues tokens under its key and remembers which it has redeemed, in
// memory and, when it has one, in a Ledger shared with other processes. The
// zero value is not usable; call New or NewIssuer.
type Issuer struct {
	key    []byte
	ttl    time.Duration
	now    func() time.Time
	ledger Ledger
	origin string // random, names this Issuer in its tokens

	mu      sync.Mutex
	seq     uint64                // last sequence number issued
	used    map[string]int64      // nonce → expiry, kept until expiry so reuse is caught
	retired map[string]retirement // namespace/name → tokens voided by Retire
}

// retirement voids the tokens naming one endpoint that were issued up to seq.
type retirement struct {
	seq   uint64
	at    int64 // unix ns: tokens of other processes issued up to then are void too
	until int64 // unix ms after which every voided token has expired anyway
}

// Options configure an Issuer made by New.
type Options struct {
	// TTL is how long tokens stay valid (≤ 0: DefaultTTL).
	TTL time.Duration
	// Key signs tokens: at least MinKeySize bytes (see LoadKey and KeyInDir).
	// Processes that accept each other's tokens share it. Nil: a random key of
	// this process only.
	Key []byte
	// Ledger records redeemed tokens and retired endpoints for every process
	// sharing it (nil: this process only).
	Ledger Ledger
}

// New returns an Issuer configured by opts.
func New(opts Options) (*Issuer, error) {
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	key := opts.Key
	if key == nil {
		key = make([]byte, MinKeySize)
		if _, err := rand.Read(key); err != nil {
			panic("confirm: no randomness available: " + err.Error()) // crypto/rand never fails on supported platforms
		}
	} else if len(key) < MinKeySize {
		return nil, fmt.Errorf("confirm: the signing key has %d bytes; it needs at least %d", len(key), MinKeySize)
	}
	return &Issuer{key: key, ttl: opts.TTL, now: time.Now, ledger: opts.Ledger, origin: randomString(6),
		used: make(map[string]int64), retired: make(map[string]retirement)}, nil
}

// NewIssuer returns an Issuer with a fresh random key and no shared ledger.
// ttl ≤ 0 means DefaultTTL.
func NewIssuer(ttl time.Duration) *Issuer {
	i, _ := New(Options{TTL: ttl}) // a nil key cannot be refused
	return i
}

// NewIssuerAt is NewIssuer with a time source, so that tests and simulations can
// expire tokens without waiting. now must be safe for concurrent use.
func NewIssuerAt(ttl time.Duration, now func() time.Time) *Issuer {
	i := NewIssuer(ttl)
	if now != nil {
		i.now = now
	}
	return i
}

// TTL reports how long issued tokens stay valid.
func (i *Issuer) TTL() time.Duration { return i.ttl }

// Issue returns a token authorizing exactly c, valid for the issuer's TTL, and its expiry.
func (i *Issuer) Issue(c Claims) (string, time.Time) {
	expiry := i.now().Add(i.ttl)
	i.mu.Lock()
	i.seq++
	seq := i.seq
	i.mu.Unlock()
	p := payload{Claims: c, Expiry: expiry.UnixMilli(), Nonce: randomString(16), Seq: seq,
		Issued: i.now().UnixNano(), Origin: i.origin}
	body, _ := json.Marshal(p) // a struct of strings and an int cannot fail to marshal
	enc := base64.RawURLEncoding.EncodeToString(body)
	return enc + "." + i.sign(enc), expiry
}

// Redeem checks that token was issued under i's key for exactly want, has not
// expired and has not been redeemed before (here or, with a Ledger, by any
// process sharing it), and marks it used. It is safe for concurrent use: of two
// concurrent redemptions of one token, one succeeds. When the Ledger cannot
// answer, the token is refused with an error wrapping ErrLedger.
func (i *Issuer) Redeem(ctx context.Context, token string, want Claims) error {
	p, err := i.verify(token)
	if err != nil {
		return err
	}
	now := i.now().UnixMilli()
	if now >= p.Expiry {
		return ErrExpired
	}
	if p.Caller != want.Caller {
		return ErrCaller
	}
	if p.Claims != want {
		return ErrMismatch
	}
	if err := i.redeemHere(p, now, false); err != nil {
		return err
	}
	if i.ledger != nil {
		if err := i.redeemShared(ctx, p); err != nil {
			return err
		}
	}
	return i.redeemHere(p, now, true)
}

// redeemHere checks the token against this process's memory and, if mark, records it used.
func (i *Issuer) redeemHere(p payload, now int64, mark bool) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.forgetExpired(now)
	if _, seen := i.used[p.Nonce]; seen {
		return ErrUsed
	}
	if r, ok := i.retired[retireKey(p.Namespace, p.Name)]; ok && i.issuedBefore(p, r) {
		return ErrRetired
	}
	if mark {
		i.used[p.Nonce] = p.Expiry
	}
	return nil
}

// issuedBefore reports whether the token p was issued before the retirement r:
// by sequence for this Issuer's own tokens, by time for other processes'.
func (i *Issuer) issuedBefore(p payload, r retirement) bool {
	if p.Origin == i.origin {
		return p.Seq <= r.seq
	}
	return p.Issued <= r.at
}

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// redeemShared checks the token against the Ledger and spends it there.
func (i *Issuer) redeemShared(ctx context.Context, p payload) error {
	at, err := i.ledger.Retired(ctx, retireKey(p.Namespace, p.Name))
	if err != nil {
		return fmt.Errorf("%w (%v); the token stays valid until it expires: retry with it once the store is back", ErrLedger, err)
	}
	if !at.IsZero() && p.Issued <= at.UnixNano() {
		return ErrRetired
	}
	switch err := i.ledger.Spend(ctx, p.Nonce, time.UnixMilli(p.Expiry)); {
	case errors.Is(err, ErrUsed):
		return ErrUsed
	case err != nil:
		return fmt.Errorf("%w (%v); the token stays valid until it expires: retry with it once the store is back", ErrLedger, err)
	}
	return nil
}

// Retire voids every token issued so far that names the endpoint namespace/name,
// whatever its action. Call it once the endpoint is deleted: a token previewed
// before then described an endpoint that no longer exists, even if one is
// re-created under the same name within the same millisecond (same createdAt).
// This process forgets the tokens at once; the error says whether the Ledger
// recorded it for the others.
func (i *Issuer) Retire(ctx context.Context, namespace, name string) error {
	key := retireKey(namespace, name)
	now := i.now()
	until := now.Add(i.ttl)
	i.mu.Lock()
	i.retired[key] = retirement{seq: i.seq, at: now.UnixNano(), until: until.UnixMilli()}
	i.mu.Unlock()
	if i.ledger == nil {
		return nil
	}
	if err := i.ledger.Retire(ctx, key, now, until); err != nil {
		return fmt.Errorf("recording in the shared confirmation store that %s/%s was deleted: %w", namespace, name, err)
	}
	return nil
}

func retireKey(namespace, name string) string { return namespace + "\x00" + name }

// Inspect returns the claims of a token this issuer signed, without checking
// expiry or use. It lets a caller find which endpoint a token names before
// fetching it; Redeem still decides.
func (i *Issuer) Inspect(token string) (Claims, error) {
	p, err := i.verify(token)
	return p.Claims, err
}

func (i *Issuer) verify(token string) (payload, error) {
	enc, mac, ok := strings.Cut(strings.TrimSpace(token), ".")
	if !ok || enc == "" || mac == "" {
		return payload{}, ErrMalformed
	}
	if !hmac.Equal([]byte(mac), []byte(i.sign(enc))) {
		return payload{}, ErrForged
	}
	body, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return payload{}, ErrMalformed
	}
	var p payload
	if err := json.Unmarshal(body, &p); err != nil || p.Nonce == "" {
		return payload{}, fmt.Errorf("%w (undecodable payload)", ErrMalformed)
	}
	return p, nil
}

func (i *Issuer) sign(enc string) string {
	h := hmac.New(sha256.New, i.key)
	h.Write([]byte(enc))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// forgetExpired drops used nonces and retirements whose tokens can no longer
// verify anyway, so both sets stay bounded by what happens in one TTL.
func (i *Issuer) forgetExpired(now int64) {
	for n, exp := range i.used {
		if now >= exp {
			delete(i.used, n)
		}
	}
	for k, r := range i.retired {
		if now >= r.until {
			delete(i.retired, k)
		}
	}
}
