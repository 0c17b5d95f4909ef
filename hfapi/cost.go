package hfapi

import (
	"fmt"
	"math"
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
		return Cost{}, fmt.Errorf("no price for %s %s %s (id %q) in the hardware catalog; list_hardware shows what is offered",
			c.Accelerator, c.InstanceType, c.InstanceSize, c.ID)
	}
	maxR := max(c.Scaling.MaxReplica, 1)
	minR := max(c.Scaling.MinReplica, 0)
	return Cost{Min: price * float64(minR), Max: price * float64(maxR), PricePerHour: price, Currency: "USD"}, nil
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
