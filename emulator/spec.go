package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// specView is the typed view of the stored endpoint document used for validation and behaviour.
type specView struct {
	Name        string  `json:"name"`
	Type        string  `json:"type"`
	HealthRoute string  `json:"healthRoute"`
	AccountID   *string `json:"accountId"`
	Provider    struct {
		Vendor string `json:"vendor"`
		Region string `json:"region"`
	} `json:"provider"`
	Compute struct {
		Accelerator  string `json:"accelerator"`
		InstanceType string `json:"instanceType"`
		InstanceSize string `json:"instanceSize"`
		Scaling      struct {
			MinReplica         *int                `json:"minReplica"`
			MaxReplica         *int                `json:"maxReplica"`
			ScaleToZeroTimeout *int                `json:"scaleToZeroTimeout"`
			Measure            map[string]*float64 `json:"measure"`
		} `json:"scaling"`
	} `json:"compute"`
	Model struct {
		Repository string                     `json:"repository"`
		Framework  string                     `json:"framework"`
		Revision   *string                    `json:"revision"`
		Task       *string                    `json:"task"`
		Image      map[string]json.RawMessage `json:"image"`
		Env        map[string]string          `json:"env"`
		Secrets    map[string]string          `json:"secrets"`
		Command    []string                   `json:"command"`
		Args       []string                   `json:"args"`
	} `json:"model"`
	Tags []string `json:"tags"`
}

func (v *specView) minReplica() int { return derefOr(v.Compute.Scaling.MinReplica, 1) }
func (v *specView) maxReplica() int { return derefOr(v.Compute.Scaling.MaxReplica, 1) }
func (v *specView) task() string    { return derefOr(v.Model.Task, "") }

// idleMinutes is scaleToZeroTimeout, defaulting to the 15 minutes the real service uses.
func (v *specView) idleMinutes() int {
	if t := derefOr(v.Compute.Scaling.ScaleToZeroTimeout, 0); t > 0 {
		return t
	}
	return 15
}

// imageKind is the single key of model.image (huggingface, custom, tgi, tei, vLLM, …).
func (v *specView) imageKind() string {
	for k := range v.Model.Image {
		return k
	}
	return "huggingface"
}

func derefOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// Endpoint types accepted by the API; "protected" is the deprecated spelling of "authenticated".
var endpointTypes = []string{"public", "protected", "authenticated", "private"}

// imageKinds are the known model.image variants; unknown variants are refused so typos surface.
var imageKinds = []string{"huggingface", "huggingfaceNeuron", "custom", "tgi", "tgiNeuron", "tei", "llamacpp", "vLLM", "vLLMOmni", "vLLMNeuron", "sGLang", "hfServe"}

// validName applies the published name rule: lowercase a-z, 0-9 and '-', at most 32 characters,
// not starting or ending with '-'.
func validName(name string) error {
	if name == "" {
		return errors.New("name is required")
	}
	if len(name) > 32 || !nameChars(name) {
		return fmt.Errorf("name %q is invalid: use 1 to 32 characters among lowercase a-z, 0-9 and '-', not starting or ending with '-'", name)
	}
	return nil
}

// nameChars reports whether name uses only a-z, 0-9 and '-', and does not start or end with '-'.
func nameChars(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i > 0 && i < len(name)-1) {
			return false
		}
	}
	return true
}

const maxBody = 1 << 20

// decodeObject reads a JSON object body. Numbers stay json.Number so integers round-trip exactly.
func decodeObject(r *http.Request) (map[string]any, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("could not read the request body: %v", err)
	}
	if len(data) > maxBody {
		return nil, fmt.Errorf("request body is larger than %d bytes", maxBody)
	}
	return parseObject(data)
}

func parseObject(data []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("request body is not valid JSON: %v", err)
	}
	if dec.More() {
		return nil, errors.New("request body has data after the JSON object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("request body must be a JSON object, got %s", jsonKind(v))
	}
	return m, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}

// viewOf builds the typed view of a document, turning type mismatches into readable errors.
func viewOf(doc map[string]any) (specView, error) {
	var v specView
	data, err := json.Marshal(doc)
	if err != nil {
		return v, fmt.Errorf("request body could not be read: %v", err)
	}
	if err := json.Unmarshal(data, &v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return v, fmt.Errorf("%s must be %s, got %s", te.Field, goTypeName(te.Type.String()), te.Value)
		}
		return v, fmt.Errorf("request body does not match the endpoint schema: %v", err)
	}
	return v, nil
}

