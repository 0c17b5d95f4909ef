package hfapi

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The API adds fields over time and the models here must never drop them: every modelled object keeps
// the members it does not know in Extra and remembers which known members were present (and whether they
// were null), so that decoding then encoding a response reproduces it. decodeObject/encodeObject do this
// generically from the json tags of the struct.

// presence records which known members a decoded object had, and which of them were JSON null, as
// bits indexed by the member's position in fieldsOf. decoded is false for a constructed object.
type presence struct {
	decoded       bool
	present, null uint64
}

func (p presence) has(i int) (wasNull, present bool) {
	return p.null&(1<<i) != 0, p.present&(1<<i) != 0
}

func (p *presence) set(i int, null bool) {
	p.present |= 1 << i
	if null {
		p.null |= 1 << i
	}
}

func (p *presence) clear(i int) { p.present, p.null = p.present&^(1<<i), p.null&^(1<<i) }

// maxFields is how many tagged members a modelled struct may have: presence holds one bit each.
const maxFields = 64

type fieldInfo struct {
	name      string
	quoted    []byte // the name as a JSON string
	index     int
	omitEmpty bool
}

// typeInfo is what the codec needs of a modelled struct: its tagged fields and their positions by name.
type typeInfo struct {
	fields []fieldInfo
	byName map[string]int
}

var typeCache sync.Map // reflect.Type → *typeInfo

func typeOf(t reflect.Type) *typeInfo {
	if v, ok := typeCache.Load(t); ok {
		return v.(*typeInfo)
	}
	ti := &typeInfo{byName: map[string]int{}}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" || tag == "" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		quoted, _ := json.Marshal(name)
		ti.byName[name] = len(ti.fields)
		ti.fields = append(ti.fields, fieldInfo{name: name, quoted: quoted, index: i,
			omitEmpty: strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")})
	}
	if len(ti.fields) > maxFields {
		panic(fmt.Sprintf("hfapi: %s has %d JSON members; the codec handles at most %d", t, len(ti.fields), maxFields))
	}
	typeCache.Store(t, ti)
	return ti
}

// object is a modelled API object: it keeps the members it does not model, and which known ones
// were present. Every modelled type implements it, and UnmarshalJSON through decodeObject.
type object interface {
	members() (*map[string]json.RawMessage, *presence)
}

var objectType = reflect.TypeFor[object]()

// decodeObject fills the tagged fields of obj from a JSON object in one pass over data: each member's
// value is read once, straight into its field, and nested modelled objects are decoded in the same
// pass. Members that are unknown, or whose value does not fit the modelled type, go to Extra
// unchanged (a client must be lenient). When a member repeats, the last one counts, as with
// encoding/json.
func decodeObject(data []byte, obj object) error {
	s := scanner{data: data}
	s.skipSpace()
	if s.literal("null") {
		return s.end()
	}
	if err := s.object(reflect.ValueOf(obj).Elem(), obj); err != nil {
		return err
	}
	return s.end()
}

// object decodes the JSON object at the scanner's position into v (the value obj points to).
func (s *scanner) object(v reflect.Value, obj object) error {
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		return s.errorf("want a JSON object")
	}
	ti := typeOf(v.Type())
	v.SetZero()
	extra, seen := obj.members()
	*seen = presence{decoded: true} // decoded: absent members stay absent when encoded
	return s.members(func(key []byte) error { return s.member(v, ti, key, extra, seen) })
}

