package hfapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// ModelInfo is what the Hub says about a model repository (GET {HF_ENDPOINT}/api/models/{repo}):
// the fields hardware sizing reads.
type ModelInfo struct {
	ID          string           `json:"id"`
	PipelineTag string           `json:"pipeline_tag,omitempty"`
	LibraryName string           `json:"library_name,omitempty"`
	Tags        []string         `json:"tags,omitempty"`
	Safetensors *SafetensorsInfo `json:"safetensors,omitempty"`
}

// SafetensorsInfo is the parameter count of a repository's safetensors weights, per dtype.
type SafetensorsInfo struct {
	Parameters map[string]int64 `json:"parameters"`
	Total      int64            `json:"total"`
}

// ErrRepoNotFound is returned (wrapped) by ModelInfo when the Hub does not know the repository,
// or the token cannot see it.
var ErrRepoNotFound = errors.New("repository not found on the Hub")

// ValidateRepository checks a model repository id ("owner/name" or "name") before it goes into a URL.
func ValidateRepository(repo string) error {
	const rule = `give a model repository id such as "meta-llama/Llama-3.1-8B-Instruct": letters, digits, '-', '_' and '.', at most one '/'`
	parts := strings.Split(repo, "/")
	if repo == "" || len(parts) > 2 {
		return &ValidationError{"repository", fmt.Sprintf("%q is not a repository id; %s", repo, rule)}
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." || strings.Contains(p, "..") {
			return &ValidationError{"repository", fmt.Sprintf("%q is not a repository id; %s", repo, rule)}
		}
		for _, r := range p {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
				return &ValidationError{"repository", fmt.Sprintf("%q contains %q; %s", repo, r, rule)}
			}
		}
	}
	return nil
}

// ModelInfo reads a model's information from the Hub. A repository the Hub does not know (404, or
// 401 for a private repository the token cannot read) is ErrRepoNotFound.
func (c *Client) ModelInfo(ctx context.Context, repo string) (*ModelInfo, error) {
	if err := ValidateRepository(repo); err != nil {
		return nil, err
	}
	segments := append([]string{"api", "models"}, strings.Split(repo, "/")...)
	var info ModelInfo
	err := c.getJSON(ctx, "get model "+repo, endpointURL(c.hub, segments...), &info)
	if isStatus(err, http.StatusNotFound) || isStatus(err, http.StatusUnauthorized) && strings.Contains(err.Error(), "Repository not found") {
		return nil, fmt.Errorf("%w: %q (check the spelling, owner/name; a private or gated repository needs a token that can read it)", ErrRepoNotFound, repo)
	}
	if err != nil {
		return nil, err
	}
	return &info, nil
}

// dtypeSize is the size in bytes of one parameter of each safetensors dtype.
var dtypeSize = map[string]float64{
	"F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "BF16": 2, "F16": 2, "I16": 2, "U16": 2,
	"F8_E4M3": 1, "F8_E5M2": 1, "I8": 1, "U8": 1, "BOOL": 1,
}

// MemoryEstimate is how much accelerator (or CPU) memory a model needs to serve.
type MemoryEstimate struct {
	Parameters int64   // safetensors total
	Dtype      string  // the dtype holding most parameters
	WeightsGB  float64 // parameters × dtype bytes
	NeededGB   float64 // weights with headroom
	Formula    string  // how NeededGB was computed, in words and figures
}

// headroom is the factor and fixed amount added to the weights for a task: generation keeps a KV
// cache, diffusion large activations; every server needs some runtime memory.
func headroom(task string) (factor, fixedGB float64, why string) {
	switch task {
	case "text-generation", "text2text-generation", "image-text-to-text", "conversational":
		return 1.3, 1, "KV cache and activations"
	case "text-to-image", "image-to-image", "text-to-video":
		return 1.5, 1, "diffusion activations"
	}
	return 1.2, 0.5, "activations"
}

