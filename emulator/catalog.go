package emulator

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
)

// hardware is one instance offer of the provider catalog, in the field names of GET /v2/provider/{ns}.
type hardware struct {
	ID              string  `json:"id"`
	Accelerator     string  `json:"accelerator"`
	NumAccelerators int     `json:"numAccelerators"`
	NumCpus         *int    `json:"numCpus,omitempty"`
	MemoryGb        float64 `json:"memoryGb"`
	GpuMemoryGb     *int    `json:"gpuMemoryGb"`
	InstanceType    string  `json:"instanceType"`
	InstanceSize    string  `json:"instanceSize"`
	Architecture    string  `json:"architecture"`
	Status          string  `json:"status"`
	PricePerHour    float64 `json:"pricePerHour"`
	Quota           quota   `json:"quota"`
	vendor, region  string  // for lookups
	family          *family // for quota accounting
}

type quota struct {
	MaxAccelerators  int `json:"maxAccelerators"`
	UsedAccelerators int `json:"usedAccelerators"`
}

type region struct {
	Name     string     `json:"name"`
	Label    string     `json:"label"`
	Status   string     `json:"status"`
	Computes []hardware `json:"computes"`
}

type vendor struct {
	Name    string   `json:"name"`
	Status  string   `json:"status"`
	Regions []region `json:"regions"`
}

// family is an instance type offered in several sizes; per-accelerator figures scale with the size.
type family struct {
	typ, accel, arch string
	sizes            []int
	price            float64 // USD per hour per accelerator (per vCPU for CPU families)
	cpus             int     // vCPUs per accelerator (0: not reported, as for CPU families)
	mem              float64 // GB RAM per accelerator
	gpuMem           int     // GB accelerator memory per accelerator (0: none)
	quota            int
	deprecated       bool
	adjust           func(*hardware) // per-offer exceptions
}

// vendorSpecs describes the offer: which instance families each region has. Called once, lazily.
func vendorSpecs() []vendorSpec {
	intelICL := &family{typ: "intel-icl", accel: "cpu", arch: "Intel Ice Lake", sizes: []int{1, 2, 4, 8}, price: 0.032, mem: 2, quota: 60, deprecated: true}
	intelSPR := &family{typ: "intel-spr", accel: "cpu", arch: "Intel Sapphire Rapids", sizes: []int{1, 2, 4, 8, 16}, price: 0.033, mem: 2, quota: 60}
	t4 := &family{typ: "nvidia-t4", accel: "gpu", arch: "Nvidia T4", sizes: []int{1, 4}, price: 0.5, cpus: 3, mem: 15, gpuMem: 16, quota: 16}
	l4 := &family{typ: "nvidia-l4", accel: "gpu", arch: "Nvidia L4", sizes: []int{1, 4}, price: 0.8, cpus: 7, mem: 30, gpuMem: 24, quota: 16}
	a10g := &family{typ: "nvidia-a10g", accel: "gpu", arch: "Nvidia A10G", sizes: []int{1, 4}, price: 1.0, cpus: 7, mem: 30, gpuMem: 24, quota: 16}
	l40s := &family{typ: "nvidia-l40s", accel: "gpu", arch: "Nvidia L40S", sizes: []int{1, 4, 8}, price: 1.8, cpus: 7, mem: 62, gpuMem: 48, quota: 8}
	a100 := &family{typ: "nvidia-a100", accel: "gpu", arch: "Nvidia A100", sizes: []int{1, 2, 4, 8}, price: 2.5, cpus: 11, mem: 142, gpuMem: 80, quota: 8}
	// GCP's A100 x8 is reserved capacity, as in the real catalog.
	a100GCP := &family{typ: "nvidia-a100", accel: "gpu", arch: "Nvidia A100", sizes: []int{1, 2, 4, 8}, price: 3.6, cpus: 12, mem: 85, gpuMem: 80, quota: 2,
		adjust: func(h *hardware) {
			if h.NumAccelerators == 8 {
				c := 96
				h.Status, h.NumCpus, h.MemoryGb = "reserved", &c, 680
			}
		}}
	h100 := &family{typ: "nvidia-h100", accel: "gpu", arch: "Nvidia H100", sizes: []int{1, 2, 4, 8}, price: 10, cpus: 23, mem: 240, gpuMem: 80, quota: 8}
	h200 := &family{typ: "nvidia-h200", accel: "gpu", arch: "Nvidia H200", sizes: []int{1, 2, 4, 8}, price: 12, cpus: 23, mem: 240, gpuMem: 141, quota: 8}
	inf2 := &family{typ: "inf2", accel: "neuron", arch: "AWS Inferentia2", sizes: []int{1, 12}, price: 0.75, cpus: 4, mem: 16, gpuMem: 32, quota: 24}
	return []vendorSpec{
		{"aws", []regionSpec{
			{"us-east-1", "N. Virginia", []*family{intelICL, intelSPR, t4, l4, a10g, l40s, a100, h100, h200, inf2}},
			{"us-east-2", "Ohio", []*family{intelSPR, l4, a10g, h100}},
			{"us-west-2", "Oregon", []*family{intelSPR, t4, l4, a10g, l40s}},
			{"eu-west-1", "Ireland", []*family{intelICL, intelSPR, t4, l4, a10g}},
		}},
		{"gcp", []regionSpec{
			{"us-east4", "Virginia", []*family{intelSPR, t4, l4, a100GCP, h100}},
			{"us-central1", "Iowa", []*family{intelSPR, l4, h100}},
			{"europe-west4", "Netherlands", []*family{intelSPR, t4, l4}},
		}},
		{"azure", []regionSpec{
			{"eastus", "Virginia", []*family{intelSPR, a100, h100}},
			{"westeurope", "Netherlands", []*family{intelSPR, a100}},
		}},
	}
}

