package tools

import (
	"context"
	"fmt"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// WriteTools are the endpoints_write toolset. delete_endpoint, and create,
// update or resume over the cost ceiling, need the user's confirmation (confirm.go).
func WriteTools() []Tool {
	return []Tool{createEndpoint, createEndpointFromCatalog, updateEndpoint, pauseEndpoint, resumeEndpoint, scaleEndpointToZero, deleteEndpoint}
}

// Waiting is embedded by tools that can wait for the endpoint to be ready.
type Waiting struct {
	Wait bool `json:"wait,omitempty" jsonschema_description:"Wait until ready (≤10 min)."`
}

// ModelFields are the model settings shared by create and update, named as in huggingface_hub.
type ModelFields struct {
	Framework   string            `json:"framework,omitempty" jsonschema_description:"Default pytorch."`
	Task        string            `json:"task,omitempty" jsonschema_description:"e.g. text-generation."`
	Revision    string            `json:"revision,omitempty"`
	CustomImage map[string]any    `json:"custom_image,omitempty" jsonschema_description:"e.g. {\"vLLM\": {\"url\": \"vllm/vllm-openai\"}}."`
	Env         map[string]string `json:"env,omitempty"`
	Secrets     map[string]string `json:"secrets,omitempty"`
	// Settings of huggingface_hub 1.28.
	ScalingMetric      string   `json:"scaling_metric,omitempty" jsonschema:"enum=hardwareUsage,enum=pendingRequests"`
	ScalingThreshold   *float64 `json:"scaling_threshold,omitempty"`
	ContainerCommand   []string `json:"container_command,omitempty"`
	ContainerArgs      []string `json:"container_args,omitempty"`
	CacheHTTPResponses *bool    `json:"cache_http_responses,omitempty"`
	TensorParallelSize *int     `json:"tensor_parallel_size,omitempty" jsonschema:"minimum=1"`
	DataParallelSize   *int     `json:"data_parallel_size,omitempty" jsonschema:"minimum=1"`
}

// CreateInput is create_endpoint's input.
type CreateInput struct {
	EndpointName string `json:"endpoint_name" jsonschema_description:"New name: a-z, 0-9, '-', at most 32."`
	Namespace    string `json:"namespace,omitempty" jsonschema_description:"User or org; default: yours."`
	Repository   string `json:"repository" jsonschema_description:"Model repo id."`
	ModelFields
	Accelerator        string   `json:"accelerator" jsonschema:"enum=cpu,enum=gpu,enum=neuron"`
	Vendor             string   `json:"vendor" jsonschema_description:"e.g. aws."`
	Region             string   `json:"region" jsonschema_description:"e.g. us-east-1."`
	InstanceType       string   `json:"instance_type" jsonschema_description:"e.g. nvidia-l4."`
	InstanceSize       string   `json:"instance_size" jsonschema_description:"e.g. x1."`
	Type               string   `json:"type,omitempty" jsonschema:"enum=public,enum=authenticated,enum=protected,enum=private" jsonschema_description:"Access; default authenticated."`
	AccountID          string   `json:"account_id,omitempty" jsonschema_description:"Org that pays."`
	MinReplica         *int     `json:"min_replica,omitempty" jsonschema:"minimum=0" jsonschema_description:"Default 1; 0 allows scale to zero."`
	MaxReplica         *int     `json:"max_replica,omitempty" jsonschema:"minimum=1"`
	ScaleToZeroTimeout *int     `json:"scale_to_zero_timeout,omitempty" jsonschema:"minimum=0" jsonschema_description:"Idle minutes."`
	Tags               []string `json:"tags,omitempty"`
	Domain             string   `json:"domain,omitempty"`
	Path               string   `json:"path,omitempty"`
	Waiting
	Confirmable
}

// Validate checks the whole spec (name rule, scaling, parallelism) before anything is sent.
func (in CreateInput) Validate() error { return in.spec().Validate() }

func (in CreateInput) spec() hfapi.CreateSpec {
	framework := in.Framework
	if framework == "" {
		framework = "pytorch"
	}
	s := hfapi.CreateSpec{
		Name: in.EndpointName, Repository: in.Repository, Framework: framework, Task: in.Task,
		Accelerator: in.Accelerator, InstanceSize: in.InstanceSize, InstanceType: in.InstanceType,
		Region: in.Region, Vendor: in.Vendor, MinReplica: in.MinReplica, MaxReplica: in.MaxReplica,
		ScaleToZeroTimeout: in.ScaleToZeroTimeout, CustomImage: in.CustomImage, Env: in.Env,
		Secrets: in.Secrets, Type: in.Type, Domain: in.Domain, Path: in.Path, Tags: in.Tags,
		ScalingMetric: in.ScalingMetric, ScalingThreshold: in.ScalingThreshold, Command: in.ContainerCommand,
		Args: in.ContainerArgs, CacheHTTPResponses: in.CacheHTTPResponses, TensorParallelSize: in.TensorParallelSize,
		DataParallelSize: in.DataParallelSize, AccountID: nonEmpty(in.AccountID),
	}
	if s.Type == protectedType {
		s.Type = "authenticated"
	}
	if in.Revision != "" {
		s.Revision = &in.Revision
	}
	return s
}

// protectedType is the former name of the authenticated endpoint type; the API still accepts it
// (huggingface_hub's guide uses it), and create_endpoint sends it under its current name.
const protectedType = "protected"

// protectedNote says what became of type "protected".
const protectedNote = `type "protected" is the former name of "authenticated": the endpoint was created as authenticated (a token is needed to call it)`

// writeHints: creating adds, never overwrites; repeating it fails (name taken).
var createHints = Hints{ReadOnly: false, Destructive: false, Idempotent: false, OpenWorld: false}

var createEndpoint = Tool{
	Name:  "create_endpoint",
	Title: "Create endpoint",
	Description: `Deploy a model on dedicated hardware (billed per replica-hour; see recommend_hardware). ` +
		`Example: {"endpoint_name": "my-gpt2", "repository": "openai-community/gpt2", ` +
		`"accelerator": "cpu", "vendor": "aws", "region": "us-east-1", "instance_type": "intel-spr", "instance_size": "x2"}`,
	Toolset: EndpointsWrite,
	Hints:   createHints,
	Handler: Handle(func(ctx context.Context, call *Call, in CreateInput) (GuardedResult, error) {
		res, err := guarded(ctx, call, "create_endpoint", in.ConfirmationToken, func(opts ...hfapi.ActionOption) (StatusResult, error) {
			ep, err := call.Client.Create(ctx, in.Namespace, in.spec(), opts...)
			if err != nil {
				return StatusResult{}, err
			}
			return afterChange(ctx, call, in.Namespace, ep, in.Wait, "created; it starts in the background — call wait_for_endpoint", waitPlain)
		})
		if err == nil && in.Type == protectedType {
			res.Note = joinNonEmpty(protectedNote, res.Note)
		}
		return res, err
	}),
}

// CatalogInput is create_endpoint_from_catalog's input.
type CatalogInput struct {
	Repository   string `json:"repository" jsonschema_description:"Model repo id from list_catalog."`
	EndpointName string `json:"endpoint_name,omitempty" jsonschema_description:"Default: derived from the repository."`
	Namespace    string `json:"namespace,omitempty"`
	Accelerator  string `json:"accelerator,omitempty" jsonschema:"enum=cpu,enum=gpu,enum=neuron"`
	Waiting
	Confirmable
}

// Validate applies the name rule when a name is given.
func (in CatalogInput) Validate() error {
	if in.EndpointName == "" {
		return nil
	}
	return hfapi.ValidateName(in.EndpointName)
}

var createEndpointFromCatalog = Tool{
	Name:  "create_endpoint_from_catalog",
	Title: "Create endpoint from catalog",
	Description: `Deploy a catalog model with its tested hardware and settings (billed per replica-hour). ` +
		`Example: {"repository": "meta-llama/Llama-3.1-8B-Instruct", "wait": true}`,
	Toolset: EndpointsWrite,
	Hints:   createHints,
	Handler: Handle(func(ctx context.Context, call *Call, in CatalogInput) (GuardedResult, error) {
		return guarded(ctx, call, "create_endpoint_from_catalog", in.ConfirmationToken, func(opts ...hfapi.ActionOption) (StatusResult, error) {
			ep, err := call.Client.CreateFromCatalog(ctx, in.Namespace, hfapi.CatalogSpec{
				RepoID: in.Repository, EndpointName: in.EndpointName, Accelerator: in.Accelerator}, opts...)
			if err != nil {
				return StatusResult{}, err
			}
			return afterChange(ctx, call, in.Namespace, ep, in.Wait, "created; it starts in the background — call wait_for_endpoint", waitPlain)
		})
	}),
}

// UpdateInput is update_endpoint's input: only the fields given change.
type UpdateInput struct {
	Target
	Repository string `json:"repository,omitempty"`
	ModelFields
	Accelerator        string   `json:"accelerator,omitempty" jsonschema:"enum=cpu,enum=gpu,enum=neuron"`
	InstanceType       string   `json:"instance_type,omitempty"`
	InstanceSize       string   `json:"instance_size,omitempty"`
	MinReplica         *int     `json:"min_replica,omitempty" jsonschema:"minimum=0"`
	MaxReplica         *int     `json:"max_replica,omitempty" jsonschema:"minimum=1"`
	ScaleToZeroTimeout *int     `json:"scale_to_zero_timeout,omitempty" jsonschema:"minimum=0"`
	Tags               []string `json:"tags,omitempty"`
	Domain             string   `json:"domain,omitempty"`
	Path               string   `json:"path,omitempty"`
	Waiting
	Confirmable
}

func (in UpdateInput) spec() hfapi.UpdateSpec {
	return hfapi.UpdateSpec{
		Accelerator: nonEmpty(in.Accelerator), InstanceSize: nonEmpty(in.InstanceSize),
		InstanceType: nonEmpty(in.InstanceType), MinReplica: in.MinReplica, MaxReplica: in.MaxReplica,
		ScaleToZeroTimeout: in.ScaleToZeroTimeout, Repository: nonEmpty(in.Repository),
		Framework: nonEmpty(in.Framework), Revision: nonEmpty(in.Revision), Task: nonEmpty(in.Task),
		CustomImage: in.CustomImage, Env: in.Env, Secrets: in.Secrets, Domain: nonEmpty(in.Domain),
		Path: nonEmpty(in.Path), Tags: in.Tags, ScalingMetric: nonEmpty(in.ScalingMetric), ScalingThreshold: in.ScalingThreshold,
		Command: in.ContainerCommand, Args: in.ContainerArgs, CacheHTTPResponses: in.CacheHTTPResponses,
		TensorParallelSize: in.TensorParallelSize, DataParallelSize: in.DataParallelSize,
	}
}

// Validate rejects an update that changes nothing, naming what can change.
func (in UpdateInput) Validate() error {
	if err := in.spec().Validate(); err != nil {
		return fmt.Errorf("%w (updatable: repository, framework, task, revision, custom_image, env, secrets, "+
			"accelerator, instance_type, instance_size, min_replica, max_replica, scale_to_zero_timeout, tags, domain, path, "+
			"scaling_metric, scaling_threshold, container_command, container_args, cache_http_responses, tensor_parallel_size, data_parallel_size)", err)
	}
	return nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

var updateEndpoint = Tool{
	Name:  "update_endpoint",
	Title: "Update endpoint",
	Description: `Change an endpoint's model, hardware or scaling; only the fields given change. ` +
		`Example: {"endpoint_name": "my-gpt2", "min_replica": 0, "scale_to_zero_timeout": 15}`,
	Toolset: EndpointsWrite,
	// Overwrites configuration in place; the same update twice ends in the same state.
	Hints: Hints{ReadOnly: false, Destructive: true, Idempotent: true, OpenWorld: false},
	Handler: Handle(func(ctx context.Context, call *Call, in UpdateInput) (GuardedResult, error) {
		return guarded(ctx, call, "update_endpoint", in.ConfirmationToken, func(opts ...hfapi.ActionOption) (StatusResult, error) {
			ep, err := call.Client.Update(ctx, in.Namespace, in.EndpointName, in.spec(), opts...)
			if err != nil {
				return StatusResult{}, err
			}
			return afterChange(ctx, call, in.Namespace, ep, in.Wait, "updating; call wait_for_endpoint to follow it", waitPlain)
		})
	}),
}

// lifecycleHints: pause, resume and scale to zero are reversible and
// repeating them changes nothing more.
var lifecycleHints = Hints{ReadOnly: false, Destructive: false, Idempotent: true, OpenWorld: false}

var pauseEndpoint = Tool{
	Name:  "pause_endpoint",
	Title: "Pause endpoint",
	Description: `Stop an endpoint and its billing; its URL stops answering until resume_endpoint. ` +
		`Example: {"endpoint_name": "my-gpt2"}`,
	Toolset: EndpointsWrite,
	Hints:   lifecycleHints,
	Handler: Handle(func(ctx context.Context, call *Call, in Target) (StatusResult, error) {
		ep, err := call.Client.Pause(ctx, in.Namespace, in.EndpointName)
		if err != nil {
			return StatusResult{}, err
		}
		call.changed(ctx, in.Namespace, ep)
		return StatusResult{Endpoint: statusOf(ep, namespaceFor(ctx, call, in.Namespace)),
			Note: "paused; billing stopped. resume_endpoint starts it again"}, nil
	}),
}

// ResumeInput is resume_endpoint's input.
type ResumeInput struct {
	Target
	RunningOK *bool `json:"running_ok,omitempty" jsonschema:"default=true" jsonschema_description:"Succeed if already running."`
	Waiting
	Confirmable
}

var resumeEndpoint = Tool{
	Name:  "resume_endpoint",
	Title: "Resume endpoint",
	Description: `Start a paused (or scaled-to-zero) endpoint again. ` +
		`Example: {"endpoint_name": "my-gpt2", "wait": true}`,
	Toolset: EndpointsWrite,
	Hints:   lifecycleHints,
	Handler: Handle(func(ctx context.Context, call *Call, in ResumeInput) (GuardedResult, error) {
		runningOK := in.RunningOK == nil || *in.RunningOK
		return guarded(ctx, call, "resume_endpoint", in.ConfirmationToken, func(opts ...hfapi.ActionOption) (StatusResult, error) {
			ep, err := call.Client.Resume(ctx, in.Namespace, in.EndpointName, runningOK, opts...)
			if err != nil {
				return StatusResult{}, err
			}
			return afterChange(ctx, call, in.Namespace, ep, in.Wait, "resuming; call wait_for_endpoint to follow it", waitWaking)
		})
	}),
}

var scaleEndpointToZero = Tool{
	Name:  "scale_endpoint_to_zero",
	Title: "Scale endpoint to zero",
	Description: `Remove all replicas now (billing stops); the URL stays and the next request wakes it (cold start). ` +
		`Example: {"endpoint_name": "my-gpt2"}`,
	Toolset: EndpointsWrite,
	Hints:   lifecycleHints,
	Handler: Handle(func(ctx context.Context, call *Call, in Target) (StatusResult, error) {
		ep, err := call.Client.ScaleToZero(ctx, in.Namespace, in.EndpointName)
		if err != nil {
			return StatusResult{}, err
		}
		call.changed(ctx, in.Namespace, ep)
		return StatusResult{Endpoint: statusOf(ep, namespaceFor(ctx, call, in.Namespace)),
			Note: "scaled to zero; the next inference request wakes it"}, nil
	}),
}

// afterChange publishes and reports a changed endpoint, first waiting for it when asked.
func afterChange(ctx context.Context, call *Call, namespace string, ep *hfapi.Endpoint, wait bool, note string, mode waitMode) (StatusResult, error) {
	call.changed(ctx, namespace, ep)
	ns := namespaceFor(ctx, call, namespace)
	if !wait {
		return StatusResult{Endpoint: statusOf(ep, ns), Note: note}, nil
	}
	call.Progress.Report(progressLine(ep))
	return waitReady(ctx, call, ns, ep.Name, 0, 0, mode)
}
