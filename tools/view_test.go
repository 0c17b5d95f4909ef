package tools

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

func TestEndpointSummariesReadAsBefore(t *testing.T) {
	full := EndpointView{
		EndpointStatus: EndpointStatus{Name: "ep", Namespace: "acme", State: "running", Message: "  warm ", URL: "https://x.endpoints.huggingface.cloud",
			ReadyReplica: 2, TargetReplica: 3},
		Repository: "gpt2", Task: "text-generation", Vendor: "aws", Region: "us-east-1", Accelerator: "gpu",
		InstanceType: "nvidia-a10g", InstanceSize: "x1", MinReplica: 0, MaxReplica: 12,
	}
	bare := EndpointView{EndpointStatus: EndpointStatus{Name: "é", State: "pending", ReadyReplica: -1, TargetReplica: 1234567}}
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"get_endpoint, everything", EndpointResult{Endpoint: full}.Summary(),
			"acme/ep: running — 2/3 replicas ready (warm)\nurl: https://x.endpoints.huggingface.cloud\n" +
				"model: gpt2 (text-generation)\nhardware: aws/us-east-1 gpu nvidia-a10g x1, replicas 0–12"},
		{"get_endpoint, next to nothing", EndpointResult{Endpoint: bare}.Summary(),
			"é: pending — -1/1234567 replicas ready\nmodel:  ()\nhardware: /   , replicas 0–0"},
		{"status", StatusResult{Endpoint: full.EndpointStatus, Note: "note"}.Summary(),
			"acme/ep: running — 2/3 replicas ready (warm)\nurl: https://x.endpoints.huggingface.cloud\nnote"},
		{"progress", progressLine(&hfapi.Endpoint{Status: hfapi.Status{State: hfapi.StateInitializing, ReadyReplica: 0, TargetReplica: 1}}),
			"initializing — 0/1 replicas ready"},
		{"progress without an endpoint", progressLine(nil), "waiting for the endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, tt.got) })
	}
}
