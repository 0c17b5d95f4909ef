package scrub_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/scrub"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/scrub/scrubtest"
)

const (
	hfToken   = "hf_TOPSECRETzq9XkV7mP2wL4nR8aB"
	authToken = "s3cret/auth+token=with\"odd\\chars"
)

func TestEveryEncodingIsScrubbed(t *testing.T) {
	s := scrub.New(hfToken, authToken)
	for _, secret := range []string{hfToken, authToken} {
		for name, enc := range scrubtest.Encodings(secret) {
			t.Run(name+" of "+secret[:3], func(t *testing.T) {
				in := `{"error":"upstream said: ` + enc + ` (request 42)"}`
				out := s.String(in)
				assert.Empty(t, scrubtest.Leaks(out, secret), "in %q", out)
				assert.Contains(t, out, scrub.Redacted)
				assert.True(t, strings.HasPrefix(out, `{"error":"upstream said: `), "the text around is kept: %q", out)
				assert.True(t, strings.HasSuffix(out, ` (request 42)"}`), "the text around is kept: %q", out)
			})
		}
	}
}

func TestJSONStringsAreScrubbedAfterDecoding(t *testing.T) {
	s := scrub.New(hfToken, authToken)
	for _, secret := range []string{hfToken, authToken} {
		for name, enc := range scrubtest.Encodings(secret) {
			if !strings.HasPrefix(name, "json") && name != "plain" {
				continue
			}
			if strings.ContainsAny(secret, `"\`) && !strings.HasSuffix(name, "all") && !strings.HasSuffix(name, "hex") {
				quoted, err := json.Marshal(secret) // \" and \\ escapes
				require.NoError(t, err)
				enc = string(quoted[1 : len(quoted)-1])
			}
			raw := `{"message":"` + enc + `"}`
			var before map[string]string
			require.NoError(t, json.Unmarshal([]byte(raw), &before), name)
			require.Equal(t, secret, before["message"], "the test's encoding %s decodes to the secret", name)
			var after map[string]string
			require.NoError(t, json.Unmarshal(s.Bytes([]byte(raw)), &after), "%s: still JSON", name)
			assert.Equal(t, scrub.Redacted, after["message"], name)
		}
	}
}

func TestUnregisteredHFTokensAreScrubbedInEscapedForms(t *testing.T) {
	s := scrub.New()
	other := "hf_abcdefghijklmnopqrstuvwxyz0123"
	for _, name := range []string{"plain", "json escapes, all", "json escapes, mixed", "percent, all", "percent, mixed", "json escape, first only"} {
		out := s.String("x " + scrubtest.Encodings(other)[name] + " y")
		assert.Equal(t, "x "+scrub.Redacted+" y", out, name)
	}
}

func TestCallerTokensAreScrubbedInEveryForm(t *testing.T) {
	s := scrub.New()
	caller := "hf_CALLERcallerCALLERcaller1234"
	s.AddRecent(caller)
	for name, enc := range scrubtest.Encodings(caller) {
		assert.Empty(t, scrubtest.Leaks(s.String("a "+enc+" b"), caller), name)
	}
}

func TestOrdinaryTextIsUntouched(t *testing.T) {
	s := scrub.New(hfToken, authToken)
	for _, in := range []string{
		`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"100% done, caf\u00e9"}]}}`,
		"max_new_tokens=20&temperature=0.5%20",
		base64.StdEncoding.EncodeToString([]byte("an image, not a secret, long enough to matter")),
		"hf_short",
	} {
		assert.Equal(t, in, s.String(in))
	}
	raw := []byte("unchanged")
	assert.Same(t, &raw[0], &s.Bytes(raw)[0], "bytes without secrets are returned as they are")
}

func TestConcurrentUse(t *testing.T) {
	s := scrub.New(hfToken)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				s.AddRecent(fmt.Sprintf("caller-secret-%d-%d", i, j))
				assert.Equal(t, scrub.Redacted, s.String(hfToken))
			}
		})
	}
	wg.Wait()
}

func TestNilScrubberPassesThrough(t *testing.T) {
	var s *scrub.Scrubber
	assert.Equal(t, "x", s.String("x"))
}
