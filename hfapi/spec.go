package hfapi

import (
	"fmt"
	"strings"
)

// CreateSpec is what Create sends. Field names follow huggingface_hub's create_inference_endpoint
// arguments; the body built from them equals what huggingface_hub sends for the same arguments.
type CreateSpec struct {
	Name         string // required; see ValidateName
	Repository   string // required, e.g. "openai-community/gpt2"
	Framework    string // required, e.g. "pytorch"
	Accelerator  string // required: cpu | gpu | neuron
	InstanceSize string // required, e.g. "x2"
	InstanceType string // required, e.g. "intel-icl"
	Region       string // required, e.g. "us-east-1"
	Vendor       string // required, e.g. "aws"
	AccountID    *string
	MinReplica   *int // default 1
	MaxReplica   *int // default 1
	// ScaleToZeroTimeout is in minutes (nil = not configured).
	ScaleToZeroTimeout *int
	Revision           *string
	Task               string
	// CustomImage is the model.image payload. A flat container dict with "url" is wrapped as
	// {"custom": …}; a variant-keyed dict ({"tgi": {…}}) is sent as is. nil = {"huggingface": {}}.
	CustomImage        map[string]any
	Env                map[string]string // sent only when non-empty
	Secrets            map[string]string // sent only when non-empty
	Type               string            // default "authenticated"
	Domain             string
	Path               string
	CacheHTTPResponses *bool
	Tags               []string
	ScalingMetric      string // hardwareUsage | pendingRequests; "" = server default
	ScalingThreshold   *float64
	Command            []string
	Args               []string
	// TensorParallelSize and DataParallelSize are engine settings written inside CustomImage, which
	// must then be a vLLM image (or sGLang, tensor parallelism only).
	TensorParallelSize *int
	DataParallelSize   *int
}

// UpdateSpec lists the fields Update may change; only non-nil fields are sent.
type UpdateSpec struct {
	Accelerator        *string
	InstanceSize       *string
	InstanceType       *string
	MinReplica         *int
	MaxReplica         *int
	ScaleToZeroTimeout *int
	ScalingMetric      *string
	ScalingThreshold   *float64
	Repository         *string
	Framework          *string
	Revision           *string
	Task               *string
	CustomImage        map[string]any
	// TensorParallelSize and DataParallelSize are engine settings written inside the image. Without
	// CustomImage, Update first fetches the endpoint and resends its current image with the new sizes.
	TensorParallelSize *int
	DataParallelSize   *int
	Command            []string
	Args               []string
	Env                map[string]string
	Secrets            map[string]string
	Domain             *string
	Path               *string
	CacheHTTPResponses *bool
	Tags               []string
}

// Endpoint types accepted by the API.
var endpointTypes = []string{"public", "protected", "authenticated", "private"}

// ValidateName checks the endpoint name rule: 1–32 characters of lowercase a-z, 0-9 and '-', not
// starting or ending with '-'.
func ValidateName(name string) error {
	const rule = "use 1–32 characters of lowercase letters a-z, digits 0-9 and '-', not starting or ending with '-' (e.g. \"my-endpoint-1\")"
	switch {
	case name == "":
		return &ValidationError{"name", "is empty; " + rule}
	case len(name) > 32:
		return &ValidationError{"name", fmt.Sprintf("%q is %d characters long; %s", name, len(name), rule)}
	case strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-"):
		return &ValidationError{"name", fmt.Sprintf("%q starts or ends with '-'; %s", name, rule)}
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return &ValidationError{"name", fmt.Sprintf("%q contains %q; %s", name, r, rule)}
		}
	}
	return nil
}

// ValidateNamespace checks a namespace (a Hugging Face user or organisation name) the way the Hub
// checks the namespace of a repository id, before it goes into a request path.
func ValidateNamespace(ns string) error {
	const rule = "give a Hugging Face user or organisation name: 1–96 letters, digits, '-', '_' or '.', " +
		"starting and ending with a letter, digit or '_', without \"--\" or \"..\" (e.g. \"my-org\")"
	switch {
	case ns == "*":
		return &ValidationError{"namespace", "\"*\" (every namespace) is only accepted when listing endpoints; " + rule}
	case len(ns) > 96:
		return &ValidationError{"namespace", fmt.Sprintf("%q is %d characters long; %s", ns, len(ns), rule)}
	case strings.Contains(ns, "--") || strings.Contains(ns, ".."):
		return &ValidationError{"namespace", fmt.Sprintf("%q contains \"--\" or \"..\"; %s", ns, rule)}
	}
	for i, r := range ns {
		word := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_'
		if !word && r != '-' && r != '.' {
			return &ValidationError{"namespace", fmt.Sprintf("%q contains %q; %s", ns, r, rule)}
		}
		if !word && (i == 0 || i == len(ns)-1) {
			return &ValidationError{"namespace", fmt.Sprintf("%q starts or ends with %q; %s", ns, r, rule)}
		}
	}
	return nil
}

