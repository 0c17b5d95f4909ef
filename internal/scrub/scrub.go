// Package scrub keeps secrets (Hugging Face tokens, the MCP auth token) out of
// everything the server sends or writes: one Scrubber, shared by the API
// client, the MCP transports and the audit log, replaces each secret, and
// anything shaped like a Hugging Face token, whether it appears as is or in a
// common encoding: JSON \u escapes of some or all of its characters, URL
// percent-encoding, base64 (standard or URL alphabet, padded or not, at any
// alignment, so "Basic base64(user:token)" is caught too).
//
// Matching the JSON-escaped forms in raw bytes is the same as matching the
// decoded strings: a JSON string decodes to the token exactly when its text
// is the token with each character either as is or escaped. So scrubbing a
// JSON-RPC message's bytes scrubs every string in it, after decoding.
package scrub

import (
	"encoding/base64"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// Redacted replaces every secret.
const Redacted = "[REDACTED]"

// maxRecentSecrets bounds the secrets registered with AddRecent (one per caller token under HF token
// pass-through): the oldest are forgotten beyond it; hfTokenPattern still catches them.
const maxRecentSecrets = 1024

// maxNeedles is how many forms are looked for one by one before replacing; beyond it (many callers'
// tokens) the replacer, a single pass, is cheaper.
const maxNeedles = 64

// minEncodedLen is the shortest secret whose base64 forms are looked for: shorter ones would match
// unrelated text.
const minEncodedLen = 12

// hfTokenMin is how many letters and digits follow "hf_" in anything taken for a Hugging Face
// token, registered or not.
const hfTokenMin = 20

// Scrubber replaces secrets in strings and bytes. It is safe for concurrent use; the zero value is
// not usable, use New.
type Scrubber struct {
	mu        sync.RWMutex
	permanent []string // Add
	recent    []string // AddRecent, oldest first, at most maxRecent
	maxRecent int
	rules     *rules
}

// rules are the compiled form of the registered secrets, replaced whole on every change.
type rules struct {
	literal  *strings.Replacer // each secret and its base64 cores
	needles  []string          // what makes a string worth a closer look
	escaped  [][]rune          // permanent secrets, looked for with characters escaped
	starts   [256]bool         // the bytes an escaped secret or HF token can start with
	hasForms bool              // some secret is registered
}

// New returns a Scrubber for the given secrets; empty strings are ignored.
func New(secrets ...string) *Scrubber {
	s := &Scrubber{maxRecent: maxRecentSecrets}
	s.Add(secrets...)
	return s
}

// Add registers secrets kept for the Scrubber's lifetime (the server's own token, the auth token).
// On a nil Scrubber, Add and AddRecent do nothing.
func (s *Scrubber) Add(secrets ...string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, v := range secrets {
		if v != "" && !slices.Contains(s.permanent, v) {
			s.permanent = append(s.permanent, v)
			changed = true
		}
	}
	if changed || s.rules == nil {
		s.rebuildLocked()
	}
}

// AddRecent registers a secret among the most recent ones, of which the Scrubber keeps a bounded
// number (callers' tokens: there is no end to them). Their escaped forms are caught by the Hugging
// Face token pattern, their literal and base64 forms by name.
func (s *Scrubber) AddRecent(secret string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if secret == "" || slices.Contains(s.permanent, secret) {
		return
	}
	if i := slices.Index(s.recent, secret); i >= 0 {
		if i == len(s.recent)-1 {
			return // already the newest
		}
		s.recent = slices.Delete(s.recent, i, i+1) // refreshed: moves to the newest end
	}
	s.recent = append(s.recent, secret)
	if over := len(s.recent) - s.maxRecent; over > 0 {
		s.recent = slices.Delete(s.recent, 0, over)
	}
	s.rebuildLocked()
}

func (s *Scrubber) rebuildLocked() {
	var forms []string
	for _, v := range slices.Concat(s.permanent, s.recent) {
		forms = append(forms, v)
		forms = append(forms, Base64Cores(v)...)
	}
	slices.Sort(forms)
	forms = slices.Compact(forms)
	// Longest first, so a form that contains another is replaced whole.
	slices.SortStableFunc(forms, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, Redacted)
	}
	r := &rules{literal: strings.NewReplacer(pairs...), needles: forms, hasForms: len(forms) > 0}
	r.starts['\\'], r.starts['%'], r.starts['h'] = true, true, true
	for _, v := range s.permanent {
		r.escaped = append(r.escaped, []rune(v))
		r.starts[v[0]] = true
	}
	s.rules = r
}

// String returns v with every secret, in any of the forms above, replaced by Redacted.
func (s *Scrubber) String(v string) string {
	if s == nil || v == "" {
		return v
	}
	s.mu.RLock()
	r := s.rules
	s.mu.RUnlock()
	if r.hasForms && (len(r.needles) > maxNeedles || containsAny(v, r.needles)) {
		v = r.literal.Replace(v)
	}
	if strings.IndexByte(v, '\\') >= 0 || strings.IndexByte(v, '%') >= 0 || strings.Contains(v, "hf_") {
		v = r.replaceEscaped(v)
	}
	return v
}

