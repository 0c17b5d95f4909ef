package hfapi

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/nearest"
)

// Cost is an hourly cost estimate in USD.
type Cost struct {
	Min          float64 // at minReplica (0 when the endpoint may scale to zero)
	Max          float64 // at maxReplica
	PricePerHour float64 // of one replica
	Currency     string  // "USD"
}

// EstimateHourlyCost prices c from the hardware catalog (ListHardware): pricePerHour × maxReplica
// (Max) and × minReplica (Min). The instance is matched by compute id when set, else by accelerator,
// instance type and size; when several regions match with different prices the highest is used, so
// that the estimate errs on the side of caution. A maxReplica below 1 counts as the API default 1.
func EstimateHourlyCost(c Compute, vendors []Vendor) (Cost, error) {
	return estimate(c, vendors, "", "")
}

// EstimateEndpointCost is EstimateHourlyCost restricted to the endpoint's own vendor and region.
func EstimateEndpointCost(ep *Endpoint, vendors []Vendor) (Cost, error) {
	return estimate(ep.Compute, vendors, ep.Provider.Vendor, ep.Provider.Region)
}

func estimate(c Compute, vendors []Vendor, vendor, region string) (Cost, error) {
	price, found := math.Inf(-1), false
	for _, v := range vendors {
		if vendor != "" && v.Name != vendor {
			continue
		}
		for _, r := range v.Regions {
			if region != "" && r.Name != region {
				continue
			}
			for _, h := range r.Computes {
				if !matches(c, h) {
					continue
				}
				if err := checkPrice(h); err != nil {
					return Cost{}, err
				}
				price, found = math.Max(price, h.PricePerHour), true
			}
		}
	}
	if !found {
		return Cost{}, &UnknownHardwareError{Compute: c, Vendor: vendor, Region: region, Nearest: nearestOffers(c, vendors, vendor, region, 3)}
	}
	maxR := max(c.Scaling.MaxReplica, 1)
	minR := max(c.Scaling.MinReplica, 0)
	return Cost{Min: price * float64(minR), Max: price * float64(maxR), PricePerHour: price, Currency: "USD"}, nil
}

// UnknownHardwareError says that the hardware catalog offers no instance like Compute (in Vendor and
// Region, when set): the API would refuse it, so it is no action to confirm. Nearest are the offers
// most like it, for the next step.
type UnknownHardwareError struct {
	Compute        Compute
	Vendor, Region string
	Nearest        []Offer
}

func (e *UnknownHardwareError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no %s instance %s %s is offered", cmp.Or(e.Compute.Accelerator, "such"), e.Compute.InstanceType, e.Compute.InstanceSize)
	if e.Compute.ID != "" {
		fmt.Fprintf(&b, " (compute id %q)", e.Compute.ID)
	}
	if where := strings.TrimSpace(e.Vendor + " " + e.Region); where != "" {
		fmt.Fprintf(&b, " in %s", where)
	}
	b.WriteString("; list_hardware lists the offers")
	for i, o := range e.Nearest {
		if i == 0 {
			b.WriteString("; the nearest are ")
		} else {
			b.WriteString(", ")
		}
		h := o.Hardware
		fmt.Fprintf(&b, "%s %s %s (%s %s, %.2f USD/h)", h.Accelerator, h.InstanceType, h.InstanceSize, o.Vendor, o.Region, h.PricePerHour)
	}
	return b.String()
}

// nearestOffers ranks the catalog's offers by likeness to c: the same accelerator, a similar instance
// type, the same size, then the same vendor and region; cheaper first among equals.
func nearestOffers(c Compute, vendors []Vendor, vendor, region string, n int) []Offer {
	type ranked struct {
		Offer
		score int
	}
	var all []ranked
	for _, v := range vendors {
		for _, r := range v.Regions {
			for _, h := range r.Computes {
				score := nearest.Distance(strings.ToLower(c.InstanceType), strings.ToLower(h.InstanceType))
				if c.Accelerator != "" && h.Accelerator != c.Accelerator {
					score += 20
				}
				if h.InstanceSize != c.InstanceSize {
					score++
				}
				if (vendor != "" && v.Name != vendor) || (region != "" && r.Name != region) {
					score += 2
				}
				all = append(all, ranked{Offer{Vendor: v.Name, Region: r.Name, Hardware: h}, score})
			}
		}
	}
	slices.SortStableFunc(all, func(a, b ranked) int {
		return cmp.Or(cmp.Compare(a.score, b.score), cmp.Compare(a.Hardware.PricePerHour, b.Hardware.PricePerHour))
	})
	out := make([]Offer, 0, n)
	for _, r := range all {
		if len(out) == n {
			break
		}
		h := r.Hardware
		if !slices.ContainsFunc(out, func(o Offer) bool {
			return o.Hardware.Accelerator == h.Accelerator && o.Hardware.InstanceType == h.InstanceType && o.Hardware.InstanceSize == h.InstanceSize
		}) {
			out = append(out, r.Offer)
		}
	}
	return out
}

// MaxPlausiblePrice is the highest hourly price of one replica (USD) taken from the hardware
// catalog at its word. The dearest instances offered cost a few hundred USD/h; a price above this,
// below zero or not a number is a fault of the catalog, and counts as unknown, which is over any
// cost ceiling, rather than as a price an action could be let through at.
const MaxPlausiblePrice = 1000.0

// checkPrice refuses an implausible catalog price.
func checkPrice(h Hardware) error {
	p := h.PricePerHour
	if p >= 0 && p <= MaxPlausiblePrice { // false for NaN
		return nil
	}
	return fmt.Errorf("the hardware catalog gives %s %s an implausible price (%v USD/h per replica; expected 0 to %.0f), so its cost is unknown",
		h.InstanceType, h.InstanceSize, p, MaxPlausiblePrice)
}

func matches(c Compute, h Hardware) bool {
	if c.ID != "" && h.ID != "" {
		return c.ID == h.ID
	}
	return h.InstanceType == c.InstanceType && h.InstanceSize == c.InstanceSize &&
		(c.Accelerator == "" || h.Accelerator == c.Accelerator)
}
