package prompts

import (
	"context"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func get(t *testing.T, name string, args map[string]string) (string, error) {
	t.Helper()
	for _, sp := range ServerPrompts(All()) {
		if sp.Prompt.Name != name {
			continue
		}
		req := mcp.GetPromptRequest{}
		req.Params.Name = name
		req.Params.Arguments = args
		res, err := sp.Handler(context.Background(), req)
		if err != nil {
			return "", err
		}
		require.Len(t, res.Messages, 1)
		require.Equal(t, mcp.RoleUser, res.Messages[0].Role)
		text, ok := res.Messages[0].Content.(mcp.TextContent)
		require.True(t, ok, "prompt content is text")
		return text.Text, nil
	}
	t.Fatalf("no prompt %q", name)
	return "", nil
}

func TestPromptsRenderNamingToolsInOrder(t *testing.T) {
	cases := []struct {
		prompt string
		args   map[string]string
		tools  []string // must appear, in this order
		has    []string
	}{
		{"deploy_model", map[string]string{"repository": "openai-community/gpt2"},
			[]string{"list_catalog", "create_endpoint_from_catalog", "list_hardware", "create_endpoint", "wait_for_endpoint"},
			[]string{`"openai-community/gpt2"`, "as little as the model needs", "the model's pipeline task"}},
		{"deploy_model", map[string]string{"repository": "BAAI/bge-small-en-v1.5", "task": "sentence-embeddings", "max_hourly_cost": "1.5"},
			[]string{"list_catalog", "create_endpoint"},
			[]string{"for sentence-embeddings", "at most 1.5 USD per hour"}},
		{"batch_job", map[string]string{"endpoint_name": "my-ep"},
			[]string{"get_endpoint", "resume_endpoint", "wait_for_endpoint", "text_generation", "pause_endpoint"},
			[]string{`{"endpoint_name": "my-ep", "wait": true}`}},
		{"batch_job", map[string]string{"endpoint_name": "my-ep", "namespace": "acme"},
			[]string{"resume_endpoint", "wait_for_endpoint", "pause_endpoint"},
			[]string{`{"endpoint_name": "my-ep", "namespace": "acme"}`}},
		{"cost_review", nil,
			[]string{"list_endpoints", "list_hardware", "pause_endpoint", "scale_endpoint_to_zero", "update_endpoint"},
			[]string{"the default namespace", "list_endpoints {}"}},
		{"cost_review", map[string]string{"namespace": "*"},
			[]string{"list_endpoints"},
			[]string{"every namespace you belong to", `{"namespace": "*"}`}},
		{"troubleshoot_endpoint", map[string]string{"endpoint_name": "broken"},
			[]string{"get_endpoint", "resume_endpoint", "wait_for_endpoint", "list_endpoint_replicas", "get_endpoint_logs", "get_endpoint_metrics", "update_endpoint"},
			[]string{`"broken"`, "CUDA out of memory", `"metric": "p95-latency"`}},
	}
	for _, tc := range cases {
		t.Run(tc.prompt, func(t *testing.T) {
			text, err := get(t, tc.prompt, tc.args)
			require.NoError(t, err)
			at := 0
			for _, tool := range tc.tools {
				i := indexFrom(text, tool, at)
				require.GreaterOrEqual(t, i, 0, "%s should name %s after position %d:\n%s", tc.prompt, tool, at, text)
				at = i
			}
			for _, s := range tc.has {
				assert.Contains(t, text, s)
			}
		})
	}
}

func indexFrom(s, sub string, from int) int {
	for i := from; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestPromptArgumentErrors(t *testing.T) {
	cases := []struct {
		prompt string
		args   map[string]string
		want   string
	}{
		{"deploy_model", nil, `needs the argument "repository"`},
		{"deploy_model", map[string]string{"repository": "  "}, `needs the argument "repository"`},
		{"deploy_model", map[string]string{"repository": "gpt2", "max_hourly_cost": "cheap"}, "max_hourly_cost must be a positive number"},
		{"deploy_model", map[string]string{"repository": "gpt2", "max_hourly_cost": "-1"}, "max_hourly_cost must be a positive number"},
		{"batch_job", map[string]string{"endpoint_name": "x", "endpoint": "y"}, `has no argument "endpoint"; its arguments are endpoint_name, namespace`},
		{"troubleshoot_endpoint", map[string]string{}, `needs the argument "endpoint_name"`},
	}
	for _, tc := range cases {
		t.Run(tc.prompt+" "+tc.want, func(t *testing.T) {
			_, err := get(t, tc.prompt, tc.args)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestPromptMetadata(t *testing.T) {
	names := map[string]bool{}
	for _, sp := range ServerPrompts(All()) {
		p := sp.Prompt
		names[p.Name] = true
		assert.NotEmpty(t, p.Title, p.Name)
		assert.NotEmpty(t, p.Description, p.Name)
		for _, a := range p.Arguments {
			assert.NotEmpty(t, a.Description, "%s.%s", p.Name, a.Name)
		}
	}
	assert.Equal(t, map[string]bool{"deploy_model": true, "batch_job": true, "cost_review": true, "troubleshoot_endpoint": true}, names)
}
