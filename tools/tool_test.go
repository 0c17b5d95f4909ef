package tools

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// TestEveryToolIsFullyDescribed enforces the house rule: a title, a
// description with an example, all four annotations, and an output schema.
func TestEveryToolIsFullyDescribed(t *testing.T) {
	seen := map[string]bool{}
	for _, tool := range All() {
		t.Run(tool.Name, func(t *testing.T) {
			require.False(t, seen[tool.Name], "duplicate tool name")
			seen[tool.Name] = true
			mt, err := tool.MCPTool()
			require.NoError(t, err)
			assert.NotEmpty(t, mt.Title, "title")
			assert.Contains(t, mt.Description, "Example: {", "description has one example call")
			a := mt.Annotations
			for name, hint := range map[string]*bool{"readOnlyHint": a.ReadOnlyHint, "destructiveHint": a.DestructiveHint,
				"idempotentHint": a.IdempotentHint, "openWorldHint": a.OpenWorldHint} {
				assert.NotNil(t, hint, "%s must be set explicitly", name)
			}
			assert.NotEmpty(t, mt.RawOutputSchema, "output schema")
			assert.Contains(t, []Toolset{EndpointsRead, EndpointsWrite, Inference}, tool.Toolset)

			var in map[string]any
			require.NoError(t, json.Unmarshal(mt.RawInputSchema, &in))
			assert.Equal(t, "object", in["type"])
			assert.Equal(t, false, in["additionalProperties"], "unknown arguments are rejected by the schema too")
			var out map[string]any
			require.NoError(t, json.Unmarshal(mt.RawOutputSchema, &out))
			assert.Equal(t, "object", out["type"])
		})
	}
}

// TestExampleCallsDecode keeps each description's example valid input.
func TestExampleCallsDecode(t *testing.T) {
	for _, tool := range All() {
		t.Run(tool.Name, func(t *testing.T) {
			_, example, ok := strings.Cut(tool.Description, "Example: ")
			require.True(t, ok)
			s, err := tool.schemas()
			require.NoError(t, err)
			checks, err := s.arguments()
			require.NoError(t, err)
			in := reflect.New(tool.Handler.in).Interface()
			assert.NoError(t, decodeArgs(json.RawMessage(example), checks, in), "example %s", example)
		})
	}
}

func TestAnnotationsFollowWhatToolsDo(t *testing.T) {
	byName := map[string]Tool{}
	for _, tool := range All() {
		byName[tool.Name] = tool
	}
	for _, tool := range ReadTools() {
		assert.True(t, tool.Hints.ReadOnly, tool.Name)
	}
	for _, tool := range WriteTools() {
		assert.False(t, tool.Hints.ReadOnly, tool.Name)
	}
	for _, name := range []string{"pause_endpoint", "resume_endpoint", "scale_endpoint_to_zero"} {
		assert.True(t, byName[name].Hints.Idempotent, name)
	}
	for _, name := range []string{"create_endpoint", "create_endpoint_from_catalog"} {
		assert.False(t, byName[name].Hints.Idempotent, name)
	}
	for _, tool := range InferenceTools() {
		assert.True(t, tool.Hints.OpenWorld, tool.Name)
	}
	del := byName["delete_endpoint"]
	assert.Equal(t, Hints{ReadOnly: false, Destructive: true, Idempotent: false, OpenWorld: false}, del.Hints,
		"delete_endpoint removes state for good, and a second delete fails")
}

// TestOnlyDeleteEndpointDeletes: deleting is one tool, the one
// --disable-destructive removes.
func TestOnlyDeleteEndpointDeletes(t *testing.T) {
	for _, tool := range All() {
		assert.Equal(t, tool.Name == "delete_endpoint", strings.Contains(tool.Name, "delete"), tool.Name)
		assert.Equal(t, tool.Name == "delete_endpoint", Destructive(tool), tool.Name)
	}
}

func TestSelectByToolsetAndReadOnly(t *testing.T) {
	names := func(ts []Tool) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.Name)
		}
		return out
	}
	all := Select(Toolsets(), false)
	assert.Equal(t, names(All()), names(all), "every toolset selected: every tool")
	readOnly := Select(Toolsets(), true)
	for _, tool := range readOnly {
		assert.True(t, tool.Hints.ReadOnly, tool.Name)
	}
	assert.NotContains(t, names(readOnly), "create_endpoint")
	assert.NotContains(t, names(readOnly), "delete_endpoint")
	assert.Contains(t, names(readOnly), "text_generation")
	assert.Equal(t, names(InferenceTools()), names(Select([]Toolset{Inference}, false)))
}

