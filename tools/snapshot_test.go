package tools

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the tool schema snapshots in testdata/")

// TestToolSchemasMatchSnapshots pins every tool's wire description (schemas,
// annotations, description): a change is a reviewed diff. Run with -update to
// rewrite the snapshots after an intended change.
//
// With -update the snapshots come from reflection, not from
// schemas_embedded.go, which the same run rewrites
// (TestEmbeddedSchemasAreReflections): one `go test ./tools -update` after a
// type changed brings both up to date.
func TestToolSchemasMatchSnapshots(t *testing.T) {
	if *update {
		saved := embeddedSchemas
		embeddedSchemas = nil
		clearSchemaCache()
		t.Cleanup(func() { embeddedSchemas = saved; clearSchemaCache() })
	}
	for _, tool := range All() {
		t.Run(tool.Name, func(t *testing.T) {
			mt, err := tool.MCPTool()
			require.NoError(t, err)
			got, err := json.MarshalIndent(mt, "", "  ")
			require.NoError(t, err)
			got = append(got, '\n')
			path := filepath.Join("testdata", tool.Name+".snap.json")
			if *update {
				require.NoError(t, os.WriteFile(path, got, 0o644))
				return
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "no snapshot for %s: run go test ./tools -run Snapshots -update", tool.Name)
			assert.JSONEq(t, string(want), string(got), "schema of %s changed: review, then run with -update", tool.Name)
		})
	}
}

func TestNoStaleSnapshots(t *testing.T) {
	names := map[string]bool{}
	for _, tool := range All() {
		names[tool.Name+".snap.json"] = true
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.snap.json"))
	require.NoError(t, err)
	for _, f := range files {
		assert.True(t, names[filepath.Base(f)], "%s has no tool; delete it", f)
	}
}

// TestToolsListFitsTheBudget keeps the full tools/list answer small enough
// for clients to load without crowding the model's context.
func TestToolsListFitsTheBudget(t *testing.T) {
	const budget = 28_000 // 28 kB
	var list mcp.ListToolsResult
	for _, tool := range All() {
		mt, err := tool.MCPTool()
		require.NoError(t, err)
		list.Tools = append(list.Tools, mt)
	}
	b, err := json.Marshal(list)
	require.NoError(t, err)
	t.Logf("tools/list result: %d tools, %d bytes", len(list.Tools), len(b))
	assert.LessOrEqual(t, len(b), budget)
}