type regionSpec struct {
	name, label string
	families    []*family
}

type vendorSpec struct {
	name    string
	regions []regionSpec
}

// catalogTables is the provider catalog, built on first use (never at package init).
type catalogTables struct {
	vendors []vendor
	byKey   map[string]*hardware // vendor/region/type/size
}

var (
	catalogOnce sync.Once
	catalogData *catalogTables
)

func hardwareCatalog() *catalogTables {
	catalogOnce.Do(func() { catalogData = buildCatalog() })
	return catalogData
}

func buildCatalog() *catalogTables {
	c := &catalogTables{byKey: map[string]*hardware{}}
	for _, vs := range vendorSpecs() {
		v := vendor{Name: vs.name, Status: "available"}
		for _, rs := range vs.regions {
			r := region{Name: rs.name, Label: rs.label, Status: "available"}
			for _, f := range rs.families {
				for _, n := range f.sizes {
					r.Computes = append(r.Computes, f.offer(vs.name, rs.name, n))
				}
			}
			v.Regions = append(v.Regions, r)
		}
		c.vendors = append(c.vendors, v)
	}
	for vi := range c.vendors {
		for ri := range c.vendors[vi].Regions {
			for hi := range c.vendors[vi].Regions[ri].Computes {
				h := &c.vendors[vi].Regions[ri].Computes[hi]
				c.byKey[hardwareKey(h.vendor, h.region, h.InstanceType, h.InstanceSize)] = h
			}
		}
	}
	return c
}

