package tools

import (
	"log/slog"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
)

func TestMCPLevelOfSlogLevels(t *testing.T) {
	for l, want := range map[slog.Level]mcp.LoggingLevel{
		slog.LevelDebug - 4: mcp.LoggingLevelDebug, slog.LevelDebug: mcp.LoggingLevelDebug,
		slog.LevelInfo: mcp.LoggingLevelInfo, slog.LevelInfo + 2: mcp.LoggingLevelInfo,
		slog.LevelWarn: mcp.LoggingLevelWarning, slog.LevelError: mcp.LoggingLevelError, slog.LevelError + 4: mcp.LoggingLevelError,
	} {
		assert.Equal(t, want, mcpLevel(l), "%v", l)
	}
}
