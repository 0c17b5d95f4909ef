package tools

import "testing"

// BenchmarkReflectAllSchemas is the start-up cost of describing every tool
// (reflection of all input and output types), paid once per process.
func BenchmarkReflectAllSchemas(b *testing.B) {
	for b.Loop() {
		schemaMu.Lock()
		clear(schemaCache)
		schemaMu.Unlock()
		for _, tool := range All() {
			if _, err := tool.MCPTool(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
