package mcpserver

import (
	"cmp"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/httpsec"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/scrub"
)

// maxTokenClients bounds the pass-through client cache; the least recently
// used client is dropped beyond it (it only costs a whoami to rebuild).
const maxTokenClients = 512

// tokenClients keeps one API client per Hugging Face token, keyed by the
// token's SHA-256 digest, so each caller's default namespace and whoami are
// cached apart from everyone else's. Bounded, least recently used first out.
type tokenClients struct {
	build  func(ctx context.Context, token string) (*hfapi.Client, error)
	verify func(ctx context.Context, token string) (*hfapi.Whoami, error) // nil: whoami on the built client
	max    int
	// subjects names callers by their Hub account rather than by their
	// token (OAuth: a refresh changes the token, not the caller).
	subjects bool
	// secrets learns each token a client is built for, to keep it out of what is sent.
	secrets *scrub.Scrubber

	mu    sync.Mutex
	byKey map[[sha256.Size]byte]*list.Element
	order *list.List // of *tokenClient, most recently used first

	// refused remembers tokens the Hub rejected for a short while, so that a
	// client retrying a bad token does not cost a whoami per request.
	refusedMu sync.Mutex
	refused   map[[sha256.Size]byte]time.Time

	// latest is, by subject, the client of that caller's most recent token,
	// for work done on their behalf outside a request (resource polling).
	latestMu sync.Mutex
	latest   map[string]*hfapi.Client
}

// refusedTTL is how long a rejected token is answered 401 without asking the
// Hub again; maxRefused bounds that memory.
const (
	refusedTTL = 30 * time.Second
	maxRefused = 1024
)

type tokenClient struct {
	key    [sha256.Size]byte
	client *hfapi.Client
}

func newTokenClients(build func(context.Context, string) (*hfapi.Client, error), max int) *tokenClients {
	return &tokenClients{build: build, max: max, byKey: map[[sha256.Size]byte]*list.Element{}, order: list.New(),
		refused: map[[sha256.Size]byte]time.Time{}, latest: map[string]*hfapi.Client{}}
}

// get returns the client for tok, building it on first use. Building does no
// I/O (hfapi.New), so it happens under the lock.
func (c *tokenClients) get(ctx context.Context, tok string) (*hfapi.Client, error) {
	key := tokenDigest(tok)
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.order.MoveToFront(el)
		return el.Value.(*tokenClient).client, nil
	}
	client, err := c.build(ctx, tok)
	if err != nil {
		return nil, fmt.Errorf("building the client for the caller's token: %w", err)
	}
	c.secrets.AddRecent(tok)
	c.byKey[key] = c.order.PushFront(&tokenClient{key: key, client: client})
	for c.order.Len() > c.max {
		oldest := c.order.Remove(c.order.Back()).(*tokenClient)
		delete(c.byKey, oldest.key)
	}
	return client, nil
}

// len is the number of cached clients.
func (c *tokenClients) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// validate asks the Hub who tok belongs to; a refusal is
// httpsec.ErrInvalidToken, so the connecting client gets 401. What whoami
// says of the token's expiry and scopes (OAuth tokens) is the grant.
func (c *tokenClients) validate(ctx context.Context, tok string) (httpsec.Grant, error) {
	key := tokenDigest(tok)
	if c.wasRefused(key) {
		return httpsec.Grant{}, fmt.Errorf("%w: rejected by the Hub moments ago", httpsec.ErrInvalidToken)
	}
	who, err := c.check(ctx, tok)
	if err = invalidToken(err); err != nil {
		if errors.Is(err, httpsec.ErrInvalidToken) {
			c.refuse(key)
		}
		return httpsec.Grant{}, err
	}
	auth := who.Auth()
	g := httpsec.Grant{Expires: auth.ExpiresAt, Scopes: auth.Scopes, Name: who.Name}
	if c.subjects {
		g.Subject = subjectOf(who)
	}
	return g, nil
}

func (c *tokenClients) check(ctx context.Context, tok string) (*hfapi.Whoami, error) {
	if c.verify != nil {
		return c.verify(ctx, tok)
	}
	get := c.get
	if c.subjects {
		// Not cached: the caller's client is built once their subject is
		// known (TokenClient binds confirmations to it).
		get = c.build
	}
	client, err := get(ctx, tok)
	if err != nil {
		return nil, err
	}
	return client.Whoami(ctx)
}

// subjectOf names the Hub account behind a token: its id, which survives
// renames, else its name.
func subjectOf(w *hfapi.Whoami) string {
	var id string
	if err := json.Unmarshal(w.Extra["id"], &id); err != nil || id == "" {
		id = w.Name
	}
	return "hf-" + cmp.Or(w.Type, "user") + ":" + id
}

// remember makes client the one acting for subject outside requests.
func (c *tokenClients) remember(subject string, client *hfapi.Client) {
	c.latestMu.Lock()
	defer c.latestMu.Unlock()
	if _, ok := c.latest[subject]; !ok && len(c.latest) >= c.max {
		for k := range c.latest { // bounded: one arbitrary caller makes room
			delete(c.latest, k)
			break
		}
	}
	c.latest[subject] = client
}

// latestFor is the client of subject's most recent token.
func (c *tokenClients) latestFor(subject string) (*hfapi.Client, error) {
	c.latestMu.Lock()
	defer c.latestMu.Unlock()
	if client, ok := c.latest[subject]; ok {
		return client, nil
	}
	return nil, errors.New("this caller has not been seen recently; their next request resumes the work done for them")
}

func (c *tokenClients) wasRefused(key [sha256.Size]byte) bool {
	c.refusedMu.Lock()
	defer c.refusedMu.Unlock()
	exp, ok := c.refused[key]
	return ok && time.Now().Before(exp)
}

func (c *tokenClients) refuse(key [sha256.Size]byte) {
	c.refusedMu.Lock()
	defer c.refusedMu.Unlock()
	if len(c.refused) >= maxRefused {
		clear(c.refused)
	}
	c.refused[key] = time.Now().Add(refusedTTL)
}
