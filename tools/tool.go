// Package tools defines every MCP tool of the server as one declarative value,
// the one generic wrapper that serves them through mcp-go, and their toolsets.
package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/progress"
)

// Hints are the four MCP tool annotations. Every tool value states all four,
// because mcp-go would otherwise default destructive and openWorld to true.
type Hints struct {
	ReadOnly    bool // does not modify its environment
	Destructive bool // may overwrite or remove state (only meaningful when not read-only)
	Idempotent  bool // repeating the call with the same arguments has no further effect
	OpenWorld   bool // interacts with an open set of entities (model inference)
}

// Tool is one MCP tool: what clients see, and the typed handler that serves it.
type Tool struct {
	Name        string
	Title       string
	Description string // what it does, and one example call
	Toolset     Toolset
	Hints       Hints
	Handler     Handler // built with Handle from a typed function
}

// Result is what every tool handler returns: structured content (the value
// itself, encoded as JSON) and a short text for humans.
type Result interface {
	Summary() string
}

// ExtraContent is implemented by results that carry more than text, such as
// text_to_image's PNG; the blocks follow the summary text.
type ExtraContent interface {
	Content() []mcp.Content
}

// Override is implemented by results that sometimes answer with a prepared
// MCP result instead of structured content, e.g. a multi round-trip "input
// required" result asking the user to confirm (server.NewInputRequestBuilder).
// A nil Override renders the result normally.
type Override interface {
	Override() *mcp.CallToolResult
}

// Deps is what all handlers share, given once when tools are bound to a server.
type Deps struct {
	// Client returns the API client for a call. It is a function so that the
	// client (or the emulator behind it) is only built when a tool first needs it.
	Client func(ctx context.Context) (*hfapi.Client, error)
	// Logger receives one debug line per call; nil discards.
	Logger *slog.Logger
	// Heartbeat is the progress heartbeat interval (progress.DefaultHeartbeat when 0).
	Heartbeat time.Duration
	// WaitPoll is the poll interval of waits started by "wait": true and of
	// wait_for_endpoint without poll_seconds (0 = hfapi's adaptive default).
	WaitPoll time.Duration
	// ConfirmWith is how deletes and costly actions are confirmed ("" = ConfirmAuto).
	ConfirmWith ConfirmMode
	// Changes hears of every endpoint a tool changed, so that resource subscribers learn of
	// it at once instead of at the next poll; nil publishes nothing.
	Changes ChangeSink
}

// ChangeSink is told about endpoints that tools changed or deleted (namespace "" is the
// caller's default namespace). Implementations must not block the tool.
type ChangeSink interface {
	Publish(ctx context.Context, namespace string, ep *hfapi.Endpoint)
	PublishRemoval(ctx context.Context, namespace, name string)
}

// Call is one tool invocation as its handler sees it.
type Call struct {
	Client    *hfapi.Client
	Logger    *slog.Logger
	Progress  *progress.Reporter // nil-safe; nil when the client sent no progressToken
	Heartbeat time.Duration
	WaitPoll  time.Duration
	// ConfirmWith is how this call asks for confirmations (see confirm.go).
	ConfirmWith ConfirmMode
	// Changes is Deps.Changes (nil publishes nothing); use changed and removed.
	Changes ChangeSink
	// Request is the raw MCP request, for handlers that need its _meta or, in
	// later protocol versions, the answers of a multi round-trip request.
	Request mcp.CallToolRequest
}

// Handler is a typed handler with its input and output types erased; build it
// with Handle.
type Handler struct {
	in, out reflect.Type
	// bind decodes and checks the arguments, returning the call to run.
	bind func(args json.RawMessage, schema *inputSchema) (func(context.Context, *Call) (Result, error), error)
}

// Handle turns a typed handler into a Handler. In is the arguments struct
// (its JSON Schema is the tool's input schema); Out the result struct (its
// schema is the output schema, its JSON the structured content).
func Handle[In any, Out Result](fn func(ctx context.Context, call *Call, in In) (Out, error)) Handler {
	return Handler{
		in:  reflect.TypeFor[In](),
		out: reflect.TypeFor[Out](),
		bind: func(args json.RawMessage, schema *inputSchema) (func(context.Context, *Call) (Result, error), error) {
			var in In
			if err := decodeArgs(args, schema, &in); err != nil {
				return nil, err
			}
			return func(ctx context.Context, call *Call) (Result, error) {
				noteDefaultNamespace(ctx, call, in)
				return fn(ctx, call, in)
			}, nil
		},
	}
}

