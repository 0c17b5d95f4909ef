package tools

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/invopop/jsonschema"
)

// inputSchema is what argument checking needs of a tool's input schema
// (and, when reflected with reflectInput, the schema's JSON).
type inputSchema struct {
	raw      json.RawMessage
	props    []string // property names in declaration order
	required []string
	kinds    map[string]string             // property name → JSON type, for error messages
	checks   map[string]*jsonschema.Schema // properties with enum, bounds or minItems
}

// reflector builds schemas inline (no $ref/$defs) so each tool's schema
// stands alone, and makes every object reject unknown properties.
func reflector() *jsonschema.Reflector {
	return &jsonschema.Reflector{ExpandedStruct: true, DoNotReference: true, Anonymous: true}
}

// reflectSchema reflects t into a compact object schema: no $schema or $id,
// additionalProperties false.
func reflectSchema(t reflect.Type) (*jsonschema.Schema, error) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s is not a struct: MCP schemas must describe objects", t)
	}
	s := reflector().ReflectFromType(t)
	s.Version = ""
	s.ID = ""
	if s.Type != "object" {
		return nil, fmt.Errorf("%s reflected to type %q, want object", t, s.Type)
	}
	s.AdditionalProperties = jsonschema.FalseSchema
	if s.Properties == nil {
		s.Properties = jsonschema.NewProperties()
	}
	return s, nil
}

// reflectInput reflects an arguments type: its schema as JSON, and what
// argument checking needs.
func reflectInput(t reflect.Type) (*inputSchema, error) {
	s, err := reflectSchema(t)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	in := checksOf(s)
	in.raw = raw
	return in, nil
}

// argumentChecks reflects what argument checking needs from an arguments
// type, without the schema's JSON (which tools/list already has).
func argumentChecks(t reflect.Type) (*inputSchema, error) {
	s, err := reflectSchema(t)
	if err != nil {
		return nil, err
	}
	return checksOf(s), nil
}

func checksOf(s *jsonschema.Schema) *inputSchema {
	in := &inputSchema{required: s.Required, kinds: map[string]string{}, checks: map[string]*jsonschema.Schema{}}
	for pair := s.Properties.Oldest(); pair != nil; pair = pair.Next() {
		in.props = append(in.props, pair.Key)
		in.kinds[pair.Key] = describeType(pair.Value)
		if p := pair.Value; len(p.Enum) > 0 || p.Minimum != "" || p.Maximum != "" || p.MinItems != nil {
			in.checks[pair.Key] = p
		}
	}
	return in
}

// reflectOutput reflects a result type. Output schemas describe shape only:
// "required" lists and nested additionalProperties are dropped, which keeps
// tools/list small (endpoint results repeat in many tools).
func reflectOutput(t reflect.Type) (json.RawMessage, error) {
	s, err := reflectSchema(t)
	if err != nil {
		return nil, err
	}
	loosen(s)
	s.AdditionalProperties = jsonschema.FalseSchema
	return json.Marshal(s)
}

func loosen(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	s.Required = nil
	s.AdditionalProperties = nil
	loosen(s.Items)
	if s.Properties != nil {
		for pair := s.Properties.Oldest(); pair != nil; pair = pair.Next() {
			loosen(pair.Value)
		}
	}
}

// describeType names a property's JSON type for an error message.
func describeType(s *jsonschema.Schema) string {
	switch {
	case s == nil:
		return "any value"
	case s.Type == "array" && s.Items != nil && s.Items.Type != "":
		return "an array of " + s.Items.Type + "s"
	case s.Type != "":
		return article(s.Type) + " " + s.Type
	case len(s.AnyOf) > 0 || len(s.OneOf) > 0:
		var names []string
		for _, alt := range append(append([]*jsonschema.Schema{}, s.AnyOf...), s.OneOf...) {
			names = append(names, describeType(alt))
		}
		return strings.Join(names, " or ")
	}
	return "any value"
}

func article(word string) string {
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// ArgumentError is a call whose arguments do not fit the tool's input schema.
type ArgumentError struct {
	Tool string
	Msg  string
}

func (e *ArgumentError) Error() string { return "invalid arguments for " + e.Tool + ": " + e.Msg }

// Validator is implemented by input structs with checks a schema cannot express.
type Validator interface {
	Validate() error
}

// decodeArgs checks args against the schema (object, known names, required
// present, types) and decodes them into dst. Messages name what was wrong and
// what would be right.
func decodeArgs(args json.RawMessage, schema *inputSchema, dst any) error {
	fields := map[string]json.RawMessage{}
	if trimmed := strings.TrimSpace(string(args)); trimmed != "" && trimmed != "null" {
		if err := json.Unmarshal(args, &fields); err != nil {
			return &ArgumentError{Msg: "arguments must be a JSON object with " + schema.validNames()}
		}
	}
	var unknown []string
	for name := range fields {
		if _, ok := schema.kinds[name]; !ok {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return &ArgumentError{Msg: fmt.Sprintf("unknown argument %s; %s", quoteAll(unknown), schema.validNames())}
	}
	for _, name := range schema.required {
		if v, ok := fields[name]; !ok || string(v) == "null" {
			return &ArgumentError{Msg: fmt.Sprintf("missing required argument %q (%s)", name, schema.kinds[name])}
		}
	}
	if len(fields) > 0 {
		if err := json.Unmarshal(args, dst); err != nil {
			return &ArgumentError{Msg: typeErrorMessage(err, schema)}
		}
	}
	for _, name := range schema.props {
		p, constrained := schema.checks[name]
		if raw, ok := fields[name]; ok && constrained && string(raw) != "null" {
			if msg := checkConstraints(name, p, raw); msg != "" {
				return &ArgumentError{Msg: msg}
			}
		}
	}
	if v, ok := dst.(Validator); ok {
		if err := v.Validate(); err != nil {
			return &ArgumentError{Msg: err.Error()}
		}
	}
	return nil
}

func typeErrorMessage(err error, schema *inputSchema) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		top, _, _ := strings.Cut(typeErr.Field, ".")
		return fmt.Sprintf("argument %q must be %s, got %s", typeErr.Field, schema.kinds[top], typeErr.Value)
	}
	return err.Error()
}

func (s *inputSchema) validNames() string {
	if len(s.props) == 0 {
		return "this tool takes no arguments"
	}
	return "valid arguments are: " + strings.Join(s.props, ", ")
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// checkConstraints applies a property's enum, minimum, maximum and minItems
// to its (type-checked) value; it returns what is wrong, or "".
func checkConstraints(name string, p *jsonschema.Schema, raw json.RawMessage) string {
	if len(p.Enum) > 0 {
		var v any
		_ = json.Unmarshal(raw, &v)
		for _, allowed := range p.Enum {
			if v == allowed {
				return ""
			}
		}
		return fmt.Sprintf("argument %q must be one of %s; got %s", name, joinValues(p.Enum), raw)
	}
	if p.MinItems != nil {
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) == nil && uint64(len(items)) < *p.MinItems {
			return fmt.Sprintf("argument %q needs at least %d item(s)", name, *p.MinItems)
		}
	}
	var n float64
	if json.Unmarshal(raw, &n) != nil {
		return ""
	}
	if min, err := p.Minimum.Float64(); err == nil && n < min {
		return fmt.Sprintf("argument %q must be at least %s; got %s", name, p.Minimum, raw)
	}
	if max, err := p.Maximum.Float64(); err == nil && n > max {
		return fmt.Sprintf("argument %q must be at most %s; got %s", name, p.Maximum, raw)
	}
	return ""
}

func joinValues(values []any) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, ", ")
}
