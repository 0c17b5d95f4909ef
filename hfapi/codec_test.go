package hfapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refDecode is the codec's former decoder, kept as the reference the one-pass decoder must agree
// with: the object is read into a map of raw members, then each member is decoded on its own.
// Nested modelled objects (direct, behind a pointer, or in a slice) go through refDecode too, so
// that no level of the comparison uses the decoder under test.
func refDecode(data []byte, v reflect.Value) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	v.SetZero()
	ti := typeOf(v.Type())
	var extra map[string]json.RawMessage
	seen := presence{decoded: true}
	for key, val := range raw {
		if i, ok := ti.byName[key]; ok {
			field := v.Field(ti.fields[i].index)
			if refValue(field, val) == nil {
				seen.set(i, isNull(bytes.TrimSpace(val)))
				continue
			}
			field.SetZero()
		}
		if extra == nil {
			extra = map[string]json.RawMessage{}
		}
		extra[key] = append(json.RawMessage(nil), val...)
	}
	v.FieldByName("Extra").Set(reflect.ValueOf(extra))
	s := v.FieldByName("seen")
	reflect.NewAt(s.Type(), unsafe.Pointer(s.UnsafeAddr())).Elem().Set(reflect.ValueOf(seen))
	return nil
}

func modelled(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	_, ok := t.FieldByName("seen")
	return ok
}

func refValue(field reflect.Value, val []byte) error {
	t := field.Type()
	switch {
	case modelled(t):
		return refDecode(val, field)
	case t.Kind() == reflect.Pointer && modelled(t.Elem()):
		if isNull(val) {
			return nil
		}
		elem := reflect.New(t.Elem())
		if err := refDecode(val, elem.Elem()); err != nil {
			return err
		}
		field.Set(elem)
		return nil
	case t.Kind() == reflect.Slice && modelled(t.Elem()):
		var items []json.RawMessage
		if err := json.Unmarshal(val, &items); err != nil || items == nil {
			return err
		}
		out := reflect.MakeSlice(t, len(items), len(items))
		for i, item := range items {
			if err := refDecode(item, out.Index(i)); err != nil {
				return err
			}
		}
		field.Set(out)
		return nil
	}
	return json.Unmarshal(val, field.Addr().Interface())
}

// checkAgainstReference decodes data with the codec and with the reference, and requires the same
// outcome: both fail, or both give deeply equal values (fields, Extra and presence alike).
func checkAgainstReference[T any](t *testing.T, data []byte) {
	t.Helper()
	var got, want T
	gotErr := json.Unmarshal(data, &got)
	wantErr := error(nil)
	if !json.Valid(data) {
		wantErr = json.Unmarshal(data, new(any))
	} else {
		wantErr = refDecode(data, reflect.ValueOf(&want).Elem())
	}
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("decode of %q: error %v, reference error %v", data, gotErr, wantErr)
	}
	if gotErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("decode of %q differs from the reference:\n got  %#v\n want %#v", data, got, want)
	}
}

// codecEdgeCases are inputs where a decoder could go wrong: repeated members, values that do not
// fit their field, escapes, non-ASCII, nulls at every level, numbers of every shape, bad syntax.
var codecEdgeCases = []string{
	`{}`, `null`, ` null `, `[]`, `"x"`, `7`, `{"name":1}`, `{"name":"a","name":"b"}`, `{"name":"a","name":2}`,
	`{"name":2,"name":"a"}`, `{"tags":["a"],"tags":["b"]}`, `{"status":{"state":"running"},"status":{"message":"m"}}`,
	`{"name":"a\"b\\c\u00e9\n"}`, `{"na\u006de":"x"}`, `{"nämé":"x","name":"é"}`, `{"name":"\ud800"}`, "{\"name\":\"\xff\"}",
	`{"name":null,"route":null,"provider":null,"compute":{"scaling":null},"model":{"image":null,"revision":null}}`,
	`{"compute":{"scaling":{"minReplica":1.0,"maxReplica":-0,"scaleToZeroTimeout":1e2}}}`,
	`{"compute":{"scaling":{"minReplica":99999999999999999999,"maxReplica":-9223372036854775808}}}`,
	`{"compute":{"scaling":{"measure":{"x":1.5e-3,"y":null},"minReplica":"1"}}}`,
	`{"cacheHttpResponses":true,"route":{"domain":"d","path":false},"type":true}`,
	`{"status":{"createdAt":7,"updatedAt":"not a time","readyReplica":true,"createdBy":[]}}`,
	`{"experimentalFeatures":null,"privateService":{"a":[1,{"b":null}]},"model":{"image":{"x":1}}}`,
	`{"model":{"image":{"custom":{"url":"u","credentials":{"username":"u","password":"p","k":[]}}}}}`,
	`{"model":{"image":{"tgi":{"url":"u","tensorParallelSize":null,"disableCustomKernels":"no"}}}}`,
	`{"name":"a",}`, `{"name" "a"}`, `{"name":"a"`, `{"name":01}`, `{"name":-}`, `{"name":1.}`, `{"name":"\x"}`,
	`{"name":tru}`, `{"name":"a"} x`, `{name:"a"}`, `{"a":[1,2,]}`, `{"a":{"b":1,}}`,
}