// Validate checks the spec before any request is sent.
func (s CreateSpec) Validate() error {
	if err := ValidateName(s.Name); err != nil {
		return err
	}
	for _, f := range []struct{ name, val, example string }{
		{"repository", s.Repository, "openai-community/gpt2"}, {"framework", s.Framework, "pytorch"},
		{"accelerator", s.Accelerator, "cpu"}, {"instanceSize", s.InstanceSize, "x2"},
		{"instanceType", s.InstanceType, "intel-icl"}, {"region", s.Region, "us-east-1"},
		{"vendor", s.Vendor, "aws"},
	} {
		if strings.TrimSpace(f.val) == "" {
			return &ValidationError{f.name, fmt.Sprintf("is required (e.g. %q); list_hardware shows valid combinations", f.example)}
		}
	}
	if err := validateType(s.Type); err != nil {
		return err
	}
	minR, maxR := 1, 1
	if s.MinReplica != nil {
		minR = *s.MinReplica
	}
	if s.MaxReplica != nil {
		maxR = *s.MaxReplica
	}
	if err := validateReplicas(&minR, &maxR); err != nil {
		return err
	}
	if err := validateParallelism(s.TensorParallelSize, s.DataParallelSize); err != nil {
		return err
	}
	if s.TensorParallelSize != nil || s.DataParallelSize != nil {
		if s.CustomImage == nil {
			return &ValidationError{"image", `parallelism is an engine setting: give a vLLM or sGLang image, e.g. {"vLLM": {"url": "vllm/vllm-openai:latest"}}`}
		}
		if _, err := setParallelism(imagePayload(s.CustomImage), s.TensorParallelSize, s.DataParallelSize); err != nil {
			return err
		}
	}
	return validateCommon(s.ScaleToZeroTimeout, s.CustomImage, s.ScalingMetric, s.ScalingThreshold)
}

// validateParallelism checks the sizes that are set are at least 1.
func validateParallelism(tp, dp *int) error {
	for _, p := range []struct {
		name string
		v    *int
	}{{"tensorParallelSize", tp}, {"dataParallelSize", dp}} {
		if p.v != nil && *p.v < 1 {
			return &ValidationError{p.name, fmt.Sprintf("is %d; it must be at least 1", *p.v)}
		}
	}
	return nil
}

// Validate checks the spec before any request is sent.
func (s UpdateSpec) Validate() error {
	if err := validateReplicas(s.MinReplica, s.MaxReplica); err != nil {
		return err
	}
	metric := ""
	if s.ScalingMetric != nil {
		metric = *s.ScalingMetric
		if metric == "" {
			return &ValidationError{"scalingMetric", "is empty; use hardwareUsage or pendingRequests, or leave it unset"}
		}
	}
	if err := validateParallelism(s.TensorParallelSize, s.DataParallelSize); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"accelerator", s.Accelerator}, {"instanceSize", s.InstanceSize}, {"instanceType", s.InstanceType},
		{"repository", s.Repository}, {"framework", s.Framework}} {
		if f.v != nil && strings.TrimSpace(*f.v) == "" {
			return &ValidationError{f.name, "is set but empty; give a value or leave it unset to keep the current one"}
		}
	}
	if s.isEmpty() {
		return &ValidationError{"update", "sets no field; give at least one field to change"}
	}
	return validateCommon(s.ScaleToZeroTimeout, s.CustomImage, metric, s.ScalingThreshold)
}

func (s UpdateSpec) isEmpty() bool {
	return s.Accelerator == nil && s.InstanceSize == nil && s.InstanceType == nil && s.MinReplica == nil &&
		s.MaxReplica == nil && s.ScaleToZeroTimeout == nil && s.ScalingMetric == nil && s.ScalingThreshold == nil &&
		s.Repository == nil && s.Framework == nil && s.Revision == nil && s.Task == nil && s.CustomImage == nil &&
		s.TensorParallelSize == nil && s.DataParallelSize == nil && s.Command == nil && s.Args == nil &&
		s.Env == nil && s.Secrets == nil && s.Domain == nil && s.Path == nil && s.CacheHTTPResponses == nil &&
		s.Tags == nil
}

