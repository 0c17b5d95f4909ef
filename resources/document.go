// Package resources serves Inference Endpoint status documents as MCP resources, tracks
// subscriptions in both protocol eras and runs the one shared poller that notifies subscribers
// (shared with the server's other replicas, through a lease per namespace, when they have Redis).
package resources

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// Scheme is the URI scheme of endpoint status resources.
const Scheme = "hf-endpoints"

// URITemplate is the RFC 6570 template of an endpoint status resource.
const URITemplate = Scheme + "://{namespace}/{endpoint_name}"

// MIMEType is the media type of a status document.
const MIMEType = "application/json"

// URI returns the resource URI of an endpoint.
func URI(namespace, name string) string {
	return Scheme + "://" + url.PathEscape(namespace) + "/" + url.PathEscape(name)
}

// ParseURI splits an endpoint status URI into namespace and endpoint name.
func ParseURI(uri string) (namespace, name string, err error) {
	rest, ok := strings.CutPrefix(uri, Scheme+"://")
	if !ok {
		return "", "", fmt.Errorf("resource URI %q does not start with %s://; endpoint resources look like %s", uri, Scheme, URITemplate)
	}
	ns, nm, ok := strings.Cut(rest, "/")
	if !ok || ns == "" || nm == "" || strings.ContainsAny(nm, "/?#") {
		return "", "", fmt.Errorf("resource URI %q is not of the form %s", uri, URITemplate)
	}
	if namespace, err = url.PathUnescape(ns); err != nil {
		return "", "", fmt.Errorf("resource URI %q: bad escape in namespace: %w", uri, err)
	}
	if name, err = url.PathUnescape(nm); err != nil {
		return "", "", fmt.Errorf("resource URI %q: bad escape in endpoint name: %w", uri, err)
	}
	return namespace, name, nil
}

// StatusDocument is the JSON body of an endpoint status resource: what an assistant needs to
// know about an endpoint at a glance, flattened from the API's Endpoint object.
type StatusDocument struct {
	URI       string      `json:"uri"`
	Namespace string      `json:"namespace"`
	Name      string      `json:"endpoint_name"`
	State     hfapi.State `json:"state"`
	Message   string      `json:"message,omitempty"`
	Error     string      `json:"error_message,omitempty"`
	// URL is null while the endpoint has none (pending, paused).
	URL      *string       `json:"url"`
	Type     string        `json:"type"`
	Replicas ReplicaStatus `json:"replicas"`
	Model    ModelInfo     `json:"model"`
	Hardware HardwareInfo  `json:"hardware"`
	Scaling  ScalingInfo   `json:"scaling"`
	// Cost is null when the catalog has no price for the hardware or could not be fetched.
	Cost    *CostEstimate `json:"estimated_hourly_cost"`
	Created string        `json:"created_at,omitempty"`
	Updated string        `json:"updated_at,omitempty"`
}

// NewStatusDocument builds the status document of ep in namespace. cost may be nil.
func NewStatusDocument(namespace string, ep *hfapi.Endpoint, cost *hfapi.Cost) StatusDocument {
	d := StatusDocument{
		URI:       URI(namespace, ep.Name),
		Namespace: namespace,
		Name:      ep.Name,
		State:     ep.Status.State,
		Message:   ep.Status.Message,
		Error:     ep.Status.ErrorMessage,
		Type:      ep.Type,
		Replicas:  ReplicaStatus{Ready: ep.Status.ReadyReplica, Target: ep.Status.TargetReplica},
		Model: ModelInfo{
			Repository: ep.Model.Repository, Revision: ep.Model.Revision,
			Task: ep.Model.Task, Framework: ep.Model.Framework,
		},
		Hardware: HardwareInfo{
			Vendor: ep.Provider.Vendor, Region: ep.Provider.Region, Accelerator: ep.Compute.Accelerator,
			InstanceType: ep.Compute.InstanceType, InstanceSize: ep.Compute.InstanceSize,
		},
		Scaling: ScalingInfo{
			MinReplica: ep.Compute.Scaling.MinReplica, MaxReplica: ep.Compute.Scaling.MaxReplica,
			ScaleToZeroTimeout: ep.Compute.Scaling.ScaleToZeroTimeout,
		},
		Created: ep.Status.CreatedAt.String(),
		Updated: ep.Status.UpdatedAt.String(),
	}
	if u := ep.URL(); u != "" {
		d.URL = &u
	}
	if cost != nil {
		d.Cost = &CostEstimate{PricePerHour: cost.PricePerHour, Min: cost.Min, Max: cost.Max, Currency: cost.Currency}
	}
	return d
}

// ReplicaStatus is how many replicas serve and how many are wanted.
type ReplicaStatus struct {
	Ready  int `json:"ready"`
	Target int `json:"target"`
}

// ModelInfo is what the endpoint serves.
type ModelInfo struct {
	Repository string  `json:"repository"`
	Revision   *string `json:"revision"`
	Task       string  `json:"task,omitempty"`
	Framework  string  `json:"framework,omitempty"`
}

// HardwareInfo is where and on what the endpoint runs.
type HardwareInfo struct {
	Vendor       string `json:"vendor"`
	Region       string `json:"region"`
	Accelerator  string `json:"accelerator"`
	InstanceType string `json:"instance_type"`
	InstanceSize string `json:"instance_size"`
}

// ScalingInfo bounds the replicas.
type ScalingInfo struct {
	MinReplica int `json:"min_replica"`
	MaxReplica int `json:"max_replica"`
	// ScaleToZeroTimeout is in minutes; null when scale to zero is not configured.
	ScaleToZeroTimeout *int `json:"scale_to_zero_timeout"`
}

// CostEstimate is the estimated hourly cost in USD, from the hardware catalog's prices.
type CostEstimate struct {
	PricePerHour float64 `json:"price_per_replica_hour"`
	Min          float64 `json:"min"`
	Max          float64 `json:"max"`
	Currency     string  `json:"currency"`
}
