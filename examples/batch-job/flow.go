package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// endpoint is the part of an endpoint's status the flow reads.
type endpoint struct {
	Name          string `json:"name"`
	Namespace     string `json:"namespace"`
	State         string `json:"state"`
	URL           string `json:"url"`
	ReadyReplica  int    `json:"ready_replica"`
	TargetReplica int    `json:"target_replica"`
}

// statusResult is what tools that change or wait for an endpoint return.
type statusResult struct {
	Endpoint endpoint `json:"endpoint"`
	Ready    *bool    `json:"ready"`
	Note     string   `json:"note"`
}

// flow is the batch job: endpoint up, jobs, pause, delete.
func (s *session) flow(ctx context.Context, cfg config) error {
	var who struct {
		Name string `json:"name"`
	}
	if err := s.call(ctx, "whoami", map[string]any{}, &who, ""); err != nil {
		return err
	}
	s.out.detail("signed in as %s", who.Name)

	ep, err := s.bringUp(ctx, cfg.endpoint)
	if err != nil {
		return err
	}
	if err := s.runJobs(ctx, ep, cfg); err != nil {
		return err
	}
	if err := s.pause(ctx, ep); err != nil {
		return err
	}
	if cfg.keep {
		s.out.step("keep the endpoint (-keep): %s/%s stays paused, which is not billed", ep.Namespace, ep.Name)
		return nil
	}
	return s.remove(ctx, ep)
}

// bringUp creates the endpoint, or resumes it when it exists, then waits
// until it serves requests.
func (s *session) bringUp(ctx context.Context, name string) (endpoint, error) {
	existing, err := s.find(ctx, name)
	var res statusResult
	switch {
	case errors.Is(err, errNoEndpoint):
		s.out.step("create endpoint %s (openai-community/gpt2 on aws us-east-1 intel-spr x2, CPU)", name)
		err = s.call(ctx, "create_endpoint", map[string]any{
			"endpoint_name": name, "repository": "openai-community/gpt2", "task": "text-generation",
			"accelerator": "cpu", "vendor": "aws", "region": "us-east-1",
			"instance_type": "intel-spr", "instance_size": "x2",
		}, &res, "")
	case err != nil:
		return endpoint{}, err
	case existing.State == "paused" || existing.State == "scaledToZero":
		s.out.step("resume endpoint %s (it was %s)", name, existing.State)
		err = s.call(ctx, "resume_endpoint", map[string]any{"endpoint_name": name}, &res, "")
	default:
		s.out.step("reuse endpoint %s (state %s)", name, existing.State)
		res.Endpoint = existing
	}
	if err != nil {
		return endpoint{}, err
	}
	s.out.detail("state: %s", res.Endpoint.State)

	s.out.step("wait until %s serves requests", name)
	var waited statusResult
	if err := s.call(ctx, "wait_for_endpoint", map[string]any{"endpoint_name": name, "timeout_seconds": 300}, &waited, "deploying"); err != nil {
		return endpoint{}, err
	}
	if waited.Ready == nil || !*waited.Ready {
		return endpoint{}, fmt.Errorf("endpoint %s is not ready (state %s): %s", name, waited.Endpoint.State, waited.Note)
	}
	s.out.detail("running at %s", waited.Endpoint.URL)
	return waited.Endpoint, nil
}

// errNoEndpoint: no endpoint has the name asked for.
var errNoEndpoint = errors.New("endpoint not found")

// find returns the endpoint named name in the default namespace, or errNoEndpoint.
func (s *session) find(ctx context.Context, name string) (endpoint, error) {
	var list struct {
		Endpoints []endpoint `json:"endpoints"`
	}
	if err := s.call(ctx, "list_endpoints", map[string]any{}, &list, ""); err != nil {
		return endpoint{}, err
	}
	for _, e := range list.Endpoints {
		if e.Name == name {
			return e, nil
		}
	}
	return endpoint{}, errNoEndpoint
}

// runJobs runs every prompt through text_generation, cfg.concurrency at a time.
func (s *session) runJobs(ctx context.Context, ep endpoint, cfg config) error {
	n := max(1, cfg.concurrency)
	s.out.step("run %d text-generation jobs, %d at a time", len(prompts), n)
	sem := make(chan struct{}, n)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		done int
	)
	for i, prompt := range prompts {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			start := time.Now()
			var out struct {
				GeneratedText string `json:"generated_text"`
			}
			err := s.call(ctx, "text_generation", map[string]any{"endpoint_name": ep.Name,
				"prompt": prompt, "max_new_tokens": cfg.maxTokens, "seed": i}, &out, "")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("job %d: %w", i+1, err))
				s.out.detail("job %d failed: %v", i+1, err)
				return
			}
			done++
			s.out.detail("job %d done in %s (%d/%d): %q → %q", i+1, time.Since(start).Round(time.Millisecond),
				done, len(prompts), clip(prompt, 40), clip(out.GeneratedText, 48))
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("jobs interrupted: %w", err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d jobs failed: %w", len(errs), len(prompts), errors.Join(errs...))
	}
	return nil
}

// pause stops billing; a paused endpoint keeps its configuration.
func (s *session) pause(ctx context.Context, ep endpoint) error {
	s.out.step("pause endpoint %s (billing stops)", ep.Name)
	var res statusResult
	if err := s.call(ctx, "pause_endpoint", map[string]any{"endpoint_name": ep.Name}, &res, ""); err != nil {
		return err
	}
	if res.Endpoint.State != "paused" {
		return fmt.Errorf("pause_endpoint left %s in state %s, want paused", ep.Name, res.Endpoint.State)
	}
	s.out.detail("state: %s", res.Endpoint.State)
	return nil
}

// clip shortens s to n runes on one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