// member reads the value at the scanner's position into the field named by the key token rawKey,
// or keeps it in extra when the name is unknown or the value does not fit.
func (s *scanner) member(v reflect.Value, ti *typeInfo, rawKey []byte, extra *map[string]json.RawMessage, seen *presence) error {
	i, known := -1, false
	var name string
	if inner, plain := plainString(rawKey); plain {
		i, known = ti.byName[string(inner)]
		if !known {
			name = string(inner)
		}
	} else if err := json.Unmarshal(rawKey, &name); err != nil {
		return err
	} else {
		i, known = ti.byName[name]
	}
	start := s.pos
	if known {
		f := ti.fields[i]
		name = f.name
		field := v.Field(f.index)
		field.SetZero() // a repeated member replaces, never merges
		seen.clear(i)
		if _, was := (*extra)[name]; was {
			delete(*extra, name)
			if len(*extra) == 0 {
				*extra = nil
			}
		}
		fits, err := s.field(field)
		if err != nil {
			return err
		}
		if fits {
			seen.set(i, isNull(s.data[start:s.pos]))
			return nil
		}
		field.SetZero() // partial decode of a misfit value must not leak
	} else if err := s.skipValue(0); err != nil {
		return err
	}
	if *extra == nil {
		*extra = map[string]json.RawMessage{}
	}
	(*extra)[name] = append(json.RawMessage(nil), s.data[start:s.pos]...)
	return nil
}

