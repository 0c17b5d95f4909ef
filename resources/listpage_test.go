package resources

import (
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResourcePagesResumeAfterTheLastResourceSeen(t *testing.T) {
	list := make([]mcp.Resource, ListPageSize+3)
	for i := range list {
		list[i] = mcp.Resource{URI: URI("me", string(rune('a'+i%26))+string(rune('a'+i/26)))}
	}
	first, next := pageOf(list, listCursor{})
	require.Len(t, first, ListPageSize)
	require.NotEmpty(t, next)
	from, ok := parseListCursor(next)
	require.True(t, ok)
	rest, last := pageOf(list, from)
	assert.Equal(t, list[ListPageSize:], rest)
	assert.Empty(t, last, "no cursor after the last page")

	deleted := append(append([]mcp.Resource{}, list[:ListPageSize-1]...), list[ListPageSize:]...)
	rest, _ = pageOf(deleted, from)
	assert.Equal(t, list[ListPageSize:], rest, "the last resource seen was deleted: the next page starts with what followed it")

	for _, foreign := range []mcp.Cursor{"bm90LWEtY3Vyc29y", "!!", mcp.Cursor(listCursor{Offset: -1}.encode())} {
		_, ok := parseListCursor(foreign)
		assert.False(t, ok, foreign)
	}
}