func TestParseToolsets(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []Toolset
		err  string
	}{
		{in: nil, want: Toolsets()},
		{in: []string{"all"}, want: Toolsets()},
		{in: []string{"inference, endpoints_read"}, want: []Toolset{Inference, EndpointsRead}},
		{in: []string{"inference", "inference"}, want: []Toolset{Inference}},
		{in: []string{"endpoints"}, err: `unknown toolset "endpoints"; valid toolsets are endpoints_read, endpoints_write, inference`},
	} {
		got, err := ParseToolsets(tc.in)
		if tc.err != "" {
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.want, got)
	}
}

// echoResult is the output of the test tool below.
type echoResult struct {
	Echo string `json:"echo"`
}

func (r echoResult) Summary() string { return "echo: " + r.Echo }

type echoInput struct {
	Target
	Count *int     `json:"count,omitempty"`
	Tags  []string `json:"tags,omitempty" jsonschema:"minItems=1"`
	Kind  string   `json:"kind,omitempty" jsonschema:"enum=cpu,enum=gpu"`
	Size  *float64 `json:"size,omitempty" jsonschema:"minimum=1,maximum=8"`
}

func (in echoInput) Validate() error {
	if in.Count != nil && *in.Count < 0 {
		return errors.New("count must be 0 or more")
	}
	return nil
}

// serveEcho runs a test tool through the real wrapper with the given handler outcome.
func serveEcho(t *testing.T, args string, outcome func(echoInput) (echoResult, error)) (*mcp.CallToolResult, error) {
	t.Helper()
	tool := Tool{Name: "echo_test", Title: "Echo", Description: "Example: {}", Toolset: EndpointsRead, Hints: readHints,
		Handler: Handle(func(_ context.Context, _ *Call, in echoInput) (echoResult, error) { return outcome(in) })}
	st, err := tool.ServerTool(Deps{Client: func(context.Context) (*hfapi.Client, error) { return nil, nil }})
	require.NoError(t, err)
	req := mcp.CallToolRequest{}
	req.Params.Name = "echo_test"
	req.Params.RawArguments = json.RawMessage(args)
	return st.Handler(context.Background(), req)
}

