package tools

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rowsNamed(names ...string) []EndpointRow {
	rows := make([]EndpointRow, len(names))
	for i, n := range names {
		rows[i] = EndpointRow{Name: n}
	}
	return rows
}

func names(l EndpointList) []string {
	var out []string
	for _, r := range l.Endpoints {
		out = append(out, r.Name)
	}
	return out
}

// A page resumes after the last endpoint seen, even when the listing changed in between.
func TestListPagesResumeAfterTheLastEndpointSeen(t *testing.T) {
	q := ListEndpointsInput{Limit: ptrTo(2)}.query()
	first := q.page("me", rowsNamed("a", "b", "c", "d", "e"), pageCursor{})
	require.Equal(t, []string{"a", "b"}, names(first))
	from, err := q.start(first.NextCursor)
	require.NoError(t, err)
	tests := []struct {
		name string
		now  []string
		want []string
	}{
		{"unchanged", []string{"a", "b", "c", "d", "e"}, []string{"c", "d"}},
		{"one before it deleted", []string{"b", "c", "d", "e"}, []string{"c", "d"}},
		{"one added before it", []string{"z", "a", "b", "c", "d"}, []string{"c", "d"}},
		{"it was deleted: what followed it", []string{"a", "c", "d", "e"}, []string{"c", "d"}},
		{"fewer than the offset", []string{"a"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, names(q.page("me", rowsNamed(tt.now...), from)))
		})
	}
	_, err = ListEndpointsInput{Limit: ptrTo(3)}.query().start(first.NextCursor)
	assert.NoError(t, err, "the page size may change between pages")
	_, err = ListEndpointsInput{State: "running"}.query().start(first.NextCursor)
	assert.ErrorContains(t, err, "another list_endpoints query")
	_, err = ListEndpointsInput{Tags: []string{"b", "a"}}.query().start(
		ListEndpointsInput{Tags: []string{"a", "b"}, Limit: ptrTo(1)}.query().page("me", rowsNamed("x", "y"), pageCursor{}).NextCursor)
	assert.NoError(t, err, "tag order does not matter")
}

func TestListPagesTellNamespacesApart(t *testing.T) {
	q := ListEndpointsInput{Namespace: "*", Limit: ptrTo(1)}.query()
	rows := []EndpointRow{{Name: "llm", Namespace: "me"}, {Name: "llm", Namespace: "acme"}, {Name: "tei", Namespace: "acme"}}
	first := q.page("*", rows, pageCursor{})
	from, err := q.start(first.NextCursor)
	require.NoError(t, err)
	// The user's own "llm" was deleted: the page resumes at acme's "llm", not after it.
	second := q.page("*", rows[1:], from)
	require.Len(t, second.Endpoints, 1)
	assert.Equal(t, EndpointRow{Name: "llm", Namespace: "acme"}, second.Endpoints[0])
}