func TestDecodeMatchesReference(t *testing.T) {
	for _, c := range codecEdgeCases {
		checkAgainstReference[Endpoint](t, []byte(c))
	}
	for _, name := range []string{"ie-endpoint-pending.json", "ie-endpoint-running.json", "ie-endpoint-failed.json",
		"ie-endpoint-updating.json", "ie-create-request-custom-router-doc.json", "ie-catalog-deploy-response.json",
		"hfhub-captured-create-request.json"} {
		checkAgainstReference[Endpoint](t, fixture(t, name))
	}
	var list struct{ Items []json.RawMessage }
	require.NoError(t, json.Unmarshal(fixture(t, "ie-list-response-2022-apiref.json"), &list))
	require.NotEmpty(t, list.Items)
	for _, item := range list.Items {
		checkAgainstReference[Endpoint](t, item)
	}
	checkAgainstReference[Whoami](t, []byte(`{"type":"user","name":"n","orgs":[{"name":"o","x":1},{"name":2}],"auth":{}}`))
	var hardware struct{ Vendors []json.RawMessage }
	require.NoError(t, json.Unmarshal(fixture(t, "ie-provider-hardware-list.json"), &hardware))
	require.NotEmpty(t, hardware.Vendors)
	for _, vendor := range hardware.Vendors {
		checkAgainstReference[Vendor](t, vendor)
	}
}

// FuzzDecodeMatchesReference checks the one-pass decoder against the reference on any input.
func FuzzDecodeMatchesReference(f *testing.F) {
	for _, c := range codecEdgeCases {
		f.Add([]byte(c))
	}
	for _, name := range []string{"ie-endpoint-pending.json", "ie-endpoint-running.json", "ie-create-request-custom-router-doc.json"} {
		f.Add(fixtureBytes(name))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkAgainstReference[Endpoint](t, data) })
}

func TestRepeatedMemberLastWins(t *testing.T) {
	var ep Endpoint
	require.NoError(t, json.Unmarshal([]byte(`{"name":"a","type":"public","name":7}`), &ep))
	assert.Empty(t, ep.Name, "the misfit last value replaces the first")
	assert.JSONEq(t, `7`, string(ep.Extra["name"]))
	out, err := json.Marshal(ep)
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":7,"type":"public"}`, string(out))
}

func TestDecodeRejectsMalformedObjects(t *testing.T) {
	for _, bad := range []string{`{"name":"a",}`, `{"name":"a"} x`, `{"a":[1,}`, `{"a":"\q"}`, `{"a":01}`, `{`, `[1]`} {
		var ep Endpoint
		err := ep.UnmarshalJSON([]byte(bad))
		assert.Error(t, err, "%s", bad)
	}
}

// checkListAgainstStdlib requires decodeList and splitList to agree with json.Unmarshal of the page
// structs they replace: both fail, or both give deeply equal items.
func checkListAgainstStdlib(t *testing.T, data []byte) {
	t.Helper()
	var want struct {
		Items []Endpoint `json:"items"`
	}
	wantErr := json.Unmarshal(data, &want)
	got, gotErr := decodeList(data)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("list %q: error %v, encoding/json error %v", data, gotErr, wantErr)
	}
	if gotErr == nil && !reflect.DeepEqual(got, want.Items) {
		t.Fatalf("list %q differs from encoding/json:\n got  %#v\n want %#v", data, got, want.Items)
	}
	var wantRaw struct {
		Items []json.RawMessage `json:"items"`
	}
	wantErr = json.Unmarshal(data, &wantRaw)
	gotRaw, gotErr := splitList(data)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("split %q: error %v, encoding/json error %v", data, gotErr, wantErr)
	}
	if gotErr == nil && !reflect.DeepEqual(gotRaw, wantRaw.Items) {
		t.Fatalf("split %q differs from encoding/json:\n got  %q\n want %q", data, gotRaw, wantRaw.Items)
	}
}

var listEdgeCases = []string{
	`{"items":[]}`, `{}`, `null`, `{"items":null}`, `{"Items":[{"name":"a"}]}`, `{"ITEMS":[{"name":"a"}],"items":[{"name":"b"}]}`,
	`{"items":[null,{"name":"a"}]}`, `{"items":[7]}`, `{"items":{}}`, `{"items":[{"name":"a"}],"next":"c","total":[1,{}]}`,
	`{"items":[{"name":"a"},]}`, `{"items":[{"name":"a"}]`, `{"items":[{"name":"a"}]} x`, `[]`, `{"it\u0065ms":[{"name":"a"}]}`,
	`{"items":[{"name":"a","status":{"state":"running","createdAt":"2024-01-01T00:00:00Z"}}],"items":[]}`,
}

func TestDecodeListMatchesEncodingJSON(t *testing.T) {
	for _, c := range listEdgeCases {
		checkListAgainstStdlib(t, []byte(c))
	}
	checkListAgainstStdlib(t, fixture(t, "ie-list-response-2022-apiref.json"))
	checkListAgainstStdlib(t, listOf(t, 20))
}

// FuzzDecodeListMatchesEncodingJSON checks the one-pass list decoder against encoding/json on any input.
func FuzzDecodeListMatchesEncodingJSON(f *testing.F) {
	for _, c := range listEdgeCases {
		f.Add([]byte(c))
	}
	f.Add(fixtureBytes("ie-list-response-2022-apiref.json"))
	f.Fuzz(func(t *testing.T, data []byte) { checkListAgainstStdlib(t, data) })
}
