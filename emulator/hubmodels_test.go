package emulator

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHubModelInfoForEveryCatalogModel(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t, s, s.Token())
	for _, m := range catalogModels() {
		code, info := c.obj("GET", "/api/models/"+m.repo, nil)
		require.Equal(t, http.StatusOK, code, m.repo)
		assert.Equal(t, m.repo, info["id"])
		assert.Equal(t, m.task, info["pipeline_tag"], m.repo)
		assert.NotEmpty(t, info["library_name"], m.repo)
		assert.Contains(t, info["tags"], m.task, m.repo)
		st, _ := info["safetensors"].(map[string]any)
		require.NotNil(t, st, m.repo)
		total, _ := st["total"].(float64)
		assert.Greater(t, total, 1e6, m.repo)
		params, _ := st["parameters"].(map[string]any)
		require.Len(t, params, 1, m.repo)
		for dtype, n := range params {
			assert.Contains(t, dtypeBytes, dtype, m.repo)
			assert.Equal(t, total, n, m.repo)
		}
	}
}

func TestHubModelInfoFigures(t *testing.T) {
	s := start(t, Options{})
	tests := []struct {
		repo, token string
		code        int
		want        map[string]any
	}{
		{"meta-llama/Llama-3.1-8B-Instruct", s.Token(), http.StatusOK, map[string]any{"library_name": "transformers", "gated": "manual",
			"safetensors": map[string]any{"parameters": map[string]any{"BF16": 8030261248.0}, "total": 8030261248.0}}},
		{"sentence-transformers/all-MiniLM-L6-v2", "", http.StatusOK, map[string]any{"library_name": "sentence-transformers", "gated": false}},
		{"META-LLAMA/llama-3.1-8b-instruct", "", http.StatusOK, map[string]any{"id": "meta-llama/Llama-3.1-8B-Instruct"}},
		{"nobody/nothing", s.Token(), http.StatusNotFound, map[string]any{"error": "Repository not found"}},
		{"gpt2", "", http.StatusNotFound, map[string]any{"error": "Repository not found"}},
		{"meta-llama/Llama-3.1-8B-Instruct", "hf_wrong", http.StatusUnauthorized, map[string]any{"error": "Invalid username or password."}},
	}
	for _, tt := range tests {
		t.Run(tt.repo+"/"+tt.token, func(t *testing.T) {
			code, got := newClient(t, s, tt.token).obj("GET", "/api/models/"+tt.repo, nil)
			require.Equal(t, tt.code, code, "%v", got)
			for k, v := range tt.want {
				assert.Equal(t, v, got[k], k)
			}
		})
	}
	params, bytes, ok := modelWeights("meta-llama/Llama-3.1-8B-Instruct")
	require.True(t, ok)
	assert.Equal(t, int64(8030261248), params)
	assert.Equal(t, int64(16060522496), bytes, "BF16 weights take two bytes a parameter")
	_, _, ok = modelWeights("nobody/nothing")
	assert.False(t, ok, "a repository outside the catalog has no known size")
}