func goTypeName(t string) string {
	switch {
	case strings.Contains(t, "int"):
		return "an integer"
	case strings.Contains(t, "float"):
		return "a number"
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "map"), strings.HasPrefix(t, "struct"):
		return "an object"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	}
	return "of type " + t
}

// validateSpec checks a complete endpoint document, reporting every problem at once.
func validateSpec(v *specView) (*hardware, error) {
	var errs []string
	add := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if err := validName(v.Name); err != nil {
		errs = append(errs, err.Error())
	}
	if !slices.Contains(endpointTypes, v.Type) {
		add("type %q is invalid; valid types: %s", v.Type, strings.Join(endpointTypes, ", "))
	}
	required := []struct{ field, value string }{
		{"model.repository", v.Model.Repository}, {"model.framework", v.Model.Framework},
		{"provider.vendor", v.Provider.Vendor}, {"provider.region", v.Provider.Region},
		{"compute.accelerator", v.Compute.Accelerator}, {"compute.instanceType", v.Compute.InstanceType},
		{"compute.instanceSize", v.Compute.InstanceSize},
	}
	for _, f := range required {
		if f.value == "" {
			add("%s is required", f.field)
		}
	}
	validateScaling(v, add)
	validateImage(v, add)
	var hw *hardware
	if v.Provider.Vendor != "" && v.Provider.Region != "" && v.Compute.InstanceType != "" && v.Compute.InstanceSize != "" {
		h, err := lookupHardware(v.Provider.Vendor, v.Provider.Region, v.Compute.InstanceType, v.Compute.InstanceSize)
		switch {
		case err != nil:
			errs = append(errs, err.Error())
		case v.Compute.Accelerator != "" && v.Compute.Accelerator != h.Accelerator:
			add("compute.accelerator %q does not match instance type %s, which is %q", v.Compute.Accelerator, h.InstanceType, h.Accelerator)
		default:
			hw = h
			validateParallelism(v, h, add)
		}
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "; "))
	}
	return hw, nil
}

// maxReplicaLimit bounds maxReplica like the real service's UI.
const maxReplicaLimit = 100

func validateScaling(v *specView, add func(string, ...any)) {
	s := v.Compute.Scaling
	lo, hi := v.minReplica(), v.maxReplica()
	if lo < 0 {
		add("compute.scaling.minReplica must be >= 0, got %d", lo)
	}
	if hi < 1 || hi > maxReplicaLimit {
		add("compute.scaling.maxReplica must be between 1 and %d, got %d", maxReplicaLimit, hi)
	}
	if lo > hi {
		add("compute.scaling.minReplica (%d) must not exceed maxReplica (%d)", lo, hi)
	}
	if s.ScaleToZeroTimeout != nil && *s.ScaleToZeroTimeout < 1 {
		add("compute.scaling.scaleToZeroTimeout must be a positive number of minutes or null, got %d", *s.ScaleToZeroTimeout)
	}
	if len(s.Measure) > 1 {
		add("compute.scaling.measure must have one key (hardwareUsage or pendingRequests)")
	}
	for k, t := range s.Measure {
		if k != "hardwareUsage" && k != "pendingRequests" {
			add("compute.scaling.measure.%s is unknown; valid measures: hardwareUsage, pendingRequests", k)
		}
		if t != nil && *t < 0 {
			add("compute.scaling.measure.%s threshold must be >= 0 or null", k)
		}
	}
}

func validateImage(v *specView, add func(string, ...any)) {
	if len(v.Model.Image) != 1 {
		add("model.image must have exactly one key, one of: %s", strings.Join(imageKinds, ", "))
		return
	}
	for k, raw := range v.Model.Image {
		if !slices.Contains(imageKinds, k) {
			add("model.image.%s is unknown; valid images: %s", k, strings.Join(imageKinds, ", "))
			continue
		}
		var img struct {
			URL         *string `json:"url"`
			HealthRoute *string `json:"healthRoute"`
		}
		if err := json.Unmarshal(raw, &img); err != nil {
			add("model.image.%s must be an object with string url/healthRoute: %v", k, err)
			continue
		}
		if k == "custom" && (img.URL == nil || *img.URL == "") {
			add("model.image.custom.url is required (the container image to run)")
		}
		if img.HealthRoute != nil && !strings.HasPrefix(*img.HealthRoute, "/") {
			add("model.image.%s.healthRoute must start with '/'", k)
		}
	}
}

