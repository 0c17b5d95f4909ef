package confirm

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var del = Claims{Action: "delete", Namespace: "alice", Name: "my-ep", Identity: "2026-11-27T07:00:00.000Z"}

// clock is a settable time source for expiry tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestIssuer(ttl time.Duration) (*Issuer, *clock) {
	c := &clock{t: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)}
	i := NewIssuer(ttl)
	i.now = c.now
	return i, c
}

func TestRedeemAcceptsItsOwnTokenOnce(t *testing.T) {
	i, _ := newTestIssuer(0)
	tok, exp := i.Issue(del)
	assert.Equal(t, DefaultTTL, exp.Sub(i.now()))
	require.NoError(t, i.Redeem(t.Context(), tok, del))
	assert.ErrorIs(t, i.Redeem(t.Context(), tok, del), ErrUsed)
}

func TestRedeemRefuses(t *testing.T) {
	i, _ := newTestIssuer(time.Minute)
	tok, _ := i.Issue(del)
	other := NewIssuer(time.Minute)
	foreign, _ := other.Issue(del)
	enc, mac, _ := strings.Cut(tok, ".")

	cases := []struct {
		name  string
		token string
		want  Claims
		err   error
	}{
		{"empty", "", del, ErrMalformed},
		{"no separator", "abc", del, ErrMalformed},
		{"another issuer's key", foreign, del, ErrForged},
		{"tampered payload", "x" + enc[1:] + "." + mac, del, ErrForged},
		{"tampered mac", enc + "." + mac[:len(mac)-2] + "AA", del, ErrForged},
		{"other endpoint", tok, Claims{Action: "delete", Namespace: "alice", Name: "other", Identity: del.Identity}, ErrMismatch},
		{"other namespace", tok, Claims{Action: "delete", Namespace: "bob", Name: "my-ep", Identity: del.Identity}, ErrMismatch},
		{"re-created endpoint", tok, Claims{Action: "delete", Namespace: "alice", Name: "my-ep", Identity: "2026-11-27T07:30:00.000Z"}, ErrMismatch},
		{"other action", tok, Claims{Action: "create", Namespace: "alice", Name: "my-ep", Identity: del.Identity}, ErrMismatch},
		{"other caller", tok, Claims{Action: "delete", Namespace: "alice", Name: "my-ep", Identity: del.Identity, Caller: "someone"}, ErrCaller},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorIs(t, i.Redeem(t.Context(), tc.token, tc.want), tc.err)
		})
	}
	// None of the refusals consumed the token.
	require.NoError(t, i.Redeem(t.Context(), tok, del))
}

func TestRedeemRefusesExpiredToken(t *testing.T) {
	i, c := newTestIssuer(time.Minute)
	tok, _ := i.Issue(del)
	c.t = c.t.Add(time.Minute)
	assert.ErrorIs(t, i.Redeem(t.Context(), tok, del), ErrExpired)
}

func TestUsedSetForgetsExpiredTokens(t *testing.T) {
	i, c := newTestIssuer(time.Minute)
	for range 100 {
		tok, _ := i.Issue(del)
		require.NoError(t, i.Redeem(t.Context(), tok, del))
	}
	c.t = c.t.Add(2 * time.Minute)
	tok, _ := i.Issue(del)
	require.NoError(t, i.Redeem(t.Context(), tok, del))
	assert.Len(t, i.used, 1)
}

func TestConcurrentRedemptionsOfOneTokenSucceedOnce(t *testing.T) {
	i := NewIssuer(time.Minute)
	tok, _ := i.Issue(del)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if i.Redeem(t.Context(), tok, del) == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), ok.Load())
}

func TestInspectReturnsClaimsOfValidSignatureOnly(t *testing.T) {
	i := NewIssuer(time.Minute)
	tok, _ := i.Issue(del)
	got, err := i.Inspect(tok)
	require.NoError(t, err)
	assert.Equal(t, del, got)
	_, err = NewIssuer(time.Minute).Inspect(tok)
	assert.ErrorIs(t, err, ErrForged)
}

func FuzzRedeemNeverPanics(f *testing.F) {
	i := NewIssuer(time.Minute)
	tok, _ := i.Issue(del)
	f.Add(tok)
	f.Add("")
	f.Add("a.b")
	f.Add("eyJ9.")
	f.Fuzz(func(t *testing.T, token string) {
		err := i.Redeem(t.Context(), token, Claims{Action: "delete", Namespace: "x", Name: "y"})
		if err == nil {
			t.Fatalf("token %q redeemed for claims it was not issued for", token)
		}
	})
}

func TestRetireVoidsEarlierTokensOfThatEndpointOnly(t *testing.T) {
	i, c := newTestIssuer(time.Minute)
	before, _ := i.Issue(del)
	otherEP := Claims{Action: "delete", Namespace: "alice", Name: "other", Identity: del.Identity}
	unrelated, _ := i.Issue(otherEP)
	require.NoError(t, i.Retire(t.Context(), "alice", "my-ep"))
	// Same claims (a re-created endpoint with the same createdAt): only a new preview works.
	after, _ := i.Issue(del)

	assert.ErrorIs(t, i.Redeem(t.Context(), before, del), ErrRetired)
	require.NoError(t, i.Redeem(t.Context(), unrelated, otherEP), "retiring one endpoint leaves others' tokens valid")
	require.NoError(t, i.Redeem(t.Context(), after, del), "a token issued after the retirement is valid")

	// Retirements are forgotten once every token they voided has expired.
	c.t = c.t.Add(2 * time.Minute)
	fresh, _ := i.Issue(del)
	require.NoError(t, i.Redeem(t.Context(), fresh, del))
	i.mu.Lock()
	defer i.mu.Unlock()
	assert.Empty(t, i.retired)
}

func TestNewIssuerAtUsesTheGivenClock(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)}
	i := NewIssuerAt(time.Minute, c.now)
	tok, exp := i.Issue(del)
	assert.Equal(t, c.t.Add(time.Minute), exp)
	c.t = c.t.Add(time.Minute)
	assert.ErrorIs(t, i.Redeem(t.Context(), tok, del), ErrExpired)
}

func TestKeyInDirCreatesOnceAndReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	k1, err := KeyInDir(dir)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(k1), MinKeySize)
	info, err := os.Stat(filepath.Join(dir, KeyFileName))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	k2, err := KeyInDir(dir)
	require.NoError(t, err)
	assert.Equal(t, k1, k2)

	// Tokens survive a restart: a new Issuer on the same key redeems the old one's token.
	before, err := New(Options{Key: k1})
	require.NoError(t, err)
	tok, _ := before.Issue(del)
	after, err := New(Options{Key: k2})
	require.NoError(t, err)
	require.NoError(t, after.Redeem(t.Context(), tok, del))
}

func TestLoadKeyRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), mode))
		require.NoError(t, os.Chmod(p, mode))
		return p
	}
	long := strings.Repeat("k", MinKeySize)
	for _, tc := range []struct {
		name, path, want string
	}{
		{"readable by others", write("open", long, 0o644), "chmod 600"},
		{"writable by group", write("group", long, 0o660), "chmod 600"},
		{"too short", write("short", "abc\n", 0o600), "needs at least 32"},
		{"missing", filepath.Join(dir, "absent"), "no such file"},
		{"a directory", dir, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadKey(tc.path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	key, err := LoadKey(write("good", long+"\n", 0o400))
	require.NoError(t, err)
	assert.Equal(t, []byte(long), key, "surrounding white space is not part of the key")
	_, err = New(Options{Key: []byte("short")})
	assert.ErrorContains(t, err, "at least 32")
}