// EstimateMemory sizes a model for a task from its safetensors parameter counts:
// Σ parameters × dtype bytes, × a task factor, + a fixed runtime amount (see headroom).
func EstimateMemory(info *ModelInfo, task string) (MemoryEstimate, error) {
	if info == nil || info.Safetensors == nil || (info.Safetensors.Total <= 0 && len(info.Safetensors.Parameters) == 0) {
		id := ""
		if info != nil {
			id = info.ID
		}
		return MemoryEstimate{}, fmt.Errorf("the Hub reports no safetensors parameter count for %s (no .safetensors weights), "+
			"so its memory cannot be estimated; compare its file sizes with list_hardware by hand", id)
	}
	st := info.Safetensors
	var bytes float64
	var counted int64
	dtypes := make([]string, 0, len(st.Parameters))
	for d, n := range st.Parameters {
		dtypes = append(dtypes, d)
		size, ok := dtypeSize[d]
		if !ok {
			size = 2 // an unknown dtype counts as 16-bit, the most common
		}
		bytes += float64(n) * size
		counted += n
	}
	slices.SortFunc(dtypes, func(a, b string) int { return cmp.Compare(st.Parameters[b], st.Parameters[a]) })
	est := MemoryEstimate{Parameters: st.Total, Dtype: "BF16"}
	if len(dtypes) > 0 {
		est.Dtype = dtypes[0]
	}
	if st.Total > counted { // parameters of no listed dtype: 16-bit
		bytes += float64(st.Total-counted) * 2
	}
	if est.Parameters == 0 {
		est.Parameters = counted
	}
	factor, fixed, why := headroom(task)
	est.WeightsGB = bytes / 1e9
	est.NeededGB = est.WeightsGB*factor + fixed
	bytesPer := "bytes"
	if len(dtypes) == 1 {
		bytesPer = fmt.Sprintf("%g bytes (%s)", dtypeSize[est.Dtype], est.Dtype)
		if _, ok := dtypeSize[est.Dtype]; !ok {
			bytesPer = fmt.Sprintf("2 bytes (%s, assumed 16-bit)", est.Dtype)
		}
	} else if len(dtypes) > 1 {
		bytesPer = "their dtype's bytes (" + strings.Join(dtypes, ", ") + ")"
	}
	est.Formula = fmt.Sprintf("%d params × %s = %.1f GB weights; × %g for %s (%s) + %g GB runtime = %.1f GB",
		est.Parameters, bytesPer, est.WeightsGB, factor, why, taskOr(task), fixed, est.NeededGB)
	return est, nil
}

func taskOr(task string) string {
	if task == "" {
		return "unknown task"
	}
	return task
}

// RecommendSpec asks which hardware can serve a model.
type RecommendSpec struct {
	Repository    string
	Task          string   // default: the Hub's pipeline_tag
	MaxHourlyCost *float64 // USD per replica-hour; nil = any
	Vendor        string   // "" = any
	Region        string   // "" = any
	Namespace     string   // whose prices and quotas ("" = default)
}

// Offer is one hardware offer that can serve the model.
type Offer struct {
	Vendor   string
	Region   string
	Hardware Hardware
	MemoryGB float64 // the memory the model is placed in: GPU/accelerator memory, or RAM on CPU
}

// Recommendation is the hardware that fits a model, cheapest first, or why none does.
type Recommendation struct {
	Model    *ModelInfo
	Task     string
	Estimate MemoryEstimate
	Offers   []Offer // fit, have quota left, under the cost given; cheapest first
	// Reason says why Offers is empty (too big, over budget, no quota); Note what was left out.
	Reason string
	Note   string
}

// maxCPUParams is the largest model recommended on CPU: bigger ones fit in RAM but answer too slowly.
const maxCPUParams = 2_000_000_000

// Recommend estimates the memory a model needs (ModelInfo, EstimateMemory) and lists the hardware
// offers that fit it, have quota left and cost at most MaxHourlyCost, cheapest first. Inferentia
// (neuron) offers are left out: they need a Neuron-compiled model.
func (c *Client) Recommend(ctx context.Context, spec RecommendSpec) (*Recommendation, error) {
	if spec.MaxHourlyCost != nil && *spec.MaxHourlyCost <= 0 {
		return nil, &ValidationError{"max_hourly_cost", fmt.Sprintf("is %g; give a positive USD amount per replica-hour, or leave it unset", *spec.MaxHourlyCost)}
	}
	info, err := c.ModelInfo(ctx, spec.Repository)
	if err != nil {
		return nil, err
	}
	rec := &Recommendation{Model: info, Task: spec.Task}
	if rec.Task == "" {
		rec.Task = info.PipelineTag
	}
	if rec.Estimate, err = EstimateMemory(info, rec.Task); err != nil {
		return nil, err
	}
	vendors, err := c.ListHardware(ctx, spec.Namespace)
	if err != nil {
		return nil, err
	}
	candidates, err := offersIn(vendors, spec.Vendor, spec.Region, shardable(rec.Task))
	if err != nil {
		return nil, err
	}
	rec.pick(candidates, spec.MaxHourlyCost)
	return rec, nil
}

// offersIn lists the offers of the vendor and region asked for, refusing a vendor or region the
// catalog does not have.
func offersIn(vendors []Vendor, vendor, region string, sharded bool) ([]Offer, error) {
	var out []Offer
	var vendorNames, regionNames []string
	for _, v := range vendors {
		vendorNames = append(vendorNames, v.Name)
		if vendor != "" && !strings.EqualFold(v.Name, vendor) {
			continue
		}
		for _, r := range v.Regions {
			regionNames = append(regionNames, r.Name)
			if region != "" && !strings.EqualFold(r.Name, region) {
				continue
			}
			for _, h := range r.Computes {
				out = append(out, Offer{Vendor: v.Name, Region: r.Name, Hardware: h, MemoryGB: memoryFor(h, sharded)})
			}
		}
	}
	switch {
	case vendor != "" && regionNames == nil:
		return nil, &ValidationError{"vendor", fmt.Sprintf("%q is not in the hardware catalog; valid vendors: %s", vendor, strings.Join(vendorNames, ", "))}
	case len(out) == 0 && region != "":
		return nil, &ValidationError{"region", fmt.Sprintf("%q is not in the hardware catalog%s; valid regions: %s", region, ofVendor(vendor), strings.Join(regionNames, ", "))}
	}
	return out, nil
}