// schemas holds a tool's schemas, built once per tool: both as JSON, as
// tools/list sends them, and what argument checking needs.
type schemas struct {
	input  json.RawMessage
	output json.RawMessage
	// arguments returns what argument checking needs. For a tool whose
	// schemas are embedded (schemas_embedded.go) it reflects the input type
	// on the tool's first call, not when tools/list is first answered.
	arguments func() (*inputSchema, error)
}

// schemaKey identifies a tool's schemas: its name and its two types.
type schemaKey struct {
	name    string
	in, out reflect.Type
}

var (
	schemaMu    sync.Mutex
	schemaCache = map[schemaKey]*schemas{}
)

// schemas returns (once) the tool's input and output schemas: the embedded
// copy when there is one for the tool's name and types, else reflected.
func (t Tool) schemas() (*schemas, error) {
	schemaMu.Lock()
	defer schemaMu.Unlock()
	key := schemaKey{t.Name, t.Handler.in, t.Handler.out}
	if s, ok := schemaCache[key]; ok {
		return s, nil
	}
	if t.Handler.bind == nil {
		return nil, fmt.Errorf("tool %s has no handler", t.Name)
	}
	s, ok := t.embeddedSchemas()
	if !ok {
		var err error
		if s, err = t.reflectSchemas(); err != nil {
			return nil, err
		}
	}
	schemaCache[key] = s
	return s, nil
}

// reflectSchemas reflects both schemas from the handler's types.
func (t Tool) reflectSchemas() (*schemas, error) {
	in, err := reflectInput(t.Handler.in)
	if err != nil {
		return nil, fmt.Errorf("tool %s input schema: %w", t.Name, err)
	}
	out, err := reflectOutput(t.Handler.out)
	if err != nil {
		return nil, fmt.Errorf("tool %s output schema: %w", t.Name, err)
	}
	return &schemas{input: in.raw, output: out, arguments: func() (*inputSchema, error) { return in, nil }}, nil
}

// embeddedSchemas returns the schemas that TestEmbeddedSchemasAreReflections
// wrote for this tool, if its name and both types are the ones they were
// reflected from. Reflecting all 18 tools allocates about 1 MB, which would
// grow the heap of every server that answers tools/list.
func (t Tool) embeddedSchemas() (*schemas, bool) {
	for _, e := range embeddedSchemas {
		if e.name != t.Name {
			continue
		}
		if e.in != typeName(t.Handler.in) || e.out != typeName(t.Handler.out) {
			return nil, false
		}
		inType, name := t.Handler.in, t.Name
		return &schemas{input: json.RawMessage(e.input), output: json.RawMessage(e.output),
			arguments: sync.OnceValues(func() (*inputSchema, error) {
				in, err := argumentChecks(inType)
				if err != nil {
					return nil, fmt.Errorf("tool %s input schema: %w", name, err)
				}
				return in, nil
			})}, true
	}
	return nil, false
}

// embeddedSchema is one tool's schemas as reflection wrote them, with the
// types they were reflected from.
type embeddedSchema struct {
	name, in, out string
	input, output string
}

// typeName names a type with its package path, e.g.
// *github.com/hf-endpoints-mcp/hf-endpoints-mcp/tools.EndpointResult.
func typeName(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		return "*" + typeName(t.Elem())
	}
	if t.Name() == "" {
		return t.String()
	}
	return t.PkgPath() + "." + t.Name()
}

// MCPTool returns the tool as mcp-go describes it to clients.
func (t Tool) MCPTool() (mcp.Tool, error) {
	s, err := t.schemas()
	if err != nil {
		return mcp.Tool{}, err
	}
	// NewToolWithRawSchema, not NewTool: NewTool sets a structured schema that
	// conflicts with a raw one at marshal time, and defaults two hints to true.
	tool := mcp.NewToolWithRawSchema(t.Name, t.Description, s.input)
	tool.Title = t.Title
	tool.RawOutputSchema = s.output
	tool.Annotations = mcp.ToolAnnotation{
		ReadOnlyHint:    mcp.ToBoolPtr(t.Hints.ReadOnly),
		DestructiveHint: mcp.ToBoolPtr(t.Hints.Destructive),
		IdempotentHint:  mcp.ToBoolPtr(t.Hints.Idempotent),
		OpenWorldHint:   mcp.ToBoolPtr(t.Hints.OpenWorld),
	}
	return tool, nil
}