func validateType(t string) error {
	if t == "" {
		return nil
	}
	for _, ok := range endpointTypes {
		if t == ok {
			return nil
		}
	}
	return &ValidationError{"type", fmt.Sprintf("%q is not an endpoint type; use one of public, authenticated (formerly protected), private", t)}
}

// validateReplicas checks the bounds that are set: min ≥ 0, max ≥ 1, min ≤ max.
func validateReplicas(minR, maxR *int) error {
	if minR != nil && *minR < 0 {
		return &ValidationError{"minReplica", fmt.Sprintf("is %d; it must be 0 or more (0 enables scale to zero)", *minR)}
	}
	if maxR != nil && *maxR < 1 {
		return &ValidationError{"maxReplica", fmt.Sprintf("is %d; it must be at least 1", *maxR)}
	}
	if minR != nil && maxR != nil && *minR > *maxR {
		return &ValidationError{"minReplica", fmt.Sprintf("(%d) is above maxReplica (%d); minReplica must be ≤ maxReplica", *minR, *maxR)}
	}
	return nil
}

func validateCommon(scaleToZero *int, image map[string]any, metric string, threshold *float64) error {
	if threshold != nil && metric == "" {
		return &ValidationError{"scalingThreshold", "needs scalingMetric (hardwareUsage or pendingRequests): the threshold is of that metric"}
	}
	if threshold != nil && *threshold < 0 {
		return &ValidationError{"scalingThreshold", fmt.Sprintf("is %g; it must be 0 or more", *threshold)}
	}
	if scaleToZero != nil && *scaleToZero < 0 {
		return &ValidationError{"scaleToZeroTimeout", fmt.Sprintf("is %d; it is in minutes and must be 0 or more", *scaleToZero)}
	}
	if image != nil && len(image) == 0 {
		return &ValidationError{"customImage", `is empty; give {"url": "...", ...} or a variant such as {"tgi": {"url": "..."}}`}
	}
	if metric != "" && metric != "hardwareUsage" && metric != "pendingRequests" {
		return &ValidationError{"scalingMetric", fmt.Sprintf("%q is unknown; use hardwareUsage or pendingRequests", metric)}
	}
	return nil
}

// imagePayload wraps a flat container dict (one with "url") as {"custom": …}, like huggingface_hub.
func imagePayload(img map[string]any) map[string]any {
	if _, flat := img["url"]; flat {
		return map[string]any{"custom": img}
	}
	return img
}

// createBody builds the POST body exactly as huggingface_hub's create_inference_endpoint does.
func (s CreateSpec) body() map[string]any {
	minR, maxR := 1, 1
	if s.MinReplica != nil {
		minR = *s.MinReplica
	}
	if s.MaxReplica != nil {
		maxR = *s.MaxReplica
	}
	typ := s.Type
	if typ == "" {
		typ = "authenticated"
	}
	image := map[string]any{"huggingface": map[string]any{}}
	if s.CustomImage != nil {
		image = imagePayload(s.CustomImage)
	}
	if s.TensorParallelSize != nil || s.DataParallelSize != nil {
		if sized, err := setParallelism(image, s.TensorParallelSize, s.DataParallelSize); err == nil { // checked by Validate
			image = sized
		}
	}
	scaling := map[string]any{"maxReplica": maxR, "minReplica": minR, "scaleToZeroTimeout": s.ScaleToZeroTimeout}
	if s.ScalingMetric != "" {
		scaling["measure"] = map[string]any{s.ScalingMetric: s.ScalingThreshold}
	}
	model := map[string]any{"framework": s.Framework, "repository": s.Repository, "revision": s.Revision, "image": image}
	setIf(model, "task", s.Task, s.Task != "")
	setIf(model, "command", s.Command, s.Command != nil)
	setIf(model, "args", s.Args, s.Args != nil)
	setIf(model, "env", s.Env, len(s.Env) > 0)
	setIf(model, "secrets", s.Secrets, len(s.Secrets) > 0)
	body := map[string]any{
		"accountId": s.AccountID,
		"compute": map[string]any{"accelerator": s.Accelerator, "instanceSize": s.InstanceSize,
			"instanceType": s.InstanceType, "scaling": scaling},
		"model":    model,
		"name":     s.Name,
		"provider": map[string]any{"region": s.Region, "vendor": s.Vendor},
		"type":     typ,
	}
	if s.Domain != "" || s.Path != "" {
		route := map[string]any{}
		setIf(route, "domain", s.Domain, s.Domain != "")
		setIf(route, "path", s.Path, s.Path != "")
		body["route"] = route
	}
	setIf(body, "cacheHttpResponses", s.CacheHTTPResponses, s.CacheHTTPResponses != nil)
	setIf(body, "tags", s.Tags, s.Tags != nil)
	return body
}

