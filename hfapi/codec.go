package hfapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// The API adds fields over time and the models here must never drop them: every modelled object keeps
// the members it does not know in Extra and remembers which known members were present (and whether they
// were null), so that decoding then encoding a response reproduces it. decodeObject/encodeObject do this
// generically from the json tags of the struct.

// presence records which known members a decoded object had; the value says whether it was JSON null.
type presence map[string]bool

type fieldInfo struct {
	name      string
	index     int
	omitEmpty bool
}

var fieldCache sync.Map // reflect.Type → []fieldInfo

func fieldsOf(t reflect.Type) []fieldInfo {
	if v, ok := fieldCache.Load(t); ok {
		return v.([]fieldInfo)
	}
	var fs []fieldInfo
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" || tag == "" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fs = append(fs, fieldInfo{name: name, index: i,
			omitEmpty: strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")})
	}
	fieldCache.Store(t, fs)
	return fs
}

// decodeObject fills the tagged fields of *ptr from a JSON object. Members that are unknown, or whose
// value does not fit the modelled type, go to extra unchanged (a client must be lenient).
func decodeObject(data []byte, ptr any, extra *map[string]json.RawMessage, seen *presence) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, []byte("null")) {
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	v := reflect.ValueOf(ptr).Elem()
	v.SetZero()
	known := map[string]int{}
	for _, f := range fieldsOf(v.Type()) {
		known[f.name] = f.index
	}
	*extra, *seen = nil, presence{} // non-nil: the object came from JSON, so absent members stay absent
	for key, val := range raw {
		idx, ok := known[key]
		if ok && json.Unmarshal(val, v.Field(idx).Addr().Interface()) == nil {
			(*seen)[key] = bytes.Equal(bytes.TrimSpace(val), []byte("null"))
			continue
		}
		if ok {
			v.Field(idx).SetZero() // partial decode of a misfit value must not leak
		}
		if *extra == nil {
			*extra = map[string]json.RawMessage{}
		}
		(*extra)[key] = append(json.RawMessage(nil), val...)
	}
	return nil
}

// encodeObject writes the tagged fields of the struct ptr points to, in declaration order, then extra
// members in key order. For a decoded object a field is written when it was present in the input (as
// null if it was null and is still empty) or has been set since; for a constructed object the usual
// omitempty rule applies, so fields without omitempty (those clients require) are always written.
func encodeObject(ptr any, extra map[string]json.RawMessage, seen presence) ([]byte, error) {
	v := reflect.ValueOf(ptr).Elem()
	var buf bytes.Buffer
	buf.WriteByte('{')
	written := map[string]bool{}
	write := func(key string, val []byte) {
		if len(written) > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(val)
		written[key] = true
	}
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		wasNull, present := seen[f.name]
		rawExtra, inExtra := extra[f.name]
		switch {
		case present && wasNull && isEmptyValue(fv):
			write(f.name, []byte("null"))
		case !present && inExtra && isEmptyValue(fv):
			write(f.name, rawExtra)
		case !present && seen != nil && isEmptyValue(fv):
			// absent from the decoded input and still unset: keep it absent
		case present || !f.omitEmpty || !isEmptyValue(fv):
			b, err := json.Marshal(fv.Interface())
			if err != nil {
				return nil, fmt.Errorf("encode %q: %w", f.name, err)
			}
			write(f.name, b)
		}
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		if !written[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		write(k, extra[k])
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