// validateParallelism checks the engine's tensorParallelSize and dataParallelSize: vLLM takes both,
// sGLang tensor parallelism only, other images neither; and their product must not exceed the
// accelerators of the instance, which vLLM would otherwise fail on at start-up.
func validateParallelism(v *specView, h *hardware, add func(string, ...any)) {
	for kind, raw := range v.Model.Image {
		var img struct {
			TP *int `json:"tensorParallelSize"`
			DP *int `json:"dataParallelSize"`
		}
		if json.Unmarshal(raw, &img) != nil || img.TP == nil && img.DP == nil {
			continue
		}
		switch {
		case kind != "vLLM" && kind != "sGLang":
			add("model.image.%s takes no tensorParallelSize or dataParallelSize; they are vLLM (both) and sGLang (tensorParallelSize) settings", kind)
			continue
		case kind == "sGLang" && img.DP != nil:
			add("model.image.sGLang.dataParallelSize is not an sGLang setting; use tensorParallelSize, or a vLLM image")
			continue
		}
		tp, dp := derefOr(img.TP, 1), derefOr(img.DP, 1)
		if tp < 1 || dp < 1 {
			add("model.image.%s tensorParallelSize and dataParallelSize must be at least 1", kind)
		} else if n := max(h.NumAccelerators, 1); tp*dp > n {
			add("model.image.%s tensorParallelSize (%d) × dataParallelSize (%d) needs %d accelerators; %s %s has %d", kind, tp, dp, tp*dp, h.InstanceType, h.InstanceSize, n)
		}
	}
}

// normalize fills the defaults the real service returns and the derived fields (compute.id,
// scaling.metric, top-level healthRoute). It never removes what the client sent.
func normalize(doc map[string]any) {
	delete(doc, "status")
	setDefault(doc, "type", "authenticated")
	setDefault(doc, "accountId", nil)
	setDefault(doc, "tags", []any{})
	model := objectAt(doc, "model")
	setDefault(model, "image", hfImage())
	setDefault(model, "revision", nil)
	if t, ok := model["task"]; !ok || t == nil || t == "" {
		repo, _ := model["repository"].(string)
		model["task"] = guessTask(repo)
	}
	compute := objectAt(doc, "compute")
	scaling := objectAt(compute, "scaling")
	setDefault(scaling, "minReplica", json.Number("1"))
	setDefault(scaling, "maxReplica", json.Number("1"))
	if m, ok := scaling["measure"].(map[string]any); !ok || len(m) == 0 {
		scaling["measure"] = map[string]any{"hardwareUsage": nil}
	}
	for k := range scaling["measure"].(map[string]any) {
		scaling["metric"] = k
	}
	vendorName, region := str(objectAt(doc, "provider")["vendor"]), str(objectAt(doc, "provider")["region"])
	compute["id"] = fmt.Sprintf("%s-%s-%s-%s", vendorName, region, str(compute["instanceType"]), str(compute["instanceSize"]))
	doc["healthRoute"] = healthRouteOf(model, str(doc["healthRoute"]))
}

func healthRouteOf(model map[string]any, current string) string {
	if img, ok := model["image"].(map[string]any); ok {
		for _, v := range img {
			if m, ok := v.(map[string]any); ok {
				if hr := str(m["healthRoute"]); hr != "" {
					return hr
				}
			}
		}
	}
	if current != "" {
		return current
	}
	return "/health"
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func setDefault(m map[string]any, key string, def any) {
	if v, ok := m[key]; !ok || v == nil && def != nil {
		m[key] = def
	}
}

// objectAt returns m[key] as an object, replacing a missing or non-object value by an empty one.
func objectAt(m map[string]any, key string) map[string]any {
	if o, ok := m[key].(map[string]any); ok {
		return o
	}
	o := map[string]any{}
	m[key] = o
	return o
}

// replacedWhole are objects a PUT replaces instead of merging: one-key unions (a new image variant
// must not sit beside the old one) and user maps that huggingface_hub always sends in full.
var replacedWhole = map[string]bool{
	"model.image": true, "model.env": true, "model.secrets": true,
	"compute.scaling.measure": true, "customRouter.env": true,
}

// mergeInto applies a partial update: objects merge key by key, everything else (scalars, arrays,
// null, and the replacedWhole objects) replaces the stored value.
func mergeInto(dst, src map[string]any, prefix string) {
	for k, v := range src {
		path := prefix + k
		sub, isObj := v.(map[string]any)
		cur, curObj := dst[k].(map[string]any)
		if isObj && curObj && !replacedWhole[path] {
			mergeInto(cur, sub, path+".")
			continue
		}
		dst[k] = deepCopy(v)
	}
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = deepCopy(x)
		}
		return s
	}
	return v
}