// body builds the PUT body with only the set fields, like huggingface_hub's update_inference_endpoint.
// currentImage is the endpoint's image, needed only when parallelism is set without CustomImage.
func (s UpdateSpec) body(currentImage map[string]any) (map[string]any, error) {
	compute, scaling, model, route := map[string]any{}, map[string]any{}, map[string]any{}, map[string]any{}
	setPtr(compute, "accelerator", s.Accelerator)
	setPtr(compute, "instanceSize", s.InstanceSize)
	setPtr(compute, "instanceType", s.InstanceType)
	setPtr(scaling, "maxReplica", s.MaxReplica)
	setPtr(scaling, "minReplica", s.MinReplica)
	setPtr(scaling, "scaleToZeroTimeout", s.ScaleToZeroTimeout)
	if s.ScalingMetric != nil && *s.ScalingMetric != "" {
		scaling["measure"] = map[string]any{*s.ScalingMetric: s.ScalingThreshold}
	}
	setPtr(model, "repository", s.Repository)
	setPtr(model, "framework", s.Framework)
	setPtr(model, "revision", s.Revision)
	setPtr(model, "task", s.Task)
	if s.CustomImage != nil {
		model["image"] = imagePayload(s.CustomImage)
	}
	if s.TensorParallelSize != nil || s.DataParallelSize != nil {
		img, _ := model["image"].(map[string]any)
		if img == nil {
			img = currentImage
		}
		withSizes, err := setParallelism(img, s.TensorParallelSize, s.DataParallelSize)
		if err != nil {
			return nil, err
		}
		model["image"] = withSizes
	}
	setIf(model, "command", s.Command, s.Command != nil)
	setIf(model, "args", s.Args, s.Args != nil)
	setIf(model, "env", s.Env, s.Env != nil)
	setIf(model, "secrets", s.Secrets, s.Secrets != nil)
	setPtr(route, "domain", s.Domain)
	setPtr(route, "path", s.Path)
	if len(scaling) > 0 {
		compute["scaling"] = scaling
	}
	body := map[string]any{}
	setIf(body, "compute", compute, len(compute) > 0)
	setIf(body, "model", model, len(model) > 0)
	setIf(body, "route", route, len(route) > 0)
	setPtr(body, "cacheHttpResponses", s.CacheHTTPResponses)
	setIf(body, "tags", s.Tags, s.Tags != nil)
	return body, nil
}

// needsCurrentImage reports whether Update must fetch the endpoint to resend its image.
func (s UpdateSpec) needsCurrentImage() bool {
	return s.CustomImage == nil && (s.TensorParallelSize != nil || s.DataParallelSize != nil)
}

// setParallelism writes the sizes inside the image variant (a copy; the input is left untouched).
func setParallelism(img map[string]any, tp, dp *int) (map[string]any, error) {
	if len(img) != 1 {
		return nil, &ValidationError{"image", "cannot set parallelism: the image must have exactly one variant such as {\"vLLM\": {\"url\": ...}}"}
	}
	for key, v := range img {
		inner, _ := v.(map[string]any)
		if _, ok := inner["credentials"]; ok {
			return nil, &ValidationError{"image", "the endpoint's image has registry credentials, which the API returns redacted; pass the full image as customImage to set parallelism"}
		}
		switch {
		case key != "vLLM" && key != "sGLang":
			return nil, &ValidationError{"image", fmt.Sprintf("a %s image takes no parallelism settings; tensorParallelSize needs a vLLM or sGLang image, dataParallelSize a vLLM one", key)}
		case key == "sGLang" && dp != nil:
			return nil, &ValidationError{"dataParallelSize", "is a vLLM setting; an sGLang image takes tensorParallelSize only"}
		}
		cp := make(map[string]any, len(inner)+2)
		for k, x := range inner {
			cp[k] = x
		}
		setPtr(cp, "tensorParallelSize", tp)
		setPtr(cp, "dataParallelSize", dp)
		return map[string]any{key: cp}, nil
	}
	return nil, nil // unreachable: len(img) == 1
}

func setIf(m map[string]any, key string, v any, cond bool) {
	if cond {
		m[key] = v
	}
}

func setPtr[T any](m map[string]any, key string, p *T) {
	if p != nil {
		m[key] = *p
	}
}
