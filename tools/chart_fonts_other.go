//go:build !linux

package tools

// ReleaseChartFontPages does nothing here: the pages of the fonts that
// gonum.org/v1/plot parses at init are handed back on Linux only
// (chart_fonts_linux.go).
func ReleaseChartFontPages() {}
