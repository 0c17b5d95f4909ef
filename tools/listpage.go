package tools

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// Page sizes of list_endpoints.
const (
	defaultListLimit = 50
	maxListLimit     = 500
)

// listQuery is what a list_endpoints page is a page of; a cursor is bound to it.
type listQuery struct {
	Namespace string   `json:"n"`
	State     string   `json:"s,omitempty"`
	Tags      []string `json:"t,omitempty"`
	Search    string   `json:"q,omitempty"`
	limit     int
}

func (in ListEndpointsInput) query() listQuery {
	tags := slices.Clone(in.Tags)
	slices.Sort(tags)
	q := listQuery{Namespace: in.Namespace, State: in.State, Tags: slices.Compact(tags), Search: in.Search, limit: defaultListLimit}
	if in.Limit != nil {
		q.limit = *in.Limit
	}
	return q
}

// key identifies the query (not the page size, which may change from page to page).
func (q listQuery) key() string {
	b, _ := json.Marshal(q)
	h := fnv.New64a()
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// matches applies the state and search filters (tags are filtered by hfapi).
func (q listQuery) matches(ep *hfapi.Endpoint) bool {
	if q.State != "" && string(ep.Status.State) != q.State {
		return false
	}
	s := strings.ToLower(q.Search)
	return s == "" || strings.Contains(strings.ToLower(ep.Name), s) || strings.Contains(strings.ToLower(ep.Model.Repository), s)
}

// key names a row within a listing of several namespaces too.
func (r EndpointRow) key() string { return r.Namespace + "/" + r.Name }

// pageCursor is where the next page starts: after the endpoint named After, expected at Offset.
type pageCursor struct {
	Key    string `json:"k"`
	Offset int    `json:"o"`
	After  string `json:"a"`
}

// start decodes a cursor of this query ("" = the first page).
func (q listQuery) start(cursor string) (pageCursor, error) {
	if cursor == "" {
		return pageCursor{}, nil
	}
	var c pageCursor
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		err = json.Unmarshal(raw, &c)
	}
	if err != nil || c.Key == "" || c.Offset < 0 {
		return c, errNext("drop cursor to start from the first page", "cursor %q is not a next_cursor of list_endpoints", cursor)
	}
	if c.Key != q.key() {
		return c, errNext("repeat the query it came from (same namespace, state, tags and search), or drop cursor to start over",
			"cursor belongs to another list_endpoints query")
	}
	return c, nil
}

// page cuts one page out of rows, resuming after the cursor's endpoint: where it was if it is still
// there, else wherever it moved, else (deleted) where it was.
func (q listQuery) page(ns string, rows []EndpointRow, from pageCursor) EndpointList {
	begin := min(from.Offset, len(rows))
	if from.After != "" && (begin == 0 || rows[begin-1].key() != from.After) {
		if i := slices.IndexFunc(rows, func(r EndpointRow) bool { return r.key() == from.After }); i >= 0 {
			begin = i + 1
		} else {
			begin = min(max(from.Offset-1, 0), len(rows)) // it was deleted: what followed it moved up one
		}
	}
	end := min(begin+q.limit, len(rows))
	out := EndpointList{Namespace: ns, Total: len(rows), Endpoints: slices.Clone(rows[begin:end])}
	if out.Endpoints == nil {
		out.Endpoints = []EndpointRow{}
	}
	out.Count = len(out.Endpoints)
	if end < len(rows) {
		b, _ := json.Marshal(pageCursor{Key: q.key(), Offset: end, After: rows[end-1].key()})
		out.NextCursor = base64.RawURLEncoding.EncodeToString(b)
	}
	return out
}