func (f *family) offer(vendorName, regionName string, n int) hardware {
	h := hardware{
		ID:              fmt.Sprintf("%s-%s-%s-x%d", vendorName, regionName, f.typ, n),
		Accelerator:     f.accel,
		NumAccelerators: n,
		MemoryGb:        f.mem * float64(n),
		InstanceType:    f.typ,
		InstanceSize:    fmt.Sprintf("x%d", n),
		Architecture:    f.arch,
		Status:          "available",
		PricePerHour:    math.Round(f.price*float64(n)*1000) / 1000,
		Quota:           quota{MaxAccelerators: f.quota},
		vendor:          vendorName,
		region:          regionName,
		family:          f,
	}
	if f.cpus > 0 {
		c := f.cpus * n
		if n > 1 {
			c = (f.cpus+1)*n - 1 // one vCPU per host is kept by the platform
		}
		h.NumCpus = &c
	}
	if f.gpuMem > 0 {
		g := f.gpuMem * n
		h.GpuMemoryGb = &g
	}
	if f.deprecated {
		h.Status = "deprecated" // still creatable, like the real service's older instances
	}
	if f.adjust != nil {
		f.adjust(&h)
	}
	return h
}

func hardwareKey(vendor, region, typ, size string) string {
	return vendor + "/" + region + "/" + typ + "/" + size
}

// lookupHardware validates a vendor/region/type/size combination, saying what would be valid.
func lookupHardware(vendorName, regionName, typ, size string) (*hardware, error) {
	c := hardwareCatalog()
	if h, ok := c.byKey[hardwareKey(vendorName, regionName, typ, size)]; ok {
		return h, nil
	}
	var v *vendor
	var names []string
	for i := range c.vendors {
		names = append(names, c.vendors[i].Name)
		if c.vendors[i].Name == vendorName {
			v = &c.vendors[i]
		}
	}
	if v == nil {
		return nil, fmt.Errorf("unknown provider.vendor %q; valid vendors: %s", vendorName, strings.Join(names, ", "))
	}
	var r *region
	names = nil
	for i := range v.Regions {
		names = append(names, v.Regions[i].Name)
		if v.Regions[i].Name == regionName {
			r = &v.Regions[i]
		}
	}
	if r == nil {
		return nil, fmt.Errorf("unknown provider.region %q for vendor %s; valid regions: %s", regionName, vendorName, strings.Join(names, ", "))
	}
	var types, sizes []string
	for _, h := range r.Computes {
		if !slices.Contains(types, h.InstanceType) {
			types = append(types, h.InstanceType)
		}
		if h.InstanceType == typ {
			sizes = append(sizes, h.InstanceSize)
		}
	}
	if len(sizes) == 0 {
		return nil, fmt.Errorf("compute.instanceType %q is not offered in %s %s; valid instance types: %s", typ, vendorName, regionName, strings.Join(types, ", "))
	}
	return nil, fmt.Errorf("compute.instanceSize %q is not offered for %s in %s %s; valid sizes: %s", size, typ, vendorName, regionName, strings.Join(sizes, ", "))
}

// catalogModel is one model of the one-click deploy catalog (/api/catalog).
type catalogModel struct {
	repo, task, framework string
	image                 func() map[string]any
	hw                    map[string][3]string // accelerator → vendor, region, type/size as "type xN"
	defaultAccel          string
	card                  modelCard // what the Hub's GET /api/models/{repo} says about it
}

func tgiImage() map[string]any {
	return map[string]any{"tgi": map[string]any{
		"url": "ghcr.io/huggingface/text-generation-inference:3.1.1", "healthRoute": "/health",
		"port": 80, "disableCustomKernels": false,
	}}
}

func teiImage() map[string]any {
	return map[string]any{"tei": map[string]any{
		"url": "ghcr.io/huggingface/text-embeddings-inference:1.9", "healthRoute": "/health", "port": 80,
	}}
}

func hfImage() map[string]any { return map[string]any{"huggingface": map[string]any{}} }

var (
	catalogModelsOnce sync.Once
	catalogModelsData []catalogModel
)

