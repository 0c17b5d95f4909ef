package hfapi

import (
	"context"
	"fmt"
	"log/slog"
)

// Notice is something a call did that whoever waits on it may want to know as it happens: a read
// being retried, a create whose answer was lost being checked. It never carries the token.
type Notice struct {
	Level   slog.Level
	Message string
}

type noticeKey struct{}

// WithNotices returns ctx whose client calls report notices to fn. fn is called on the calling
// goroutine, so it must return quickly.
func WithNotices(ctx context.Context, fn func(Notice)) context.Context {
	return context.WithValue(ctx, noticeKey{}, fn)
}

// notify reports a notice to the function ctx carries, if any.
func notify(ctx context.Context, level slog.Level, format string, args ...any) {
	if fn, ok := ctx.Value(noticeKey{}).(func(Notice)); ok && fn != nil {
		fn(Notice{Level: level, Message: fmt.Sprintf(format, args...)})
	}
}
