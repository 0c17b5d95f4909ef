// Package prompts holds the MCP prompts that turn common Inference Endpoints jobs
// into step-by-step instructions naming the exact tools to call, and their argument completions.
package prompts

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Argument describes one prompt argument.
type Argument struct {
	Name        string
	Description string
	Required    bool
}

// Prompt is one MCP prompt: its metadata and a function that renders the
// instructions from the arguments (missing optional arguments are empty).
type Prompt struct {
	Name        string
	Title       string
	Description string
	Arguments   []Argument
	Render      func(args map[string]string) (string, error)
}

// All returns every prompt, in the order clients list them.
func All() []Prompt {
	return []Prompt{deployModel, batchJob, costReview, troubleshootEndpoint}
}

// ServerPrompts adapts prompts to mcp-go.
func ServerPrompts(ps []Prompt) []server.ServerPrompt {
	out := make([]server.ServerPrompt, 0, len(ps))
	for _, p := range ps {
		out = append(out, server.ServerPrompt{Prompt: p.mcpPrompt(), Handler: p.handle})
	}
	return out
}

func (p Prompt) mcpPrompt() mcp.Prompt {
	opts := []mcp.PromptOption{mcp.WithPromptTitle(p.Title), mcp.WithPromptDescription(p.Description)}
	for _, a := range p.Arguments {
		argOpts := []mcp.ArgumentOption{mcp.ArgumentDescription(a.Description)}
		if a.Required {
			argOpts = append(argOpts, mcp.RequiredArgument())
		}
		opts = append(opts, mcp.WithArgument(a.Name, argOpts...))
	}
	return mcp.NewPrompt(p.Name, opts...)
}

// ErrInvalidParams marks an error in the arguments a client sent (an unknown
// or missing prompt argument, a value out of range, a prompt that does not
// exist): the server answers it as JSON-RPC invalid params (-32602).
var ErrInvalidParams = errors.New("invalid params")

// handle validates the arguments (required present, no unknown names) and renders the prompt.
func (p Prompt) handle(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	args := make(map[string]string, len(req.Params.Arguments))
	known := make(map[string]bool, len(p.Arguments))
	for _, a := range p.Arguments {
		known[a.Name] = true
	}
	for k, v := range req.Params.Arguments {
		if !known[k] {
			return nil, fmt.Errorf("%w: prompt %s has no argument %q; its arguments are %s", ErrInvalidParams, p.Name, k, p.argumentNames())
		}
		args[k] = strings.TrimSpace(v)
	}
	for _, a := range p.Arguments {
		if a.Required && args[a.Name] == "" {
			return nil, fmt.Errorf("%w: prompt %s needs the argument %q (%s)", ErrInvalidParams, p.Name, a.Name, a.Description)
		}
	}
	text, err := p.Render(args)
	if err != nil {
		return nil, fmt.Errorf("%w: prompt %s: %w", ErrInvalidParams, p.Name, err)
	}
	return mcp.NewGetPromptResult(p.Description, []mcp.PromptMessage{
		mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(text)),
	}), nil
}