func resultText(r *mcp.CallToolResult) string {
	var parts []string
	for _, c := range r.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func TestWrapperArgumentErrorsAreToolResultsNamingWhatIsValid(t *testing.T) {
	ok := func(in echoInput) (echoResult, error) { return echoResult{Echo: in.EndpointName}, nil }
	res, err := serveEcho(t, `{"endpoint_name":"a","kind":"gpu","size":8,"tags":["x"]}`, ok)
	require.NoError(t, err)
	require.False(t, res.IsError, "values within the constraints pass: %s", resultText(res))
	for _, tc := range []struct{ name, args, want string }{
		{"unknown argument", `{"endpoint_name":"a","endpoint":"b"}`,
			`unknown argument "endpoint"; valid arguments are: endpoint_name, namespace, count, tags, kind, size`},
		{"missing required", `{"namespace":"acme"}`, `missing required argument "endpoint_name" (a string)`},
		{"null required", `{"endpoint_name":null}`, `missing required argument "endpoint_name"`},
		{"wrong type", `{"endpoint_name":"a","count":"three"}`, `argument "count" must be an integer, got string`},
		{"wrong item type", `{"endpoint_name":"a","tags":[1]}`, `argument "tags" must be an array of strings, got number`},
		{"not an object", `["a"]`, `arguments must be a JSON object with valid arguments are: endpoint_name`},
		{"validator", `{"endpoint_name":"a","count":-1}`, `count must be 0 or more`},
		{"enum", `{"endpoint_name":"a","kind":"tpu"}`, `argument "kind" must be one of cpu, gpu; got "tpu"`},
		{"minimum", `{"endpoint_name":"a","size":0}`, `argument "size" must be at least 1; got 0`},
		{"maximum", `{"endpoint_name":"a","size":9}`, `argument "size" must be at most 8; got 9`},
		{"min items", `{"endpoint_name":"a","tags":[]}`, `argument "tags" needs at least 1 item(s)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := serveEcho(t, tc.args, ok)
			require.NoError(t, err, "bad input is not a protocol error")
			require.True(t, res.IsError)
			assert.Contains(t, resultText(res), "invalid arguments for echo_test: ")
			assert.Contains(t, resultText(res), tc.want)
		})
	}
}

func TestWrapperReturnsStructuredContentAndSummary(t *testing.T) {
	res, err := serveEcho(t, `{"endpoint_name":"ep-1"}`, func(in echoInput) (echoResult, error) {
		return echoResult{Echo: in.EndpointName}, nil
	})
	require.NoError(t, err)
	require.False(t, res.IsError)
	assert.Equal(t, "echo: ep-1", resultText(res))
	assert.JSONEq(t, `{"echo":"ep-1"}`, string(res.RawStructuredContent))
	wire, err := json.Marshal(res)
	require.NoError(t, err)
	assert.Contains(t, string(wire), `"structuredContent":{"echo":"ep-1"}`)
}

func TestWrapperTurnsHandlerErrorsIntoResultsWithNextSteps(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"api 404", &hfapi.APIError{Op: "get endpoint me/x", Status: 404, Message: "not found"}, "list_endpoints"},
		{"api 401", &hfapi.APIError{Op: "list endpoints", Status: 401}, "HF_TOKEN"},
		{"next step", errNext("call resume_endpoint", "endpoint x is paused"), "endpoint x is paused — call resume_endpoint"},
		{"deadline", context.DeadlineExceeded, "echo_test timed out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := serveEcho(t, `{"endpoint_name":"x"}`, func(echoInput) (echoResult, error) { return echoResult{}, tc.err })
			require.NoError(t, err)
			require.True(t, res.IsError)
			assert.True(t, strings.HasPrefix(resultText(res), "echo_test "), resultText(res))
			assert.Contains(t, resultText(res), tc.want)
		})
	}
}

func TestOnlyFaultsAreProtocolErrors(t *testing.T) {
	_, err := serveEcho(t, `{"endpoint_name":"x"}`, func(echoInput) (echoResult, error) {
		return echoResult{}, &Fault{Err: errors.New("impossible state")}
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "impossible state")
}

func TestClientFailureIsAToolResult(t *testing.T) {
	tool := getEndpoint
	st, err := tool.ServerTool(Deps{Client: func(context.Context) (*hfapi.Client, error) { return nil, hfapi.ErrNoToken }})
	require.NoError(t, err)
	req := mcp.CallToolRequest{}
	req.Params.RawArguments = json.RawMessage(`{"endpoint_name":"x"}`)
	res, err := st.Handler(context.Background(), req)
	require.NoError(t, err)
	require.True(t, res.IsError)
	assert.Contains(t, resultText(res), "HF_TOKEN")
}

func TestTextsAcceptsStringOrList(t *testing.T) {
	var in FeatureExtractionInput
	require.NoError(t, json.Unmarshal([]byte(`{"endpoint_name":"e","inputs":"one"}`), &in))
	assert.Equal(t, Texts{"one"}, in.Inputs)
	require.NoError(t, json.Unmarshal([]byte(`{"endpoint_name":"e","inputs":["a","b"]}`), &in))
	assert.Equal(t, Texts{"a", "b"}, in.Inputs)
	err := json.Unmarshal([]byte(`{"endpoint_name":"e","inputs":3}`), &in)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "a string or an array of strings")
}

func TestTailKeepsTheEndOnARuneBoundary(t *testing.T) {
	assert.Equal(t, "short", tail("short", 10))
	assert.Equal(t, "…éf", tail("abcdéf", 3))
}

// confirmResult asks for confirmation until it has it, like a guarded tool would.
type confirmResult struct {
	Done    bool `json:"done"`
	pending *mcp.CallToolResult
}

func (r confirmResult) Summary() string               { return "done" }
func (r confirmResult) Override() *mcp.CallToolResult { return r.pending }

func TestOverrideAnswersWithAPreparedResult(t *testing.T) {
	tool := Tool{Name: "guarded_test", Title: "Guarded", Description: "Example: {}", Toolset: EndpointsWrite,
		Hints: Hints{ReadOnly: false, Destructive: true, Idempotent: false, OpenWorld: false},
		Handler: Handle(func(_ context.Context, call *Call, _ NoArgs) (confirmResult, error) {
			if len(call.Request.Params.InputResponses) == 0 {
				return confirmResult{pending: &mcp.CallToolResult{Result: mcp.Result{ResultType: mcp.ResultTypeInputRequired}}}, nil
			}
			return confirmResult{Done: true}, nil
		})}
	st, err := tool.ServerTool(Deps{Client: func(context.Context) (*hfapi.Client, error) { return nil, nil }})
	require.NoError(t, err)
	res, err := st.Handler(context.Background(), mcp.CallToolRequest{})
	require.NoError(t, err)
	assert.Equal(t, mcp.ResultTypeInputRequired, res.ResultType, "the prepared result is passed through")
	assert.Nil(t, res.RawStructuredContent)
}
