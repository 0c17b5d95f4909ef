package tools

import (
	"context"
	"log/slog"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// LoggerName names this server's MCP log messages.
const LoggerName = "hf-endpoints-mcp"

// withClientLog forwards what the API client notices during a call (a read
// being retried, a lost create answer being checked) to the MCP client as log
// messages (notifications/message). mcp-go sends them only at or above the
// level the client asked for: logging/setLevel in a 2025-11-25 session, the
// request's own log level in 2026-07-28 (and nothing when it asked for none).
func withClientLog(ctx context.Context) context.Context {
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return ctx
	}
	return hfapi.WithNotices(ctx, func(n hfapi.Notice) {
		_ = srv.SendLogMessageToClient(ctx, mcp.NewLoggingMessageNotification(mcpLevel(n.Level), LoggerName, n.Message))
	})
}

// mcpLevel maps a slog level to the nearest MCP logging level.
func mcpLevel(l slog.Level) mcp.LoggingLevel {
	switch {
	case l >= slog.LevelError:
		return mcp.LoggingLevelError
	case l >= slog.LevelWarn:
		return mcp.LoggingLevelWarning
	case l >= slog.LevelInfo:
		return mcp.LoggingLevelInfo
	}
	return mcp.LoggingLevelDebug
}
