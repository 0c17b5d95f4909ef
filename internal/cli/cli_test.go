package cli

import (
	"bytes"
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVersionPrintsVersionAndGoVersion(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, Run(context.Background(), []string{"version"}, &out, &bytes.Buffer{}))
	assert.Contains(t, out.String(), "hf-endpoints-mcp "+Version)
	assert.Contains(t, out.String(), runtime.Version())
}

func TestUnknownCommandNamesTheValidOnes(t *testing.T) {
	err := Run(context.Background(), []string{"deploy"}, &bytes.Buffer{}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"deploy"`)
	assert.Contains(t, err.Error(), "serve, emulator, version")
}
