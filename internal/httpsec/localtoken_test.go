package httpsec

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLocalTokenIsCreatedPrivateAndReused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "hf-endpoints-mcp")
	tok, created, err := LoadOrCreateLocalToken(dir)
	require.NoError(t, err)
	assert.True(t, created)
	assert.Regexp(t, `^[0-9a-f]{64}$`, tok)
	info, err := os.Stat(filepath.Join(dir, LocalTokenFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	dirInfo, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), dirInfo.Mode().Perm())

	again, created, err := LoadOrCreateLocalToken(dir)
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, tok, again, "a restart reuses the token")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left behind")
}

func TestLocalTokenServersStartingAtOnceAgree(t *testing.T) {
	dir := t.TempDir()
	toks := make([]string, 8)
	var wg sync.WaitGroup
	for i := range toks {
		wg.Go(func() {
			tok, _, err := LoadOrCreateLocalToken(dir)
			assert.NoError(t, err)
			toks[i] = tok
		})
	}
	wg.Wait()
	for _, tok := range toks {
		assert.Equal(t, toks[0], tok)
	}
}

func TestLocalTokenFilesNotPrivateAreRefused(t *testing.T) {
	good := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, path string)
		want  string
	}{
		{"readable by others", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, []byte(good), 0o644))
			require.NoError(t, os.Chmod(path, 0o644))
		}, "open to other users (mode 0644)"},
		{"a symbolic link", func(t *testing.T, path string) {
			target := filepath.Join(t.TempDir(), "elsewhere")
			require.NoError(t, os.WriteFile(target, []byte(good), 0o600))
			require.NoError(t, os.Symlink(target, path))
		}, "is a symbolic link"},
		{"a directory", func(t *testing.T, path string) { require.NoError(t, os.Mkdir(path, 0o700)) }, "not a regular file"},
		{"empty", func(t *testing.T, path string) { require.NoError(t, os.WriteFile(path, nil, 0o600)) }, "does not hold a generated token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, filepath.Join(dir, LocalTokenFile))
			_, _, err := LoadOrCreateLocalToken(dir)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "delete it")
		})
	}
}
