package srcdeps

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestModuleRootIsAboveThisPackage(t *testing.T) {
	root, err := moduleRoot()
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(root, wd)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join("internal", "srcdeps"), rel)
}

func TestReadReadsTheModule(t *testing.T) { Read(t) }

func TestModuleRootFailsOutsideAModule(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := moduleRoot()
	assert.ErrorIs(t, err, os.ErrNotExist)
}
