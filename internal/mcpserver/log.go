package mcpserver

import (
	"log"
	"log/slog"
)

// slogErrorLog adapts the logger for net/http's ErrorLog.
func slogErrorLog(l *slog.Logger) *log.Logger {
	return slog.NewLogLogger(l.Handler(), slog.LevelWarn)
}
