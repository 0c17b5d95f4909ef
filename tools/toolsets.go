package tools

import (
	"fmt"
	"slices"
	"strings"
)

// Toolset names a group of tools that --toolsets can select.
type Toolset string

// The toolsets, in the order they are listed.
const (
	EndpointsRead  Toolset = "endpoints_read"  // inspect endpoints, hardware, catalog, metrics; wait
	EndpointsWrite Toolset = "endpoints_write" // create, update, pause, resume, scale to zero
	Inference      Toolset = "inference"       // run models deployed on endpoints
)

// Toolsets returns every toolset.
func Toolsets() []Toolset { return []Toolset{EndpointsRead, EndpointsWrite, Inference} }

// All returns every tool, grouped by toolset. The list is the registration:
// a tool not listed here is not served.
func All() []Tool {
	return slices.Concat(ReadTools(), WriteTools(), InferenceTools())
}

// ParseToolsets turns names such as "endpoints_read,inference" into toolsets;
// empty input (or "all") selects every toolset. Unknown names are an error
// listing the valid ones.
func ParseToolsets(names []string) ([]Toolset, error) {
	var out []Toolset
	for _, raw := range names {
		for _, name := range strings.Split(raw, ",") {
			name = strings.TrimSpace(name)
			switch {
			case name == "":
				continue
			case name == "all":
				return Toolsets(), nil
			case !slices.Contains(Toolsets(), Toolset(name)):
				return nil, fmt.Errorf("unknown toolset %q; valid toolsets are %s (or all)", name, joinToolsets(Toolsets()))
			case !slices.Contains(out, Toolset(name)):
				out = append(out, Toolset(name))
			}
		}
	}
	if len(out) == 0 {
		return Toolsets(), nil
	}
	return out, nil
}

func joinToolsets(ts []Toolset) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// Select returns the tools of the given toolsets; with readOnly, only tools
// whose ReadOnly hint is set, so no mutating tool is ever served.
func Select(toolsets []Toolset, readOnly bool) []Tool {
	var out []Tool
	for _, t := range All() {
		if !slices.Contains(toolsets, t.Toolset) || (readOnly && !t.Hints.ReadOnly) {
			continue
		}
		out = append(out, t)
	}
	return out
}
