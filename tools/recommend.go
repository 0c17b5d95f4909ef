package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// RecommendInput is recommend_hardware's input.
type RecommendInput struct {
	Repository    string   `json:"repository"`
	Task          string   `json:"task,omitempty"`
	MaxHourlyCost *float64 `json:"max_hourly_cost,omitempty"`
	Vendor        string   `json:"vendor,omitempty"`
	Region        string   `json:"region,omitempty"`
}

// Fit is one offer that can serve the model, with the create_endpoint arguments to deploy it.
type Fit struct {
	Hardware     string         `json:"hardware"`
	PricePerHour float64        `json:"price_per_hour"`
	Create       map[string]any `json:"create_endpoint"`
}

// RecommendResult is the memory a model needs and the cheapest offers that fit, or why none does.
type RecommendResult struct {
	Repository string  `json:"repository"`
	Task       string  `json:"task"`
	NeededGB   float64 `json:"needed_gb"`
	Estimate   string  `json:"estimate"`
	Offers     []Fit   `json:"offers"`
	Reason     string  `json:"reason,omitempty"`
	Note       string  `json:"note,omitempty"`
}

// Summary gives the estimate, then the offers or why there are none.
func (r RecommendResult) Summary() string {
	lines := []string{fmt.Sprintf("%s (%s) needs about %.1f GB: %s", r.Repository, r.Task, r.NeededGB, r.Estimate)}
	if len(r.Offers) == 0 {
		lines = append(lines, "nothing fits — "+r.Reason)
	}
	for _, o := range r.Offers {
		lines = append(lines, fmt.Sprintf("- %s: $%.2f/h", o.Hardware, o.PricePerHour))
	}
	if len(r.Offers) > 0 {
		lines = append(lines, "deploy one with create_endpoint and its create_endpoint arguments")
	}
	if r.Note != "" {
		lines = append(lines, r.Note)
	}
	return strings.Join(lines, "\n")
}

// maxFits bounds the offers listed: the cheapest few are what a choice needs.
const maxFits = 5

var recommendHardware = Tool{
	Name:  "recommend_hardware",
	Title: "Recommend hardware",
	Description: `Hardware offers that fit a model, cheapest first, with create_endpoint arguments. ` +
		`Example: {"repository": "Qwen/Qwen2.5-7B-Instruct"}`,
	Toolset: EndpointsRead,
	Hints:   Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: true},
	Handler: Handle(func(ctx context.Context, call *Call, in RecommendInput) (RecommendResult, error) {
		rec, err := call.Client.Recommend(ctx, hfapi.RecommendSpec{Repository: in.Repository, Task: in.Task,
			MaxHourlyCost: in.MaxHourlyCost, Vendor: in.Vendor, Region: in.Region})
		if err != nil {
			return RecommendResult{}, err
		}
		out := RecommendResult{Repository: rec.Model.ID, Task: rec.Task, NeededGB: round1(rec.Estimate.NeededGB), Estimate: rec.Estimate.Formula, Offers: []Fit{}, Reason: rec.Reason, Note: rec.Note}
		if out.Repository == "" {
			out.Repository = in.Repository
		}
		seen := map[string]bool{}
		for _, o := range rec.Offers {
			// One region per vendor and instance: the same instance elsewhere is no new choice.
			kind := o.Vendor + "/" + o.Hardware.InstanceType + "/" + o.Hardware.InstanceSize
			if seen[kind] {
				continue
			}
			if len(out.Offers) == maxFits {
				out.Note = fmt.Sprintf("the %d cheapest of %d offers, one region each (vendor and region narrow them); %s", maxFits, len(rec.Offers), out.Note)
				break
			}
			seen[kind] = true
			out.Offers = append(out.Offers, Fit{Hardware: fmt.Sprintf("%s (%.0f GB)", o.Label(), o.MemoryGB), PricePerHour: o.Hardware.PricePerHour,
				Create: createArgs(out.Repository, out.Task, o)})
		}
		return out, nil
	}),
}

// createArgs are create_endpoint's arguments for deploying repo on o.
func createArgs(repo, task string, o hfapi.Offer) map[string]any {
	args := map[string]any{"endpoint_name": endpointNameFor(repo), "repository": repo,
		"accelerator": o.Hardware.Accelerator, "vendor": o.Vendor, "region": o.Region,
		"instance_type": o.Hardware.InstanceType, "instance_size": o.Hardware.InstanceSize}
	if task != "" {
		args["task"] = task
	}
	return args
}

// endpointNameFor derives a valid endpoint name from a repository: its name, lowercased, with other
// characters as '-', at most 32 characters.
func endpointNameFor(repo string) string {
	_, name, found := strings.Cut(repo, "/")
	if !found {
		name = repo
	}
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	s := b.String()
	if len(s) > 32 {
		s = s[:32]
	}
	if s = strings.Trim(s, "-"); s == "" {
		return "endpoint"
	}
	return s
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }
