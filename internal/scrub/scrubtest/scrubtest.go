// Package scrubtest gives tests the encodings of a secret that package scrub keeps out of every
// output, and a check that none of them is present.
package scrubtest

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/scrub"
)

// JSONEscapeAll writes every character of s as \uXXXX; upper selects the hex case.
func JSONEscapeAll(s string, upper bool) string {
	var b strings.Builder
	for _, r := range s {
		f := "\\u%04x"
		if upper {
			f = "\\u%04X"
		}
		b.WriteString(fmt.Sprintf(f, r))
	}
	return b.String()
}

// percentAll percent-encodes every byte of s.
func percentAll(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		b.WriteString(fmt.Sprintf("%%%02X", c))
	}
	return b.String()
}

// Encodings are the forms a secret may take on the wire.
func Encodings(secret string) map[string]string {
	b64 := func(e *base64.Encoding, s string) string { return e.EncodeToString([]byte(s)) }
	return map[string]string{
		"plain":                   secret,
		"json escapes, all":       JSONEscapeAll(secret, false),
		"json escapes, upper hex": JSONEscapeAll(secret, true),
		"json escape, first only": JSONEscapeAll(secret[:1], false) + secret[1:],
		"json escapes, mixed":     mix(secret, func(s string) string { return JSONEscapeAll(s, false) }),
		"percent, all":            percentAll(secret),
		"percent, mixed":          mix(secret, percentAll),
		"query escape":            url.QueryEscape(secret),
		"base64 std":              b64(base64.StdEncoding, secret),
		"base64 std raw":          b64(base64.RawStdEncoding, secret),
		"base64 url":              b64(base64.URLEncoding, secret),
		"base64 url raw":          b64(base64.RawURLEncoding, secret),
		"base64 of Bearer":        b64(base64.StdEncoding, "Bearer "+secret),
		"base64 of Basic user:":   b64(base64.StdEncoding, "user:"+secret),
		"base64 url of x":         b64(base64.RawURLEncoding, "xx"+secret+"y"),
		"Bearer percent":          url.PathEscape("Bearer " + secret),
		"Bearer json":             "Bearer " + JSONEscapeAll(secret, false),
	}
}

// mix escapes every other character of s with esc.
func mix(s string, esc func(string) string) string {
	var b strings.Builder
	for i, r := range s {
		if i%2 == 0 {
			b.WriteString(esc(string(r)))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Leaks names every encoding of secret found in text.
func Leaks(text, secret string) []string {
	var found []string
	for name, enc := range Encodings(secret) {
		if strings.Contains(text, enc) {
			found = append(found, name)
		}
	}
	// A base64 core is what any encoding of it holds, whatever surrounds it.
	for _, core := range scrub.Base64Cores(secret) {
		if strings.Contains(text, core) {
			found = append(found, "base64 core "+core)
		}
	}
	return found
}
