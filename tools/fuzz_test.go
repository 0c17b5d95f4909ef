package tools

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecodeArgs feeds arbitrary arguments to every tool's argument checks:
// they never panic, and every refusal is an ArgumentError (a tool result),
// never anything else.
func FuzzDecodeArgs(f *testing.F) {
	for _, seed := range []string{`{}`, `null`, `[]`, `{"endpoint_name":"a"}`, `{"endpoint_name":1}`,
		`{"inputs":["a",2]}`, `{"messages":[{"role":"user"}]}`, `{"min_replica":-1,"max_replica":0}`,
		`{"timeout_seconds":1e309}`, `{"accelerator":"tpu"}`, `{"custom_image":{"url":"x"}}`, `"text"`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, args string) {
		for _, tool := range All() {
			s, err := tool.schemas()
			if err != nil {
				t.Fatal(err)
			}
			in := reflect.New(tool.Handler.in).Interface()
			err = decodeArgs(json.RawMessage(args), s.input, in)
			var argErr *ArgumentError
			if err != nil && !errors.As(err, &argErr) {
				t.Fatalf("%s: %q gave %T %v, want an ArgumentError", tool.Name, args, err, err)
			}
		}
	})
}