// Bytes is String for bytes; b is returned as is when it holds no secret.
func (s *Scrubber) Bytes(b []byte) []byte {
	if s == nil || len(b) == 0 {
		return b
	}
	out := s.String(string(b))
	if len(out) == len(b) && out == string(b) {
		return b
	}
	return []byte(out)
}

func containsAny(v string, needles []string) bool {
	for _, n := range needles {
		if strings.Contains(v, n) {
			return true
		}
	}
	return false
}

// replaceEscaped replaces, in one pass, each permanent secret with any of its characters written
// as a JSON escape (\u0068, \/ \" \\) or percent-encoded (%68), and anything shaped like a Hugging
// Face token written so.
func (r *rules) replaceEscaped(v string) string {
	var b strings.Builder
	copied := 0
	for i := 0; i < len(v); i++ {
		if !r.starts[v[i]] {
			continue
		}
		end := -1
		for _, secret := range r.escaped {
			if j := matchSecret(v, i, secret); j > end {
				end = j
			}
		}
		if j := matchHFToken(v, i); j > end {
			end = j
		}
		if end < 0 {
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(v))
		}
		b.WriteString(v[copied:i])
		b.WriteString(Redacted)
		copied = end
		i = end - 1
	}
	if copied == 0 {
		return v
	}
	b.WriteString(v[copied:])
	return b.String()
}

// ContainsHFToken reports whether v holds something shaped like a Hugging Face token ("hf_" and 20
// or more letters and digits), as is or with characters JSON-escaped or percent-encoded.
func ContainsHFToken(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c == 'h' || c == '\\' || c == '%') && matchHFToken(v, i) >= 0 {
			return true
		}
	}
	return false
}

// matchSecret returns where secret, each character as is or escaped, ends when it starts at v[i];
// -1 if it does not.
func matchSecret(v string, i int, secret []rune) int {
	if len(secret) == 0 {
		return -1
	}
	for _, want := range secret {
		got, n := decodeUnit(v[i:])
		if n == 0 || got != want {
			return -1
		}
		i += n
	}
	return i
}

// matchHFToken returns where a Hugging Face token, each character as is or escaped, ends when one
// starts at v[i]; -1 if none does.
func matchHFToken(v string, i int) int {
	for _, want := range "hf_" {
		got, n := decodeUnit(v[i:])
		if n == 0 || got != want {
			return -1
		}
		i += n
	}
	count := 0
	for i < len(v) {
		got, n := decodeUnit(v[i:])
		if n == 0 || !('a' <= got && got <= 'z' || 'A' <= got && got <= 'Z' || '0' <= got && got <= '9') {
			break
		}
		i += n
		count++
	}
	if count < hfTokenMin {
		return -1
	}
	return i
}

// decodeUnit reads one character from the start of s: a JSON escape (\uXXXX, a surrogate pair,
// or \/ \" \\), a percent-encoded ASCII byte, or a character as is. n is 0 at the end of s.
func decodeUnit(s string) (r rune, n int) {
	if s == "" {
		return 0, 0
	}
	switch s[0] {
	case '\\':
		if len(s) >= 2 && (s[1] == '/' || s[1] == '"' || s[1] == '\\') {
			return rune(s[1]), 2
		}
		if u, ok := hex4(s); ok {
			if utf16.IsSurrogate(u) {
				if lo, ok := hex4(s[6:]); ok {
					if c := utf16.DecodeRune(u, lo); c != utf8.RuneError {
						return c, 12
					}
				}
			}
			return u, 6
		}
	case '%':
		if len(s) >= 3 {
			if hi, lo := unhex(s[1]), unhex(s[2]); hi >= 0 && lo >= 0 && hi < 8 {
				return rune(hi<<4 | lo), 3
			}
		}
	}
	return utf8.DecodeRuneInString(s)
}

// hex4 reads \uXXXX at the start of s.
func hex4(s string) (rune, bool) {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[2:6]) {
		d := unhex(c)
		if d < 0 {
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// Base64Cores are the base64 characters that encode secret alone, at each of the three alignments
// it can have in a longer encoded text, in the standard and URL alphabets: whatever precedes and
// follows it (a "user:" prefix, "Bearer ", padding), an encoding holding it contains one of them.
func Base64Cores(secret string) []string {
	if len(secret) < minEncodedLen {
		return nil
	}
	var out []string
	for k := range 3 {
		enc := base64.RawStdEncoding.EncodeToString(append(make([]byte, k), secret...))
		first := (8*k + 5) / 6            // first character with no bit of the prefix
		last := 8 * (k + len(secret)) / 6 // characters before this one hold no bit of what follows
		core := enc[first:last]
		out = append(out, core, strings.NewReplacer("+", "-", "/", "_").Replace(core))
	}
	return out
}

// Writer scrubs every Write before passing it on; each Write is scrubbed whole, so it suits writers
// that get one record per Write (slog handlers, JSON-RPC framers).
type Writer struct {
	w io.Writer
	s *Scrubber
}

// NewWriter returns a Writer that scrubs what it writes to w with s.
func NewWriter(w io.Writer, s *Scrubber) *Writer { return &Writer{w: w, s: s} }

// Write writes p scrubbed and reports len(p) on success.
func (w *Writer) Write(p []byte) (int, error) {
	if _, err := w.w.Write(w.s.Bytes(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}
