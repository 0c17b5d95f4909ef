package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/audit"
)

// DeleteInput is delete_endpoint's input.
type DeleteInput struct {
	Target
	Confirmable
}

// DeleteResult says whether the endpoint was deleted, or what awaits confirmation.
type DeleteResult struct {
	Deleted      bool   `json:"deleted"`
	Namespace    string `json:"namespace,omitempty"`
	EndpointName string `json:"endpoint_name"`
	// Status is deleted, confirmation_required, declined, cancelled or
	// not_confirmed (the typed name did not match).
	Status            string   `json:"status"`
	Preview           *Preview `json:"preview,omitempty"`
	ConfirmationToken string   `json:"confirmation_token,omitempty"`
	Note              string   `json:"note,omitempty"`

	pending *mcp.CallToolResult
}

// Summary says what happened and what to do next.
func (r DeleteResult) Summary() string { return previewText(r.Preview, r.Note, r.ConfirmationToken) }

// Override answers with the confirmation form when one is pending.
func (r DeleteResult) Override() *mcp.CallToolResult { return r.pending }

// Destructive reports whether the tool removes something irreversibly; --disable-destructive drops
// these. update_endpoint (destructiveHint: it overwrites configuration) is reversible and stays.
func Destructive(t Tool) bool { return t.Name == deleteEndpoint.Name }

var deleteEndpoint = Tool{
	Name:  "delete_endpoint",
	Title: "Delete endpoint",
	Description: `Delete an endpoint permanently. The user confirms in a form, or the first call returns a preview ` +
		`and a confirmation_token to pass back once they agree. To just stop billing, pause_endpoint. Example: {"endpoint_name": "my-gpt2"}`,
	Toolset: EndpointsWrite,
	Hints:   Hints{ReadOnly: false, Destructive: true, Idempotent: false, OpenWorld: false},
	Handler: Handle(deleteHandler),
}

func deleteHandler(ctx context.Context, call *Call, in DeleteInput) (DeleteResult, error) {
	ns, err := resolveNamespace(ctx, call, in.Namespace)
	if err != nil {
		return DeleteResult{}, err
	}
	noteTarget(ctx, ns, in.EndpointName)
	base := DeleteResult{Namespace: ns, EndpointName: in.EndpointName}
	switch call.confirmPath(ctx) {
	case pathUnavailable:
		noteOutcome(ctx, audit.OutcomeRefused, "no elicitation")
		return base, errElicitOnly("delete_endpoint")
	case pathElicit:
		if in.ConfirmationToken != "" {
			noteOutcome(ctx, audit.OutcomeRefused, "confirmation_token given to a client that confirms through forms")
			return base, errTokenWithForm("delete_endpoint")
		}
		if answer, state, retry := elicitationAnswer(call); retry {
			return deleteAnswered(ctx, call, base, answer, state)
		}
		plan, err := call.Client.PrepareDelete(ctx, ns, in.EndpointName)
		if err != nil {
			return base, err
		}
		noteOutcome(ctx, audit.OutcomeConfirmationRequired, "")
		base.pending = deleteForm(plan)
		return base, nil
	}
	if in.ConfirmationToken == "" {
		plan, err := call.Client.PrepareDelete(ctx, ns, in.EndpointName)
		if err != nil {
			return base, err
		}
		noteOutcome(ctx, audit.OutcomeConfirmationRequired, "")
		base.Status, base.Preview, base.ConfirmationToken = statusConfirmationRequired, previewOf(plan), plan.Token
		base.Note = fmt.Sprintf("nothing was deleted: show the user this preview; if they agree, call delete_endpoint again "+
			"with the same endpoint and confirmation_token (valid until %s, once)", plan.Expires.UTC().Format(time.RFC3339))
		return base, nil
	}
	return deleteConfirmed(ctx, call, base, in.ConfirmationToken)
}

// deleteAnswered finishes the form path: only an accepted form carrying the
// exact namespace/endpoint_name deletes.
func deleteAnswered(ctx context.Context, call *Call, base DeleteResult, answer *mcp.ElicitationResult, token string) (DeleteResult, error) {
	target := base.Namespace + "/" + base.EndpointName
	if answer == nil || answer.Action != mcp.ElicitationResponseActionAccept {
		base.Status, base.Note = declinedNote(answer, "deleted")
		noteOutcome(ctx, audit.OutcomeRefused, base.Note)
		return base, nil
	}
	content, _ := answer.Content.(map[string]any)
	typed, isText := content["confirm"].(string)
	if !isText || strings.TrimSpace(typed) != target {
		base.Status = statusNotConfirmed
		base.Note = fmt.Sprintf("the text typed did not match %s exactly; nothing was deleted", target)
		if !isText {
			base.Note = fmt.Sprintf("not confirmed: the form came back without the text %s typed in confirm; nothing was deleted", target)
		}
		noteOutcome(ctx, audit.OutcomeRefused, base.Note)
		return base, nil
	}
	return deleteConfirmed(ctx, call, base, token)
}

func deleteConfirmed(ctx context.Context, call *Call, base DeleteResult, token string) (DeleteResult, error) {
	ep, err := call.Client.Delete(ctx, base.Namespace, base.EndpointName, token)
	var refused *hfapi.ConfirmationRefusedError
	if errors.As(err, &refused) {
		noteOutcome(ctx, audit.OutcomeRefused, refused.Error())
		next := "call delete_endpoint without confirmation_token for a new preview, and confirm that one"
		if errors.Is(err, hfapi.ErrConfirmationStoreDown) {
			next = "call delete_endpoint again with the same confirmation_token in a while; if the error persists, tell the server's operator"
		}
		return base, errNext(next, "%s", refused.Error())
	}
	if err != nil {
		return base, err
	}
	call.removed(ctx, base.Namespace, base.EndpointName)
	base.Deleted, base.Status = true, "deleted"
	base.Note = fmt.Sprintf("deleted %s/%s (was %s, model %s); this cannot be undone", base.Namespace, base.EndpointName,
		ep.Status.State, ep.Model.Repository)
	return base, nil
}

// deleteForm asks the user to type namespace/endpoint_name to delete.
func deleteForm(p *hfapi.Plan) *mcp.CallToolResult {
	target := p.Target()
	return server.NewInputRequestBuilder(p.Token).Elicit(confirmKey, mcp.ElicitationParams{
		Mode:    mcp.ElicitationModeForm,
		Message: p.Summary() + ". This cannot be undone. To confirm, type " + target + " exactly.",
		RequestedSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"confirm": map[string]any{"type": "string", "title": "Type " + target + " to delete it",
					"description": "The endpoint is deleted only if this matches exactly."},
			},
			"required": []string{"confirm"},
		},
	}).ToolResult()
}

// resolveNamespace returns namespace, or the default one, which the typed
// confirmation text must name.
func resolveNamespace(ctx context.Context, call *Call, namespace string) (string, error) {
	if namespace != "" {
		return namespace, nil
	}
	return call.Client.DefaultNamespace(ctx)
}
