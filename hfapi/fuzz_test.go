package hfapi

import (
	"encoding/json"
	"testing"
)

// FuzzEndpointRoundTrip checks that the lossless codec never panics and is stable: whatever decodes,
// encodes to valid JSON that decodes and re-encodes to the same bytes.
func FuzzEndpointRoundTrip(f *testing.F) {
	for _, name := range []string{"ie-endpoint-pending.json", "ie-endpoint-running.json", "ie-catalog-deploy-response.json",
		"ie-create-request-custom-router-doc.json", "hfhub-captured-create-request.json"} {
		f.Add(fixtureBytes(name))
	}
	f.Add([]byte(`{"model":{"image":{"x":1}},"status":{"createdAt":7,"url":null}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ep Endpoint
		if json.Unmarshal(data, &ep) != nil {
			return
		}
		first, err := json.Marshal(ep)
		if err != nil {
			t.Fatalf("encode after decode: %v", err)
		}
		var again Endpoint
		if err := json.Unmarshal(first, &again); err != nil {
			t.Fatalf("own output does not decode: %v\n%s", err, first)
		}
		second, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if string(first) != string(second) {
			t.Fatalf("unstable encoding:\n%s\n%s", first, second)
		}
	})
}
