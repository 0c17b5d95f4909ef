// Package confirm issues and redeems single-use confirmation tokens: an HMAC
// over what is to be done, so that only a preview step of this process can authorize it.
package confirm

import (
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
	ErrForged    = errors.New("the confirmation token was not issued by this server (or the server restarted since): ask for a new preview")
	ErrExpired   = errors.New("the confirmation token has expired: ask for a new preview")
	ErrUsed      = errors.New("the confirmation token has already been used: each token confirms one action; ask for a new preview")
	ErrMismatch  = errors.New("the confirmation token was issued for a different action or endpoint: ask for a new preview of this one")
	ErrRetired   = errors.New("the endpoint this confirmation token was issued for has been deleted since: ask for a new preview")
	ErrCaller    = errors.New("the confirmation token was issued to another caller (a different Hugging Face token): ask for a new preview with your own")
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
}

// Issuer issues tokens under a per-process random key and remembers which it
// has redeemed. The zero value is not usable; call NewIssuer.
type Issuer struct {
	key []byte
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	seq     uint64                // last sequence number issued
	used    map[string]int64      // nonce → expiry, kept until expiry so reuse is caught
	retired map[string]retirement // namespace/name → tokens voided by Retire
}

// retirement voids the tokens naming one endpoint that were issued up to seq.
type retirement struct {
	seq   uint64
	until int64 // unix ms after which every voided token has expired anyway
}

// NewIssuer returns an Issuer with a fresh random key. ttl ≤ 0 means DefaultTTL.
func NewIssuer(ttl time.Duration) *Issuer {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic("confirm: no randomness available: " + err.Error()) // crypto/rand never fails on supported platforms
	}
	return &Issuer{key: key, ttl: ttl, now: time.Now, used: make(map[string]int64), retired: make(map[string]retirement)}
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
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	expiry := i.now().Add(i.ttl)
	i.mu.Lock()
	i.seq++
	seq := i.seq
	i.mu.Unlock()
	p := payload{Claims: c, Expiry: expiry.UnixMilli(), Nonce: base64.RawURLEncoding.EncodeToString(nonce), Seq: seq}
	body, _ := json.Marshal(p) // a struct of strings and an int cannot fail to marshal
	enc := base64.RawURLEncoding.EncodeToString(body)
	return enc + "." + i.sign(enc), expiry
}

// Redeem checks that token was issued by i for exactly want, has not expired
// and has not been redeemed before, and marks it used. It is safe for
// concurrent use: of two concurrent redemptions of one token, one succeeds.
func (i *Issuer) Redeem(token string, want Claims) error {
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
	i.mu.Lock()
	defer i.mu.Unlock()
	i.forgetExpired(now)
	if _, seen := i.used[p.Nonce]; seen {
		return ErrUsed
	}
	if r, ok := i.retired[retireKey(p.Namespace, p.Name)]; ok && p.Seq <= r.seq {
		return ErrRetired
	}
	i.used[p.Nonce] = p.Expiry
	return nil
}

// Retire voids every token issued so far that names the endpoint namespace/name,
// whatever its action. Call it once the endpoint is deleted: a token previewed
// before then described an endpoint that no longer exists, even if one is
// re-created under the same name within the same millisecond (same createdAt).
func (i *Issuer) Retire(namespace, name string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.retired[retireKey(namespace, name)] = retirement{seq: i.seq, until: i.now().Add(i.ttl).UnixMilli()}
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
