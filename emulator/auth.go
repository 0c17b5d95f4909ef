package emulator

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// account is a user with its organisations. Immutable after New.
type account struct {
	name string
	id   string // 24 hex digits, like Hub object ids
	orgs []string
}

func (a *account) canAccess(namespace string) bool {
	return namespace == a.name || slices.Contains(a.orgs, namespace)
}

func hubID(kind, name string) string {
	sum := sha256.Sum256([]byte(kind + "/" + name))
	return hex.EncodeToString(sum[:12])
}

func (e *Emulator) initAccounts() error {
	e.users = map[string]*account{}
	e.tokens = map[string]*account{}
	all := append([]User{{Name: e.opts.User, Orgs: e.opts.Orgs, Tokens: e.opts.Tokens}}, e.opts.Users...)
	for i, u := range all {
		if u.Name == "" {
			return fmt.Errorf("emulator: Users[%d] has no Name; every user needs a name", i-1)
		}
		if _, dup := e.users[u.Name]; dup {
			return fmt.Errorf("emulator: user %q is defined twice", u.Name)
		}
		a := &account{name: u.Name, id: hubID("user", u.Name), orgs: slices.Clone(u.Orgs)}
		e.users[u.Name] = a
		for _, t := range u.Tokens {
			if t == "" {
				return fmt.Errorf("emulator: user %q has an empty token", u.Name)
			}
			if _, dup := e.tokens[t]; dup {
				// The token itself is a secret: name the users only.
				return fmt.Errorf("emulator: a token of user %q is already used by another user", u.Name)
			}
			e.tokens[t] = a
		}
	}
	return nil
}

// bearer returns the token of an "Authorization: Bearer <token>" header, or "".
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// caller resolves the request's token. ok is false when the token is missing or unknown; msg says which.
func (e *Emulator) caller(r *http.Request) (a *account, msg string, ok bool) {
	tok := bearer(r)
	if tok == "" {
		return nil, "Invalid credentials in Authorization header", false
	}
	if a, ok = e.tokens[tok]; ok {
		return a, "", true
	}
	if g := e.oauth.accessGrant(tok); g != nil {
		return g.user, "", true
	}
	return nil, "Invalid username or password.", false
}

// authorize checks the bearer token and its access to namespace, writing a 401 when either fails.
//
// A namespace the token cannot act for answers 401 (not 403): the real service answers 401 when
// listing an organisation the token has no access to, and huggingface_hub's namespace="*" listing
// relies on that.
func (e *Emulator) authorize(w http.ResponseWriter, r *http.Request, namespace string) (*account, bool) {
	a, msg, ok := e.caller(r)
	if !ok {
		apiError(w, http.StatusUnauthorized, msg)
		return nil, false
	}
	if namespace != "" && !a.canAccess(namespace) {
		apiError(w, http.StatusUnauthorized,
			fmt.Sprintf("Unauthorized: the token of %s has no access to namespace %q", a.name, namespace))
		return nil, false
	}
	return a, true
}
