package secretfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadOrCreateMakesAPrivateSecretOnceAndReusesIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	var loads int
	load := func(path string) ([]byte, error) {
		loads++
		return os.ReadFile(path)
	}
	first, created, err := LoadOrCreate(dir, "secret", "the secret", load)
	require.NoError(t, err)
	assert.True(t, created)
	assert.Regexp(t, `^[0-9a-f]{64}\n$`, string(first))
	info, err := os.Stat(filepath.Join(dir, "secret"))
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), info.Mode().Perm())

	again, created, err := LoadOrCreate(dir, "secret", "the secret", load)
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, first, again)
	assert.Equal(t, 3, loads, "missing, then read after creating, then read")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left behind")
}
