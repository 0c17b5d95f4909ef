package resources

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// ListPageSize is how many endpoints one resources/list page holds.
const ListPageSize = 100

// listCursorPrefix starts every resources/list cursor this package issues.
const listCursorPrefix = "hf-endpoints/1:"

// listCursor is where the next resources/list page starts: after the resource At (a URI),
// expected at Offset. It travels base64-encoded (standard alphabet: mcp-go decodes every
// cursor so before the hooks run).
type listCursor struct {
	Offset int
	At     string
}

func (c listCursor) encode() mcp.Cursor {
	return mcp.Cursor(base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%s%d:%s", listCursorPrefix, c.Offset, c.At)))
}

// parseListCursor reads a cursor of ours; "" is the first page. ok is false for anything else.
func parseListCursor(cursor mcp.Cursor) (listCursor, bool) {
	if cursor == "" {
		return listCursor{}, true
	}
	raw, err := base64.StdEncoding.DecodeString(string(cursor))
	rest, found := strings.CutPrefix(string(raw), listCursorPrefix)
	if err != nil || !found {
		return listCursor{}, false
	}
	off, at, _ := strings.Cut(rest, ":")
	n, err := strconv.Atoi(off)
	if err != nil || n < 0 {
		return listCursor{}, false
	}
	return listCursor{Offset: n, At: at}, true
}

// pageOf cuts one page out of the listing, resuming after the cursor's resource: where it was if
// it is still there, else wherever it moved, else (deleted) where it was.
func pageOf(list []mcp.Resource, from listCursor) ([]mcp.Resource, mcp.Cursor) {
	begin := min(from.Offset, len(list))
	if from.At != "" && (begin == 0 || list[begin-1].URI != from.At) {
		if i := slices.IndexFunc(list, func(r mcp.Resource) bool { return r.URI == from.At }); i >= 0 {
			begin = i + 1
		} else {
			begin = min(max(from.Offset-1, 0), len(list)) // it was deleted: what followed it moved up one
		}
	}
	end := min(begin+ListPageSize, len(list))
	if end == len(list) {
		return list[begin:end], ""
	}
	return list[begin:end], listCursor{Offset: end, At: list[end-1].URI}.encode()
}
