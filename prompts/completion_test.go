package prompts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type completionFixture struct {
	emu *emulator.Server
	api *hfapi.Client
	c   *Completer
}

func newCompletionFixture(t *testing.T) *completionFixture {
	t.Helper()
	emu, err := emulator.Start("127.0.0.1:0", emulator.Options{
		User: "alice", Orgs: []string{"acme", "beta"}, Seed: 1,
		Timings: emulator.Timings{Deploy: 10 * time.Millisecond},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	api, err := hfapi.New(hfapi.Config{Token: emu.Token(), APIBase: emu.APIBase(), HubBase: emu.HubBase(), CatalogBase: emu.CatalogBase()})
	require.NoError(t, err)
	return &completionFixture{emu: emu, api: api, c: NewCompleter(api)}
}

// create makes an endpoint through the emulator's HTTP API.
func (f *completionFixture) create(t *testing.T, ns, name string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"name": name, "type": "authenticated",
		"provider": map[string]any{"vendor": "aws", "region": "us-east-1"},
		"compute":  map[string]any{"accelerator": "cpu", "instanceType": "intel-spr", "instanceSize": "x1", "scaling": map[string]any{"minReplica": 1, "maxReplica": 1}},
		"model":    map[string]any{"repository": "openai-community/gpt2", "framework": "pytorch", "revision": nil, "image": map[string]any{"huggingface": map[string]any{}}},
	})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, f.emu.APIBase()+"/endpoint/"+ns, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+f.emu.Token())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, resp.Status)
}

func (f *completionFixture) prompt(t *testing.T, prompt, arg, value string, ctxArgs map[string]string) []string {
	t.Helper()
	got, err := f.c.CompletePromptArgument(context.Background(), prompt, mcp.CompleteArgument{Name: arg, Value: value}, mcp.CompleteContext{Arguments: ctxArgs})
	require.NoError(t, err)
	require.NotNil(t, got)
	require.NotNil(t, got.Values)
	return got.Values
}

func TestCompletePromptArguments(t *testing.T) {
	f := newCompletionFixture(t)
	for _, n := range []string{"chat-1", "chat-2", "embedder"} {
		f.create(t, "alice", n)
	}
	f.create(t, "acme", "org-chat")

	tests := []struct {
		name, prompt, arg, value string
		ctx                      map[string]string
		want                     []string
	}{
		{"namespaces", "batch_job", "namespace", "", nil, []string{"acme", "alice", "beta"}},
		{"namespace prefix", "batch_job", "namespace", "a", nil, []string{"acme", "alice"}},
		{"namespace prefix ignores case", "troubleshoot_endpoint", "namespace", "AL", nil, []string{"alice"}},
		{"cost review takes every namespace", "cost_review", "namespace", "", nil, []string{"*", "acme", "alice", "beta"}},
		{"endpoints of the default namespace", "batch_job", "endpoint_name", "", nil, []string{"chat-1", "chat-2", "embedder"}},
		{"endpoint prefix", "batch_job", "endpoint_name", "ch", nil, []string{"chat-1", "chat-2"}},
		{"endpoints of the namespace argument", "troubleshoot_endpoint", "endpoint_name", "", map[string]string{"namespace": "acme"}, []string{"org-chat"}},
		{"no endpoints", "batch_job", "endpoint_name", "", map[string]string{"namespace": "beta"}, []string{}},
		{"no match", "batch_job", "endpoint_name", "zzz", nil, []string{}},
		{"task", "deploy_model", "task", "text-gen", nil, []string{"text-generation"}},
		{"argument without a source", "deploy_model", "max_hourly_cost", "1", nil, []string{}},
		{"vendors", "deploy_model", "vendor", "", nil, []string{"aws", "azure", "gcp"}},
		{"vendor prefix", "deploy_model", "vendor", "g", nil, []string{"gcp"}},
		{"regions of a vendor", "deploy_model", "region", "", map[string]string{"vendor": "gcp"}, []string{"europe-west4", "us-central1", "us-east4"}},
		{"accelerators", "deploy_model", "accelerator", "", nil, []string{"cpu", "gpu", "neuron"}},
		{"instance types of a region", "deploy_model", "instance_type", "", map[string]string{"vendor": "aws", "region": "us-east-2"},
			[]string{"intel-spr", "nvidia-a10g", "nvidia-h100", "nvidia-l4"}},
		{"instance types by accelerator", "deploy_model", "instance_type", "", map[string]string{"vendor": "azure", "accelerator": "cpu"}, []string{"intel-spr"}},
		{"instance sizes of a type", "deploy_model", "instance_size", "", map[string]string{"instance_type": "nvidia-t4"}, []string{"x1", "x4"}},
		{"instance size prefix", "deploy_model", "instance_size", "x1", map[string]string{"instance_type": "intel-spr"}, []string{"x1", "x16"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, f.prompt(t, tt.prompt, tt.arg, tt.value, tt.ctx))
		})
	}
}