func ofVendor(vendor string) string {
	if vendor == "" {
		return ""
	}
	return " of " + vendor
}

// memoryFor is where the model's weights live: accelerator memory on GPUs and Inferentia (all of
// the instance's when the server shards the model, else one accelerator's), RAM on CPU.
func memoryFor(h Hardware, sharded bool) float64 {
	if h.Accelerator == "cpu" || h.GpuMemoryGb == nil {
		return h.MemoryGb
	}
	if sharded || h.NumAccelerators <= 1 {
		return *h.GpuMemoryGb
	}
	return *h.GpuMemoryGb / float64(h.NumAccelerators)
}

// shardable reports whether the servers of a task split a model over several GPUs (TGI, vLLM and
// sGLang shard generation models); diffusers and toolkit pipelines run on one GPU.
func shardable(task string) bool {
	switch task {
	case "text-generation", "text2text-generation", "image-text-to-text", "conversational":
		return true
	}
	return false
}

// pick keeps the offers that fit, have quota left and cost at most maxCost, cheapest first, and
// says why there are none.
func (rec *Recommendation) pick(candidates []Offer, maxCost *float64) {
	need, params := rec.Estimate.NeededGB, rec.Estimate.Parameters
	var fit, largest []Offer
	var skipped []string
	for _, o := range candidates {
		h := o.Hardware
		switch {
		case h.Accelerator == "neuron":
			continue
		case h.Accelerator == "cpu" && (params > maxCPUParams || strings.HasPrefix(rec.Task, "text-to-")):
			continue
		case h.Status != "" && h.Status != "available":
			continue // deprecated instances are on their way out; reserved ones are not on demand
		}
		if len(largest) == 0 || o.MemoryGB > largest[0].MemoryGB {
			largest = []Offer{o}
		}
		if o.MemoryGB >= need {
			fit = append(fit, o)
		}
	}
	byPrice := func(a, b Offer) int {
		return cmp.Or(cmp.Compare(a.Hardware.PricePerHour, b.Hardware.PricePerHour), cmp.Compare(a.MemoryGB, b.MemoryGB))
	}
	slices.SortStableFunc(fit, byPrice)
	if params > maxCPUParams {
		skipped = append(skipped, "CPU offers (too slow for a model of this size)")
	}
	skipped = append(skipped, "Inferentia (needs a Neuron-compiled model)", "deprecated or reserved instances")
	rec.Note = "left out: " + strings.Join(skipped, "; ")
	if len(fit) == 0 {
		if len(largest) == 0 {
			rec.Reason = "no GPU offer in the vendor and region asked for; drop vendor or region"
			return
		}
		l := largest[0]
		rec.Reason = fmt.Sprintf("too big: it needs %.1f GB and the largest offer here, %s, has %.0f GB", need, l.Label(), l.MemoryGB)
		return
	}
	var withQuota []Offer
	for _, o := range fit {
		if q := o.Hardware.Quota; q == nil || q.MaxAccelerators-q.UsedAccelerators >= max(1, o.Hardware.NumAccelerators) {
			withQuota = append(withQuota, o)
		}
	}
	if len(withQuota) == 0 {
		rec.Reason = fmt.Sprintf("no quota: the %d offer(s) that fit (cheapest %s) have no accelerators left in your quota; "+
			"pause or delete endpoints using them, or ask Hugging Face for more quota", len(fit), fit[0].Label())
		return
	}
	if maxCost == nil {
		rec.Offers = withQuota
		return
	}
	for _, o := range withQuota {
		if o.Hardware.PricePerHour <= *maxCost {
			rec.Offers = append(rec.Offers, o)
		}
	}
	if len(rec.Offers) == 0 {
		c := withQuota[0]
		rec.Reason = fmt.Sprintf("over budget: the cheapest offer that fits, %s, costs %.2f USD/h, above max_hourly_cost %.2f",
			c.Label(), c.Hardware.PricePerHour, *maxCost)
	}
}

// Label names the offer as "vendor/region instanceType instanceSize".
func (o Offer) Label() string {
	return fmt.Sprintf("%s/%s %s %s", o.Vendor, o.Region, o.Hardware.InstanceType, o.Hardware.InstanceSize)
}
