package resources

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"
)

// Workaround for mcp-go v1.2.1: resources/list hooks cannot refuse a request (they return
// nothing), and mcp-go pages only the resources registered up front, so a cursor this server
// never issued would get an empty page instead of an error. refuseForeignCursor replaces such a
// cursor by one mcp-go cannot decode, which makes mcp-go answer JSON-RPC "invalid params" itself.
// It can go when a list hook (or a list handler option) can return an error: check
// server/hooks.go's OnBeforeListResourcesFunc signature in a newer mcp-go.

// unusableCursor is not base64, so mcp-go's pagination refuses it with invalid params.
const unusableCursor = "<not a cursor of this server's resources/list; list again without one>"

func refuseForeignCursor(_ context.Context, _ any, req *mcp.ListResourcesRequest) {
	if _, ok := parseListCursor(req.Params.Cursor); !ok {
		req.Params.Cursor = unusableCursor
	}
}
