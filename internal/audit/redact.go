package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Redacted replaces every secret value in an entry.
const Redacted = "[REDACTED]"

// sensitiveKeys are argument names (lower case, without '_' and '-') whose values are never recorded.
var sensitiveKeys = map[string]bool{
	"secrets": true, "secret": true, "env": true, "token": true, "confirmationtoken": true,
	"authorization": true, "password": true, "passwd": true, "apikey": true, "credentials": true,
	"privatekey": true, "cookie": true,
}

// IsSensitiveKey reports whether values under the argument name k are redacted: the names above in any
// case, with '_' or '-' or none, and any name ending in "token", "secret", "password" or "apikey"
// (hf_token, accessToken, client_secret…; "max_new_tokens" is not one).
func IsSensitiveKey(k string) bool {
	n := strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(k))
	if sensitiveKeys[n] {
		return true
	}
	for _, suffix := range []string{"token", "secret", "password", "apikey"} {
		if strings.HasSuffix(n, suffix) {
			return true
		}
	}
	return false
}

// Redact returns a deep copy of args, normalized to JSON types, in which every value under a sensitive
// key (at any depth) is replaced by Redacted. Maps under such keys keep their keys (an audit reader may
// see that env had HF_HUB_OFFLINE and API_KEY) but not their values. It fails only if args cannot be
// encoded as JSON.
func Redact(args map[string]any) (map[string]any, error) {
	if args == nil {
		return nil, nil
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("audit: arguments are not JSON-encodable: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep numbers exactly as given
	var norm map[string]any
	if err := dec.Decode(&norm); err != nil {
		return nil, fmt.Errorf("audit: re-decode arguments: %w", err)
	}
	return redactKeys(norm).(map[string]any), nil
}

// redactKeys walks v, redacting everything under sensitive keys.
func redactKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			if IsSensitiveKey(k) {
				t[k] = redactAll(child)
			} else {
				t[k] = redactKeys(child)
			}
		}
	case []any:
		for i, child := range t {
			t[i] = redactKeys(child)
		}
	}
	return v
}

// redactAll replaces every leaf of v, keeping map keys and list lengths.
func redactAll(v any) any {
	switch t := v.(type) {
	case nil:
		return nil
	case map[string]any:
		for k, child := range t {
			t[k] = redactAll(child)
		}
		return t
	case []any:
		for i, child := range t {
			t[i] = redactAll(child)
		}
		return t
	}
	return Redacted
}

// maxRecentSecrets bounds the secrets registered with AddRecent (one per caller
// token under HF token pass-through): the oldest are forgotten beyond it.
const maxRecentSecrets = 1024

// hfTokenPattern matches Hugging Face access tokens, scrubbed whether
// registered or not: a caller token forgotten by the bound above stays out of
// the log all the same.
var hfTokenPattern = regexp.MustCompile(`hf_[A-Za-z0-9]{20,}`)

// Redactor scrubs secrets out of strings: literal secrets registered with it,
// and anything shaped like a Hugging Face token. It is safe for concurrent use.
type Redactor struct {
	mu        sync.RWMutex
	permanent []string // Add
	recent    []string // AddRecent, oldest first, at most maxRecent
	maxRecent int
	repl      *strings.Replacer
}

// NewRedactor returns a Redactor for the given secrets; empty strings are ignored.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{maxRecent: maxRecentSecrets}
	r.Add(secrets...)
	return r
}

// Add registers secrets kept for the Redactor's lifetime (the server's own token).
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		if s != "" && !slices.Contains(r.permanent, s) {
			r.permanent = append(r.permanent, s)
		}
	}
	r.rebuildLocked()
}

// AddRecent registers a secret among the most recent ones, of which the
// Redactor keeps a bounded number (callers' tokens: there is no end to them).
func (r *Redactor) AddRecent(secret string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if secret == "" || slices.Contains(r.permanent, secret) {
		return
	}
	if i := slices.Index(r.recent, secret); i >= 0 {
		r.recent = slices.Delete(r.recent, i, i+1) // refreshed: moves to the newest end
	}
	r.recent = append(r.recent, secret)
	if over := len(r.recent) - r.maxRecent; over > 0 {
		r.recent = slices.Delete(r.recent, 0, over)
	}
	r.rebuildLocked()
}

func (r *Redactor) rebuildLocked() {
	all := slices.Concat(r.permanent, r.recent)
	// Longest first, so a secret that contains another is replaced whole.
	slices.SortFunc(all, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(all))
	for _, s := range all {
		pairs = append(pairs, s, Redacted)
	}
	r.repl = strings.NewReplacer(pairs...)
}

// Scrub returns s with every registered secret, and every Hugging Face token,
// replaced by Redacted.
func (r *Redactor) Scrub(s string) string {
	if r == nil || s == "" {
		return s
	}
	r.mu.RLock()
	repl := r.repl
	r.mu.RUnlock()
	if repl != nil {
		s = repl.Replace(s)
	}
	if strings.Contains(s, "hf_") {
		s = hfTokenPattern.ReplaceAllLiteralString(s, Redacted)
	}
	return s
}

// scrubMap returns m with secrets scrubbed from every string value and key, at any depth.
func (r *Redactor) scrubMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[r.Scrub(k)] = r.scrubValue(v)
	}
	return out
}

func (r *Redactor) scrubValue(v any) any {
	switch t := v.(type) {
	case string:
		return r.Scrub(t)
	case json.Number:
		return t
	case map[string]any:
		return r.scrubMap(t)
	case []any:
		out := make([]any, len(t))
		for i, child := range t {
			out[i] = r.scrubValue(child)
		}
		return out
	}
	return v
}