func catalogModels() []catalogModel {
	catalogModelsOnce.Do(func() {
		gpu := func(t string) map[string][3]string {
			return map[string][3]string{"gpu": {"aws", "us-east-1", t}}
		}
		cpuGPU := func(cpu, g string) map[string][3]string {
			return map[string][3]string{"cpu": {"aws", "us-east-1", cpu}, "gpu": {"aws", "us-east-1", g}}
		}
		catalogModelsData = []catalogModel{
			{"meta-llama/Llama-3.2-3B-Instruct", "text-generation", "pytorch", tgiImage, gpu("nvidia-l4 x1"), "gpu", modelCard{"BF16", 3_212_749_824, "transformers", "llama", true}},
			{"meta-llama/Llama-3.1-8B-Instruct", "text-generation", "pytorch", tgiImage, gpu("nvidia-l4 x1"), "gpu", modelCard{"BF16", 8_030_261_248, "transformers", "llama", true}},
			{"Qwen/Qwen2.5-7B-Instruct", "text-generation", "pytorch", tgiImage, gpu("nvidia-l4 x1"), "gpu", modelCard{"BF16", 7_615_616_512, "transformers", "qwen2", true}},
			{"mistralai/Mistral-7B-Instruct-v0.3", "text-generation", "pytorch", tgiImage, gpu("nvidia-a10g x1"), "gpu", modelCard{"BF16", 7_248_023_552, "transformers", "mistral", true}},
			{"HuggingFaceTB/SmolLM2-1.7B-Instruct", "text-generation", "pytorch", tgiImage, cpuGPU("intel-spr x8", "nvidia-t4 x1"), "gpu", modelCard{"BF16", 1_711_376_384, "transformers", "llama", true}},
			{"sentence-transformers/all-MiniLM-L6-v2", "feature-extraction", "pytorch", teiImage, cpuGPU("intel-spr x2", "nvidia-t4 x1"), "cpu", modelCard{"F32", 22_713_216, "sentence-transformers", "bert", false}},
			{"BAAI/bge-base-en-v1.5", "feature-extraction", "pytorch", teiImage, cpuGPU("intel-spr x4", "nvidia-t4 x1"), "cpu", modelCard{"F32", 109_482_240, "sentence-transformers", "bert", false}},
			{"black-forest-labs/FLUX.1-schnell", "text-to-image", "pytorch", hfImage, gpu("nvidia-l40s x1"), "gpu", modelCard{"BF16", 11_901_408_320, "diffusers", "flux", false}},
			{"stabilityai/stable-diffusion-xl-base-1.0", "text-to-image", "pytorch", hfImage, gpu("nvidia-l4 x1"), "gpu", modelCard{"F16", 3_468_000_000, "diffusers", "stable-diffusion-xl", false}},
			{"distilbert/distilbert-base-uncased-finetuned-sst-2-english", "text-classification", "pytorch", hfImage, cpuGPU("intel-spr x1", "nvidia-t4 x1"), "cpu", modelCard{"F32", 66_955_010, "transformers", "distilbert", false}},
		}
	})
	return catalogModelsData
}

func findCatalogModel(repo string) *catalogModel {
	for i, m := range catalogModels() {
		if strings.EqualFold(m.repo, repo) {
			return &catalogModels()[i]
		}
	}
	return nil
}

// guessTask infers a pipeline task from a repository name when the request gives none, since the
// emulator cannot ask the Hub: catalog models first, then name hints, else text-generation.
func guessTask(repo string) string {
	if m := findCatalogModel(repo); m != nil {
		return m.task
	}
	l := strings.ToLower(repo)
	switch {
	case strings.Contains(l, "sentence-transformers/"), strings.Contains(l, "minilm"), strings.Contains(l, "bge-"),
		strings.Contains(l, "/e5-"), strings.Contains(l, "embed"), strings.Contains(l, "gte-"):
		return "feature-extraction"
	case strings.Contains(l, "stable-diffusion"), strings.Contains(l, "flux"), strings.Contains(l, "sdxl"):
		return "text-to-image"
	case strings.Contains(l, "sst-2"), strings.Contains(l, "sentiment"):
		return "text-classification"
	}
	return "text-generation"
}
