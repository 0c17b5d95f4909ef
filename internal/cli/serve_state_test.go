package cli

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/confirm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestOpenStateRefuses(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open.key")
	require.NoError(t, os.WriteFile(open, []byte("0123456789abcdef0123456789abcdef"), 0o644))
	short := filepath.Join(dir, "short.key")
	require.NoError(t, os.WriteFile(short, []byte("tiny"), 0o600))
	for _, tc := range []struct {
		name string
		cfg  stateConfig
		want []string
	}{
		{"a key others can read", stateConfig{keyFile: open}, []string{"--signing-key-file", "chmod 600 " + open}},
		{"a short key", stateConfig{keyFile: short}, []string{"--signing-key-file", "at least 32"}},
		{"a missing key", stateConfig{keyFile: filepath.Join(dir, "absent")}, []string{"--signing-key-file", "no such file"}},
		{"a state directory that is a file", stateConfig{dir: open}, []string{"--state-dir"}},
		{"a Redis URL that is not one", stateConfig{dir: dir, redisURL: "http://:pw@host"}, []string{"--redis-url", "redis://"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := openState(tc.cfg, quiet)
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), ":pw@")
		})
	}
}

func TestOpenStateKeepsTheKeyAndLedgerInTheStateDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	first, err := openState(stateConfig{dir: dir}, quiet)
	require.NoError(t, err)
	claims := confirm.Claims{Action: "delete", Namespace: "alice", Name: "ep"}
	tok, _ := first.issuer.Issue(claims)

	info, err := os.Stat(filepath.Join(dir, confirm.KeyFileName))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	again, err := openState(stateConfig{dir: dir}, quiet) // a restart, or a second process
	require.NoError(t, err)
	other, err := openState(stateConfig{dir: dir}, quiet)
	require.NoError(t, err)
	require.NoError(t, again.issuer.Redeem(t.Context(), tok, claims), "a token survives a restart")
	assert.ErrorIs(t, other.issuer.Redeem(t.Context(), tok, claims), confirm.ErrUsed, "and redeems once on the machine")
	assert.Nil(t, again.sharePolling(), "polling is shared only through Redis")
}

// TestMain keeps every server these tests start (signing key, ledger, audit log, the emulator's
// endpoints) out of the home directory of whoever runs them.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hf-endpoints-mcp-cli-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_STATE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