func (p Prompt) argumentNames() string {
	names := make([]string, 0, len(p.Arguments))
	for _, a := range p.Arguments {
		names = append(names, a.Name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// nsArg renders the namespace part of a tool call: empty means the default namespace.
func nsArg(ns string) string {
	if ns == "" {
		return ""
	}
	return fmt.Sprintf(`, "namespace": %q`, ns)
}

var deployModel = Prompt{
	Name:        "deploy_model",
	Title:       "Deploy a model",
	Description: "Deploy a Hub model to a new Inference Endpoint on suitable hardware, within a cost ceiling.",
	Arguments: []Argument{
		{Name: "repository", Description: "Hub model id, e.g. openai-community/gpt2", Required: true},
		{Name: "task", Description: "pipeline task, e.g. text-generation (optional: read it from the model card)"},
		{Name: "max_hourly_cost", Description: "the most to spend per hour in USD (optional)"},
	},
	Render: func(a map[string]string) (string, error) {
		task := a["task"]
		if task == "" {
			task = "the model's pipeline task (from its model card)"
		}
		budget := "as little as the model needs"
		if c := a["max_hourly_cost"]; c != "" {
			f, err := strconv.ParseFloat(c, 64)
			if err != nil || f <= 0 {
				return "", fmt.Errorf("max_hourly_cost must be a positive number of USD per hour, like 1.5; got %q", c)
			}
			budget = fmt.Sprintf("at most %s USD per hour for all replicas", strconv.FormatFloat(f, 'f', -1, 64))
		}
		return fmt.Sprintf(`Deploy the Hugging Face model %[1]s as an Inference Endpoint for %[2]s, spending %[3]s.

1. Call list_catalog and check whether %[1]s is in the catalog. If it is, prefer create_endpoint_from_catalog {"repository": %[1]q}: the catalog picks tested hardware and settings.
2. Otherwise call list_hardware and pick the cheapest instance (vendor, region, instance_type, instance_size) with enough memory for the model; an accelerator of "gpu" is needed for large generative models, "cpu" suits small ones. Keep the price per hour × max_replica within the budget.
3. Call create_endpoint with endpoint_name (lowercase letters, digits and '-', at most 32 characters), repository %[1]q, framework "pytorch", task, accelerator, vendor, region, instance_type, instance_size, min_replica 0 and scale_to_zero_timeout 15 so it costs nothing when idle, and "wait": true.
4. If the server asks for a confirmation because of the cost, show the user the hourly figure and let them decide.
5. When wait_for_endpoint (or wait: true) reports the endpoint running, test it once: text_generation for text models, feature_extraction for embedding models, text_to_image for diffusion models.
6. Report the endpoint's name, URL, hardware and hourly cost to the user.`, a["repository"], task, budget), nil
	},
}

var batchJob = Prompt{
	Name:        "batch_job",
	Title:       "Run a batch job on an endpoint",
	Description: "Resume an endpoint, wait until it is ready, run a list of jobs on it, then pause it so it stops costing money.",
	Arguments: []Argument{
		{Name: "endpoint_name", Description: "the endpoint to run the jobs on", Required: true},
		{Name: "namespace", Description: "user or organization that owns it (optional: the default namespace)"},
	},
	Render: func(a map[string]string) (string, error) {
		return fmt.Sprintf(`Run a batch job on the Inference Endpoint %[1]s, paying only while it runs.

1. Call get_endpoint {"endpoint_name": %[1]q%[2]s} and note its state and task.
2. If it is paused or scaledToZero, call resume_endpoint {"endpoint_name": %[1]q%[2]s, "wait": true}. If it is already running, go on.
3. Call wait_for_endpoint {"endpoint_name": %[1]q%[2]s, "timeout_seconds": 900} until it reports the endpoint running. If it fails, stop and use the troubleshoot_endpoint prompt.
4. Ask the user for the list of inputs if you do not have it, then run every job with the tool for the endpoint's task (text_generation, chat_completion, feature_extraction or text_to_image), collecting each result.
5. Whatever happened, call pause_endpoint {"endpoint_name": %[1]q%[2]s} at the end so the endpoint stops billing.
6. Report the results and how many jobs succeeded or failed.`, a["endpoint_name"], nsArg(a["namespace"])), nil
	},
}

var costReview = Prompt{
	Name:        "cost_review",
	Title:       "Review endpoint costs",
	Description: "Find the endpoints that are costing money and suggest pausing or scaling them to zero.",
	Arguments: []Argument{
		{Name: "namespace", Description: `user or organization to review, or "*" for all of yours (optional: the default namespace)`},
	},
	Render: func(a map[string]string) (string, error) {
		ns := a["namespace"]
		listArgs := "{}"
		if ns != "" {
			listArgs = fmt.Sprintf(`{"namespace": %q}`, ns)
		}
		return fmt.Sprintf(`Review what the Inference Endpoints in %[1]s cost, and how to spend less.

1. Call list_endpoints %[2]s. Each endpoint reports its state, hardware, replicas and estimated hourly cost.
2. Call list_hardware if you need the price of an instance to compare alternatives.
3. Make a table: endpoint, state, hardware, min/max replicas, estimated cost per hour, and per month if it kept running.
4. For each running endpoint suggest one action, with its saving:
   - pause_endpoint when it is not needed now (no cost until resumed; the URL stops working);
   - scale_endpoint_to_zero when it should stay reachable (the next request wakes it, with a cold start);
   - update_endpoint with "min_replica": 0 and a scale_to_zero_timeout so it scales to zero when idle;
   - update_endpoint with a cheaper instance_type/instance_size when the hardware is larger than the model needs.
5. Do not change anything yet: present the suggestions and act only on the ones the user approves.`, namespaceLabel(ns), listArgs), nil
	},
}

var troubleshootEndpoint = Prompt{
	Name:        "troubleshoot_endpoint",
	Title:       "Troubleshoot an endpoint",
	Description: "Find out why an endpoint is failing, slow or not answering (state, replicas, logs, metrics), and fix it.",
	Arguments: []Argument{
		{Name: "endpoint_name", Description: "the endpoint to look at", Required: true},
		{Name: "namespace", Description: "user or organization that owns it (optional: the default namespace)"},
	},
	Render: func(a map[string]string) (string, error) {
		return fmt.Sprintf(`Find out what is wrong with the Inference Endpoint %[1]s and fix it. Go from its state to its replicas, their logs and its metrics; stop as soon as you know the cause.

1. State: call get_endpoint {"endpoint_name": %[1]q%[2]s}. Read its state, message, ready/target replicas, model, image and hardware.
   - paused: call resume_endpoint {"endpoint_name": %[1]q%[2]s, "wait": true}; nothing else is wrong.
   - scaledToZero: the next request wakes it; expect a cold start.
   - pending or initializing for long: call wait_for_endpoint {"endpoint_name": %[1]q%[2]s, "timeout_seconds": 600} and watch the progress; check list_hardware for quota on that instance.
2. Replicas: call list_endpoint_replicas {"endpoint_name": %[1]q%[2]s}. Note each replica's state, restarts and message; a failed replica's message often names the cause, and restarts mean it crashes.
3. Logs: call get_endpoint_logs {"endpoint_name": %[1]q%[2]s, "level": "warn", "since": "1h"}, then without "level" around the first error (add "replica" to follow one replica). Look for:
   - "CUDA out of memory" or OOMKilled: the model does not fit; choose a GPU with more memory, more GPUs (instance_size) or a smaller model (recommend_hardware lists what fits; apply it with update_endpoint).
   - a missing or gated repository, a wrong task or framework, a custom image that does not answer its health route.
   - request errors (status 4xx/5xx lines): the callers' inputs, or timeouts.
4. Metrics (when it runs but is slow or failing): call get_endpoint_metrics {"endpoint_name": %[1]q%[2]s, "metric": "p95-latency"}, then "request-count", "pending-requests" and "gpu-usage" (or "cpu-usage"). Rising latency with pending requests and usage near 100%% means it needs more replicas (max_replica) or bigger hardware; errors with low usage point back to the logs. Without "metric" you get every current counter.
5. Explain the cause to the user in one or two sentences, with the log line or metric that shows it, and the fix. Apply a fix that changes hardware or cost (update_endpoint) only once the user agrees, then confirm with wait_for_endpoint.`, a["endpoint_name"], nsArg(a["namespace"])), nil
	},
}

func namespaceLabel(ns string) string {
	switch ns {
	case "":
		return "the default namespace"
	case "*":
		return "every namespace you belong to"
	default:
		return "namespace " + ns
	}
}