// field reads the value at the scanner's position into field and reports whether it fitted. A
// modelled object is decoded in place; any other value is located, then decoded by decodeValue.
// The error is for malformed JSON only.
func (s *scanner) field(field reflect.Value) (fits bool, err error) {
	t := field.Type()
	nested := t.Kind() == reflect.Struct && reflect.PointerTo(t).Implements(objectType) ||
		t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct && t.Implements(objectType)
	if nested && s.pos < len(s.data) && s.data[s.pos] == '{' {
		target := field
		if t.Kind() == reflect.Pointer {
			target = reflect.New(t.Elem()).Elem()
		}
		if err := s.object(target, target.Addr().Interface().(object)); err != nil {
			return false, err
		}
		if t.Kind() == reflect.Pointer {
			field.Set(target.Addr())
		}
		return true, nil
	}
	start := s.pos
	if err := s.skipValue(0); err != nil {
		return false, err
	}
	return decodeValue(field, s.data[start:s.pos]) == nil, nil
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// decodeValue decodes one JSON value (already checked to be well-formed) into field as
// json.Unmarshal would, without scanning it again where it can: strings, integers and booleans
// directly, modelled objects through their own UnmarshalJSON; anything else through encoding/json.
func decodeValue(field reflect.Value, val []byte) error {
	switch {
	case field.Kind() == reflect.Pointer && isNull(val):
		return nil // stays nil
	case field.Kind() == reflect.Pointer:
		elem := reflect.New(field.Type().Elem())
		if err := decodeValue(elem.Elem(), val); err != nil {
			return err
		}
		field.Set(elem)
		return nil
	case field.Addr().Type().Implements(unmarshalerType):
		return field.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(val)
	case field.Kind() == reflect.String && !field.Addr().Type().Implements(textUnmarshalerType):
		if inner, plain := plainString(val); plain {
			field.SetString(string(inner))
			return nil
		}
	case field.CanInt():
		if n, ok := plainInt(val); ok && !field.OverflowInt(n) {
			field.SetInt(n)
			return nil
		}
	case field.CanFloat():
		if len(val) > 0 && (val[0] == '-' || val[0] >= '0' && val[0] <= '9') {
			if f, err := strconv.ParseFloat(string(val), field.Type().Bits()); err == nil {
				field.SetFloat(f)
				return nil
			}
		}
	case field.Kind() == reflect.Bool:
		switch string(val) {
		case "true", "false":
			field.SetBool(val[0] == 't')
			return nil
		}
	}
	return json.Unmarshal(val, field.Addr().Interface())
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

func isNull(val []byte) bool { return string(val) == "null" }

// plainString returns the text of a JSON string token that needs no unescaping: printable ASCII
// without backslashes (anything else is left to encoding/json).
func plainString(tok []byte) ([]byte, bool) {
	if len(tok) < 2 || tok[0] != '"' || tok[len(tok)-1] != '"' {
		return nil, false
	}
	inner := tok[1 : len(tok)-1]
	for _, c := range inner {
		if c < 0x20 || c >= 0x80 || c == '\\' || c == '"' {
			return nil, false
		}
	}
	return inner, true
}

// plainInt parses a JSON number token that is a plain integer of at most 18 digits.
func plainInt(tok []byte) (int64, bool) {
	neg := len(tok) > 0 && tok[0] == '-'
	digits := tok
	if neg {
		digits = tok[1:]
	}
	if len(digits) == 0 || len(digits) > 18 || (digits[0] == '0' && len(digits) > 1) {
		return 0, false
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// encodeObject writes the tagged fields of the struct ptr points to, in declaration order, then extra
// members in key order. For a decoded object a field is written when it was present in the input (as
// null if it was null and is still empty) or has been set since; for a constructed object the usual
// omitempty rule applies, so fields without omitempty (those clients require) are always written.
func encodeObject(ptr any, extra map[string]json.RawMessage, seen presence) ([]byte, error) {
	v := reflect.ValueOf(ptr).Elem()
	ti := typeOf(v.Type())
	var buf bytes.Buffer
	buf.WriteByte('{')
	var written uint64 // bit i: field i was written
	write := func(quotedKey, val []byte) {
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		buf.Write(quotedKey)
		buf.WriteByte(':')
		buf.Write(val)
	}
	for i, f := range ti.fields {
		fv := v.Field(f.index)
		wasNull, present := seen.has(i)
		rawExtra, inExtra := extra[f.name]
		switch {
		case present && wasNull && isEmptyValue(fv):
			write(f.quoted, []byte("null"))
		case !present && inExtra && isEmptyValue(fv):
			write(f.quoted, rawExtra)
		case !present && seen.decoded && isEmptyValue(fv):
			// absent from the decoded input and still unset: keep it absent
			continue
		case present || !f.omitEmpty || !isEmptyValue(fv):
			b, err := json.Marshal(fv.Interface())
			if err != nil {
				return nil, fmt.Errorf("encode %q: %w", f.name, err)
			}
			write(f.quoted, b)
		default:
			continue
		}
		written |= 1 << i
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		if i, ok := ti.byName[k]; !ok || written&(1<<i) == 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		quoted, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		write(quoted, extra[k])
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Map, reflect.Slice, reflect.String, reflect.Array:
		return v.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	default:
		return v.IsZero()
	}
}

// decodeList reads a list response, {"items": [endpoint, …]}, in one pass: json.Unmarshal would check
// the whole body, then scan each endpoint again to find its end before decoding it.
func decodeList(data []byte) (items []Endpoint, err error) {
	err = scanList(data, func(s *scanner) (err error) {
		items, err = s.endpoints()
		return err
	})
	return items, err
}

// splitList returns the items of a list response as the API sent them (parts of data), checked to
// be well-formed JSON but not decoded.
func splitList(data []byte) (items []json.RawMessage, err error) {
	err = scanList(data, func(s *scanner) error {
		items = nil
		if s.literal("null") {
			return nil
		}
		items = []json.RawMessage{}
		return s.array(func() error {
			start := s.pos
			err := s.skipValue(0)
			items = append(items, data[start:s.pos])
			return err
		})
	})
	return items, err
}

// scanList walks a list response object, calling items with the scanner at the value of its "items"
// member (matched without regard to case, as encoding/json does; the last one counts). Other members
// are checked and skipped.
func scanList(data []byte, items func(s *scanner) error) error {
	s := scanner{data: data}
	s.skipSpace()
	if s.literal("null") {
		return s.end()
	}
	err := s.members(func(rawKey []byte) error {
		var key string
		if inner, plain := plainString(rawKey); plain {
			key = string(inner)
		} else if err := json.Unmarshal(rawKey, &key); err != nil {
			return err
		}
		if strings.EqualFold(key, "items") {
			return items(&s)
		}
		return s.skipValue(0)
	})
	if err != nil {
		return err
	}
	return s.end()
}

// endpoints reads an array of endpoints (or null) at the scanner's position.
func (s *scanner) endpoints() ([]Endpoint, error) {
	if s.literal("null") {
		return nil, nil
	}
	items := []Endpoint{}
	err := s.array(func() error {
		items = append(items, Endpoint{})
		ep := &items[len(items)-1]
		if s.literal("null") {
			return nil
		}
		return s.object(reflect.ValueOf(ep).Elem(), ep)
	})
	return items, err
}
