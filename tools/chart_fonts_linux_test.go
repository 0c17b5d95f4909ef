package tools

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// TestChartsDrawTheSameAfterTheFontPagesAreReleased draws a chart, drops
// the fonts' pages as ReleaseChartFontPages does, and draws it again: the same PNG, byte for
// byte, and in between no page inside the fonts is resident.
func TestChartsDrawTheSameAfterTheFontPagesAreReleased(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	points := []hfapi.MetricPoint{{Time: at, Value: 40}, {Time: at.Add(time.Minute), Value: 25}, {Time: at.Add(2 * time.Minute), Value: 31}}

	before, err := drawSeries("p95-latency of a", "ms", points)
	require.NoError(t, err)
	require.Positive(t, residentFontPages(t, 0), "drawing a chart reads the fonts")

	releaseFontPages()
	// Away from the fonts' edges: a read of a neighbouring variable may map
	// a few pages around it again.
	assert.Zero(t, residentFontPages(t, 64<<10), "no page inside the fonts is resident after the release")

	after, err := drawSeries("p95-latency of a", "ms", points)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(before, after), "the chart drawn after the release is the same PNG (%d and %d bytes)", len(before), len(after))
	assert.Positive(t, residentFontPages(t, 0), "the second chart read the fonts back")
}

// residentFontPages counts the pages of the fonts, margin bytes in from each
// end, that /proc/self/pagemap says are present in memory.
func residentFontPages(t *testing.T, margin uintptr) int {
	t.Helper()
	pagemap, err := os.Open("/proc/self/pagemap")
	require.NoError(t, err)
	defer pagemap.Close()
	page := uintptr(os.Getpagesize())
	n := 0
	for _, ttf := range liberationFonts() {
		start := uintptr(unsafe.Pointer(unsafe.SliceData(ttf)))
		lo, hi := (start+margin+page-1)&^(page-1), (start+uintptr(len(ttf))-margin)&^(page-1)
		entries := make([]byte, (hi-lo)/page*8)
		_, err := pagemap.ReadAt(entries, int64(lo/page*8))
		require.NoError(t, err)
		for i := 0; i < len(entries); i += 8 {
			if binary.LittleEndian.Uint64(entries[i:])&(1<<63) != 0 { // bit 63: page present
				n++
			}
		}
	}
	return n
}