func TestCompleteResourceTemplateVariables(t *testing.T) {
	f := newCompletionFixture(t)
	f.create(t, "acme", "org-one")
	f.create(t, "acme", "org-two")
	f.create(t, "alice", "mine")
	const tmpl = "hf-endpoints://{namespace}/{endpoint_name}"
	got, err := f.c.CompleteResourceArgument(context.Background(), tmpl,
		mcp.CompleteArgument{Name: "endpoint_name", Value: "org-"}, mcp.CompleteContext{Arguments: map[string]string{"namespace": "acme"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"org-one", "org-two"}, got.Values)
	assert.Equal(t, 2, got.Total)
	assert.False(t, got.HasMore)

	got, err = f.c.CompleteResourceArgument(context.Background(), tmpl, mcp.CompleteArgument{Name: "namespace", Value: "b"}, mcp.CompleteContext{})
	require.NoError(t, err)
	assert.Equal(t, []string{"beta"}, got.Values)
}

func TestCompletionAPIFailureIsEmpty(t *testing.T) {
	f := newCompletionFixture(t)
	for _, route := range []string{"/v2/provider/{namespace}", "/v2/endpoint/{namespace}", "/api/whoami-v2"} {
		require.NoError(t, f.emu.InjectFault(emulator.Fault{Method: http.MethodGet, Route: route, Status: http.StatusForbidden}))
	}
	for _, arg := range []string{"vendor", "region", "instance_type", "endpoint_name", "namespace"} {
		t.Run(arg, func(t *testing.T) {
			assert.Equal(t, []string{}, f.prompt(t, "batch_job", arg, "", nil))
		})
	}
	// Failures are not cached: once the API answers, completions come back.
	f.emu.ClearFaults()
	assert.Equal(t, []string{"aws"}, f.prompt(t, "deploy_model", "vendor", "aw", nil))
}

func TestCompletionReusesAnswers(t *testing.T) {
	f := newCompletionFixture(t)
	f.create(t, "alice", "one")
	for range 5 {
		f.prompt(t, "batch_job", "endpoint_name", "o", nil)
		f.prompt(t, "deploy_model", "vendor", "", nil)
		f.prompt(t, "deploy_model", "region", "us", map[string]string{"vendor": "aws"})
	}
	assert.EqualValues(t, 1, f.emu.Requests(http.MethodGet, "/v2/endpoint/{namespace}"), "one list per keystroke burst")
	assert.EqualValues(t, 1, f.emu.Requests(http.MethodGet, "/v2/provider/{namespace}"), "one catalog fetch")
}

func TestCompleteUnknownPrompt(t *testing.T) {
	f := newCompletionFixture(t)
	_, err := f.c.CompletePromptArgument(context.Background(), "no_such_prompt", mcp.CompleteArgument{Name: "namespace"}, mcp.CompleteContext{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `no prompt named "no_such_prompt"`)
	assert.Contains(t, err.Error(), "batch_job")
}

func TestCompleteCapsAtHundredValues(t *testing.T) {
	values := make([]string, 150)
	for i := range values {
		values[i] = fmt.Sprintf("ep-%03d", i)
	}
	values = append(values, "ep-000", "", "other") // a duplicate, an empty value and a non-match
	got := complete(values, "EP-")
	assert.Len(t, got.Values, MaxCompletions)
	assert.Equal(t, "ep-000", got.Values[0])
	assert.Equal(t, "ep-099", got.Values[99])
	assert.Equal(t, 150, got.Total)
	assert.True(t, got.HasMore)
}

// The Completer plugs into mcp-go: completion/complete reaches it for prompts and templates.
func TestCompleterServerOptions(t *testing.T) {
	f := newCompletionFixture(t)
	srv := server.NewMCPServer("completion-test", "0", f.c.ServerOptions()...)
	msg := `{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"deploy_model"},"argument":{"name":"vendor","value":"az"}}}`
	resp := srv.HandleMessage(context.Background(), []byte(msg))
	b, err := json.Marshal(resp)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"values":["azure"]`)
}

type callerCtx struct{}

// perCallerAPI answers as the caller named in the context, like a pass-through client.
type perCallerAPI struct{ calls int }

func (a *perCallerAPI) Whoami(ctx context.Context) (*hfapi.Whoami, error) {
	a.calls++
	name, _ := ctx.Value(callerCtx{}).(string)
	return &hfapi.Whoami{Type: "user", Name: name}, nil
}

func (a *perCallerAPI) List(context.Context, string) ([]hfapi.Endpoint, error) { return nil, nil }

func (a *perCallerAPI) ListHardware(context.Context, string) ([]hfapi.Vendor, error) {
	return nil, nil
}

func TestCompletionCachePerCaller(t *testing.T) {
	api := &perCallerAPI{}
	c := NewCompleter(api, CallerKey(func(ctx context.Context) string {
		name, _ := ctx.Value(callerCtx{}).(string)
		return name
	}))
	as := func(who string) context.Context { return context.WithValue(context.Background(), callerCtx{}, who) }
	for range 2 {
		for _, who := range []string{"alice", "bob"} {
			got, err := c.CompletePromptArgument(as(who), "batch_job", mcp.CompleteArgument{Name: "namespace"}, mcp.CompleteContext{})
			require.NoError(t, err)
			assert.Equal(t, []string{who}, got.Values, "%s sees only their own namespace", who)
		}
	}
	assert.Equal(t, 2, api.calls, "one whoami per caller, then remembered")
}
