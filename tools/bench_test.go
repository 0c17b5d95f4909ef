package tools

import "testing"

// BenchmarkDescribeAllTools is the cost of the first tools/list: every
// tool's description, from the embedded schemas.
func BenchmarkDescribeAllTools(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		clearSchemaCache()
		for _, tool := range All() {
			if _, err := tool.MCPTool(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkReflectAllSchemas is what the embedded schemas save: reflecting
// every tool's input and output types.
func BenchmarkReflectAllSchemas(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		for _, tool := range All() {
			if _, err := tool.reflectSchemas(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func clearSchemaCache() {
	schemaMu.Lock()
	clear(schemaCache)
	schemaMu.Unlock()
}
