package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/scrub"
)

// Redacted replaces every secret value in an entry.
const Redacted = scrub.Redacted

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

// Redactor scrubs secrets out of the strings of an entry: literal secrets registered with it, and
// anything shaped like a Hugging Face token, in any of the encodings package scrub knows. The
// audit log's Redactor is the server's scrubber (Log.Scrubber), so what the transports scrub is
// scrubbed here too.
type Redactor struct{ *scrub.Scrubber }

// NewRedactor returns a Redactor for the given secrets; empty strings are ignored.
func NewRedactor(secrets ...string) *Redactor { return &Redactor{scrub.New(secrets...)} }

// Scrub returns s with every registered secret, and every Hugging Face token, replaced by Redacted.
func (r *Redactor) Scrub(s string) string {
	if r == nil {
		return s
	}
	return r.String(s)
}

// ShareScrubber makes s the scrubber of the log's entries (the secrets registered so far are kept
// by whoever registered them with s). Call it before the log is used.
func (l *Log) ShareScrubber(s *scrub.Scrubber) {
	if l != nil && s != nil {
		l.redactor = &Redactor{s}
	}
}

// Scrubber returns the scrubber of the log's entries, to be shared with whatever else must keep the
// same secrets out (the MCP transports).
func (l *Log) Scrubber() *scrub.Scrubber {
	if l == nil {
		return nil
	}
	return l.redactor.Scrubber
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
