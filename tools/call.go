package tools

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/invopop/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// JSONValue is any JSON value, kept as its text.
type JSONValue json.RawMessage

// UnmarshalJSON keeps the value's text.
func (v *JSONValue) UnmarshalJSON(b []byte) error {
	*v = append((*v)[:0], b...)
	return nil
}

// MarshalJSON writes the value back as it came.
func (v JSONValue) MarshalJSON() ([]byte, error) {
	if len(v) == 0 {
		return []byte("null"), nil
	}
	return v, nil
}

// JSONSchema accepts any value.
func (JSONValue) JSONSchema() *jsonschema.Schema { return &jsonschema.Schema{} }

// CallInput is call_endpoint's input.
type CallInput struct {
	Target
	Path    string    `json:"path,omitempty" jsonschema_description:"Default /."`
	Payload JSONValue `json:"payload"`
	Accept  string    `json:"accept,omitempty"`
}

// Validate keeps the request on the endpoint's own URL.
func (in CallInput) Validate() error { return hfapi.ValidateCallPath(in.Path) }

// CallResult is an endpoint's answer: JSON as is, anything else described.
type CallResult struct {
	Status      int       `json:"status"`
	ContentType string    `json:"content_type"`
	Bytes       int       `json:"bytes"`
	JSON        JSONValue `json:"json,omitempty"`
	Text        string    `json:"text,omitempty"` // the start of a text answer that is not JSON
	image       []byte
}

// Summary is the JSON (cut to a readable size), or what the answer is.
func (r CallResult) Summary() string {
	switch {
	case len(r.JSON) > 0:
		return tail(string(r.JSON), 4000)
	case r.image != nil:
		return fmt.Sprintf("%s image, %d bytes (attached)", r.ContentType, r.Bytes)
	case r.Text != "":
		return fmt.Sprintf("%s, %d bytes: %s", r.ContentType, r.Bytes, r.Text)
	}
	return fmt.Sprintf("%s, %d bytes (binary, not shown)", r.ContentType, r.Bytes)
}

// Content attaches an image answer.
func (r CallResult) Content() []mcp.Content {
	if r.image == nil {
		return nil
	}
	return []mcp.Content{mcp.NewImageContent(base64.StdEncoding.EncodeToString(r.image), r.ContentType)}
}

// Limits of what a call returns: JSON up to maxCallJSON goes into structured content, text answers
// are shown by their first textPrefix bytes.
const (
	maxCallJSON = 1 << 20
	textPrefix  = 500
)

var callEndpoint = Tool{
	Name:  "call_endpoint",
	Title: "Call endpoint",
	Description: `POST any JSON to an endpoint, for tasks without a tool (classification, reranking, custom containers). ` +
		`Example: {"endpoint_name": "my-cls", "payload": {"inputs": "I love it"}}`,
	Toolset: Inference,
	Hints:   inferenceHints,
	Handler: Handle(func(ctx context.Context, call *Call, in CallInput) (CallResult, error) {
		ep, err := servable(ctx, call, in.Target)
		if err != nil {
			return CallResult{}, err
		}
		opts, stop := inferenceOptions(ctx, call, in.Target, ep)
		defer stop()
		opts.Accept = in.Accept
		resp, err := call.Client.Call(ctx, ep, "POST", in.Path, json.RawMessage(in.Payload), opts)
		if err != nil {
			return CallResult{}, err
		}
		return callResult(resp), nil
	}),
}

// callResult describes an answer by its content type: JSON is kept, an image attached, text cut.
func callResult(resp *hfapi.RawResponse) CallResult {
	ct := resp.Header.Get("Content-Type")
	media, _, _ := mime.ParseMediaType(ct)
	out := CallResult{Status: resp.Status, ContentType: ct, Bytes: len(resp.Body)}
	if out.ContentType == "" {
		out.ContentType = "application/octet-stream"
	}
	body := resp.Body
	switch {
	case (media == "application/json" || strings.HasSuffix(media, "+json")) && json.Valid(body) && len(body) <= maxCallJSON:
		out.JSON = JSONValue(body)
	case strings.HasPrefix(media, "image/"):
		out.image = body
	case strings.HasPrefix(media, "text/") || media == "application/json" || utf8.Valid(body) && media == "":
		out.Text = cutText(string(body), textPrefix)
	}
	return out
}

// cutText keeps the first n bytes of s on a rune boundary, marking the cut.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
