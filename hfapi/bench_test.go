package hfapi

import (
	"bytes"
	"fmt"
	"testing"
)

// listOf is a list response of n endpoints shaped like the running fixture, each named apart.
func listOf(tb testing.TB, n int) []byte {
	tb.Helper()
	one := bytes.TrimSpace(fixtureBytes("ie-endpoint-running.json"))
	var buf bytes.Buffer
	buf.WriteString(`{"items":[`)
	for i := range n {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(bytes.Replace(one, []byte(`"name": "`), fmt.Appendf(nil, `"name": "e%d-`, i), 1))
	}
	buf.WriteString(`]}`)
	return buf.Bytes()
}

// BenchmarkDecodeList decodes a list response of 1,000 endpoints as List does.
//
//	go test -run '^$' -bench DecodeList -benchmem -count 6 ./hfapi/
func BenchmarkDecodeList(b *testing.B) {
	raw := listOf(b, 1000)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		var page endpointPage
		if err := page.decode(raw); err != nil || len(page.Items) != 1000 {
			b.Fatalf("decoded %d endpoints: %v", len(page.Items), err)
		}
	}
}
