package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// remove deletes the endpoint when the server offers delete_endpoint. The
// server asks for a confirmation (elicitation); onElicit answers it by typing
// namespace/name, as the person at the keyboard would.
func (s *session) remove(ctx context.Context, ep endpoint) error {
	target := ep.Namespace + "/" + ep.Name
	if !s.tools["delete_endpoint"] {
		s.out.step("delete endpoint %s: skipped, this server offers no delete_endpoint; it stays paused (not billed)", target)
		return nil
	}
	s.out.step("delete endpoint %s (the server asks for a confirmation)", target)
	s.mu.Lock()
	s.confirming = target
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.confirming = ""
		s.mu.Unlock()
	}()
	args := map[string]any{"endpoint_name": ep.Name, "namespace": ep.Namespace}
	var res deleteResult
	if err := s.call(ctx, "delete_endpoint", args, &res, ""); err != nil {
		return err
	}
	if res.Status == "confirmation_required" && res.ConfirmationToken != "" {
		// A server confirming with tokens (--confirm-with token) answers with a
		// preview first; a person reads it, agrees, and the call is repeated.
		s.out.detail("preview: %s", clip(res.Preview.Summary, 100))
		s.out.detail("agreed: calling delete_endpoint again with its confirmation_token")
		args["confirmation_token"] = res.ConfirmationToken
		if err := s.call(ctx, "delete_endpoint", args, &res, ""); err != nil {
			return err
		}
	}
	if !res.Deleted {
		return fmt.Errorf("delete_endpoint did not delete %s (status %s): %s", target, res.Status, res.Note)
	}
	if _, err := s.find(ctx, ep.Name); !errors.Is(err, errNoEndpoint) {
		return fmt.Errorf("delete_endpoint succeeded but %s is still listed (err %v)", target, err)
	}
	s.out.detail("deleted: %s is gone", target)
	return nil
}

// deleteResult is delete_endpoint's structured content.
type deleteResult struct {
	Deleted           bool   `json:"deleted"`
	Status            string `json:"status"`
	ConfirmationToken string `json:"confirmation_token"`
	Note              string `json:"note"`
	Preview           struct {
		Summary string `json:"summary"`
	} `json:"preview"`
}

// onElicit answers the server's confirmation request for the endpoint being
// deleted, filling each text field with namespace/name; anything else is declined.
func (s *session) onElicit(_ context.Context, req *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
	s.mu.Lock()
	target := s.confirming
	s.mu.Unlock()
	msg := req.Params.Message
	if target == "" || !strings.Contains(msg, target) {
		s.out.detail("server asked %q: declined (not the endpoint being deleted)", clip(msg, 80))
		return &sdk.ElicitResult{Action: "decline"}, nil
	}
	content := map[string]any{}
	schema, _ := req.Params.RequestedSchema.(map[string]any)
	props, _ := schema["properties"].(map[string]any)
	for name, p := range props {
		prop, _ := p.(map[string]any)
		switch prop["type"] {
		case "boolean":
			content[name] = true
		default:
			content[name] = target
		}
	}
	s.out.detail("server asks: %s", clip(msg, 100))
	s.out.detail("typed %q to confirm", target)
	return &sdk.ElicitResult{Action: "accept", Content: content}, nil
}
