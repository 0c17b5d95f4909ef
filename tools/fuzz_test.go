package tools

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
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
			checks, err := s.arguments()
			if err != nil {
				t.Fatal(err)
			}
			in := reflect.New(tool.Handler.in).Interface()
			err = decodeArgs(json.RawMessage(args), checks, in)
			var argErr *ArgumentError
			if err != nil && !errors.As(err, &argErr) {
				t.Fatalf("%s: %q gave %T %v, want an ArgumentError", tool.Name, args, err, err)
			}
		}
	})
}

// fuzzSecret is the token of the fuzzed client; no result may contain it.
const fuzzSecret = "hf_fuzzSecretToken0123456789"

// notFoundAPI answers every request with the API's 404 shape, in process (no
// socket), so handlers run past argument decoding down to an API call.
type notFoundAPI struct{}

func (notFoundAPI) RoundTrip(r *http.Request) (*http.Response, error) {
	body := `{"error":"Endpoint not found"}`
	return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
}

// pickTool returns the index of the tool named name, or, for any other
// string, some tool, so that every fuzzed input exercises one.
func pickTool(all []Tool, name string) int {
	for i, t := range all {
		if t.Name == name {
			return i
		}
	}
	return len(name) % len(all)
}

// FuzzToolCall calls every tool through its served handler (decoding,
// checks, the handler itself, rendering) with arbitrary arguments: never a
// panic or a protocol error, and every failure is an isError result naming
// the tool, with no token in it. Seeds are in testdata/fuzz/FuzzToolCall.
func FuzzToolCall(f *testing.F) {
	client, err := hfapi.New(hfapi.Config{Token: fuzzSecret, Namespace: "fuzz-user",
		APIBase: "http://api.invalid/v2", HubBase: "http://hub.invalid", CatalogBase: "http://hub.invalid/api/catalog",
		HTTPClient: &http.Client{Transport: notFoundAPI{}}})
	if err != nil {
		f.Fatal(err)
	}
	deps := Deps{Client: func(context.Context) (*hfapi.Client, error) { return client, nil }}
	all := All()
	handlers := make([]server.ToolHandlerFunc, len(all))
	for i, tool := range all {
		st, err := tool.ServerTool(deps)
		if err != nil {
			f.Fatal(err)
		}
		handlers[i] = st.Handler
	}
	f.Add("get_endpoint", `{"endpoint_name":"x"}`)
	f.Fuzz(func(t *testing.T, tool, args string) {
		i := pickTool(all, tool)
		name := all[i].Name
		req := mcp.CallToolRequest{}
		req.Params.Name = name
		req.Params.RawArguments = json.RawMessage(args)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := handlers[i](ctx, req)
		if err != nil {
			t.Fatalf("%s(%s): protocol error %v, want a tool result", name, args, err)
		}
		if res == nil {
			t.Fatalf("%s(%s): no result", name, args)
		}
		wire, err := json.Marshal(res)
		if err != nil {
			t.Fatalf("%s(%s): result does not encode: %v", name, args, err)
		}
		if strings.Contains(string(wire), fuzzSecret) {
			t.Fatalf("%s(%s): the token leaked: %s", name, args, wire)
		}
		if !res.IsError {
			return
		}
		text := ""
		if len(res.Content) > 0 {
			if tc, ok := res.Content[0].(mcp.TextContent); ok {
				text = tc.Text
			}
		}
		if !strings.Contains(text, name) {
			t.Fatalf("%s(%s): error %q does not name the tool", name, args, text)
		}
	})
}