// ServerTool binds the tool to deps and returns it ready for server.AddTools.
func (t Tool) ServerTool(deps Deps) (server.ServerTool, error) {
	tool, err := t.MCPTool()
	if err != nil {
		return server.ServerTool{}, err
	}
	if deps.Client == nil {
		return server.ServerTool{}, errors.New("tools: Deps.Client is required")
	}
	s, _ := t.schemas()
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return server.ServerTool{Tool: tool, Handler: t.serve(deps, logger, s)}, nil
}

// serve is the one place where a call becomes a result: arguments are
// decoded and checked, the client resolved, the handler run, and its outcome
// turned into structured content or an isError result with a next step.
func (t Tool) serve(deps Deps, logger *slog.Logger, s *schemas) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		start := time.Now()
		call := &Call{Logger: logger, Request: req, Heartbeat: deps.Heartbeat, WaitPoll: deps.WaitPoll,
			ConfirmWith: deps.ConfirmWith, Changes: deps.Changes, Progress: progress.FromRequest(ctx, req)}
		res, err := t.invoke(withClientLog(ctx), deps, call, rawArguments(req), s)
		result, fault := t.render(res, err)
		logger.LogAttrs(ctx, slog.LevelDebug, "tool call", slog.String("tool", t.Name),
			slog.Duration("took", time.Since(start)), slog.Bool("is_error", result != nil && result.IsError),
			slog.Bool("fault", fault != nil))
		return result, fault
	}
}

// invoke checks the arguments before anything else, so bad input is reported
// even when the client cannot be built.
func (t Tool) invoke(ctx context.Context, deps Deps, call *Call, args json.RawMessage, s *schemas) (Result, error) {
	in, err := s.arguments()
	if err != nil {
		return nil, &Fault{Err: err}
	}
	run, err := t.Handler.bind(args, in)
	if err != nil {
		return nil, err
	}
	client, err := deps.Client(ctx)
	if err != nil {
		return nil, &clientError{err: err}
	}
	call.Client = client
	return run(ctx, call)
}

// render turns a handler outcome into a tool result. Only programming faults
// (a Fault, no result at all, a result that cannot be encoded) become
// protocol errors; every other failure is an isError result.
func (t Tool) render(res Result, err error) (*mcp.CallToolResult, error) {
	if err != nil {
		var fault *Fault
		if errors.As(err, &fault) {
			return nil, fmt.Errorf("%s: %w", t.Name, fault)
		}
		return errorResult(t.Name, err), nil
	}
	if res == nil || reflect.ValueOf(res).Kind() == reflect.Pointer && reflect.ValueOf(res).IsNil() {
		return nil, fmt.Errorf("%s: handler returned no result and no error", t.Name)
	}
	if o, ok := res.(Override); ok {
		if prepared := o.Override(); prepared != nil {
			return prepared, nil
		}
	}
	structured, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("%s: encode result: %w", t.Name, err)
	}
	content := []mcp.Content{mcp.NewTextContent(res.Summary())}
	if extra, ok := res.(ExtraContent); ok {
		content = append(content, extra.Content()...)
	}
	// Both fields: the raw bytes go on the wire; middleware reading
	// StructuredContent in process sees the same JSON.
	return &mcp.CallToolResult{Content: content, RawStructuredContent: structured,
		StructuredContent: json.RawMessage(structured)}, nil
}

// Fault marks an error as a programming fault: it becomes a JSON-RPC error
// instead of an isError tool result.
type Fault struct{ Err error }

func (f *Fault) Error() string { return "internal error: " + f.Err.Error() }
func (f *Fault) Unwrap() error { return f.Err }

// rawArguments returns the call's arguments as JSON ("{}" when absent).
func rawArguments(req mcp.CallToolRequest) json.RawMessage {
	if len(req.Params.RawArguments) > 0 {
		return req.Params.RawArguments
	}
	if req.Params.Arguments == nil {
		return json.RawMessage("{}")
	}
	b, err := json.Marshal(req.Params.Arguments)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

// changed publishes an endpoint this call changed.
func (c *Call) changed(ctx context.Context, namespace string, ep *hfapi.Endpoint) {
	if c.Changes != nil && ep != nil {
		c.Changes.Publish(ctx, namespace, ep)
	}
}

// removed publishes an endpoint this call deleted.
func (c *Call) removed(ctx context.Context, namespace, name string) {
	if c.Changes != nil {
		c.Changes.PublishRemoval(ctx, namespace, name)
	}
}
