package tools

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

func TestCallResultDescribesEachKindOfAnswer(t *testing.T) {
	big := `["` + strings.Repeat("x", maxCallJSON) + `"]`
	tests := []struct {
		name, contentType, body string
		wantJSON                bool
		wantText, summary       string
		image                   bool
	}{
		{"json", "application/json", `[{"label":"POSITIVE","score":0.9}]`, true, "", `[{"label":"POSITIVE","score":0.9}]`, false},
		{"json with charset", "application/json; charset=utf-8", `{"a":1}`, true, "", `{"a":1}`, false},
		{"problem+json", "application/problem+json", `{"a":1}`, true, "", `{"a":1}`, false},
		{"json too big to keep", "application/json", big, false, strings.Repeat("x", textPrefix-2) + "…", "application/json, 1048580 bytes: [\"", false},
		{"json that is not", "application/json", `{"a":`, false, `{"a":`, `application/json, 5 bytes: {"a":`, false},
		{"image", "image/png", "\x89PNG\r\n", false, "", "image/png image, 6 bytes (attached)", true},
		{"text", "text/plain", "hello", false, "hello", "text/plain, 5 bytes: hello", false},
		{"binary", "application/octet-stream", "\x00\x01", false, "", "application/octet-stream, 2 bytes (binary, not shown)", false},
		{"no type", "", "\xff\xfe", false, "", "application/octet-stream, 2 bytes (binary, not shown)", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.contentType != "" {
				h.Set("Content-Type", tt.contentType)
			}
			r := callResult(&hfapi.RawResponse{Status: 200, Header: h, Body: []byte(tt.body)})
			assert.Equal(t, len(tt.body), r.Bytes)
			assert.Equal(t, tt.wantJSON, len(r.JSON) > 0)
			if tt.wantText != "" {
				assert.True(t, strings.HasSuffix(r.Text, tt.wantText) || r.Text == tt.wantText, "%q", r.Text)
			}
			assert.True(t, strings.HasPrefix(r.Summary(), tt.summary), "%q", r.Summary())
			content := r.Content()
			if tt.image {
				assert.Len(t, content, 1)
				assert.IsType(t, mcp.ImageContent{}, content[0])
			} else {
				assert.Empty(t, content)
			}
		})
	}
}
