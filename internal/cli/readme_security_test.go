package cli

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/tools"
)

// TestREADMESaysWhatTokenConfirmationProtects: the security model tells a
// reader that without forms the confirmation_token reaches the model, so that
// the person is protected only by the client's own approval of the tool call,
// and recommends --confirm-with elicitation (a mode the server accepts) where
// the client can show forms.
func TestREADMESaysWhatTokenConfirmationProtects(t *testing.T) {
	raw, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	_, section, found := strings.Cut(string(raw), "\n## Security model\n")
	require.True(t, found, "README.md has a Security model section")
	section, _, _ = strings.Cut(section, "\n## ")
	flat := strings.Join(strings.Fields(section), " ")
	for _, says := range []string{
		"`confirmation_token` go to the model",
		"it does not prove that a person saw it",
		"protected only by the client's own approval of the second, destructive tool call",
		"use `--confirm-with elicitation`",
		"its answer never passes through the model",
		"only when it comes back accepted with exactly `approve: true`",
	} {
		assert.Contains(t, flat, says)
	}
	mode, err := tools.ParseConfirmMode("elicitation")
	require.NoError(t, err)
	assert.Equal(t, tools.ConfirmElicitation, mode, "the recommended mode exists")
}
