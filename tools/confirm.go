package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/audit"
)

// ConfirmMode is how a human confirms deletes and costly actions (--confirm-with).
type ConfirmMode string

// Confirmation modes.
const (
	// ConfirmAuto asks through elicitation when the client declared it and the
	// transport carries it, and falls back to the two-call token flow otherwise.
	ConfirmAuto ConfirmMode = "auto"
	// ConfirmElicitation only asks through elicitation: a client that cannot
	// answer one cannot confirm anything.
	ConfirmElicitation ConfirmMode = "elicitation"
	// ConfirmToken always uses the two-call token flow: a preview with a
	// confirmation_token, then the same call carrying it.
	ConfirmToken ConfirmMode = "token"
)

// ParseConfirmMode reads a --confirm-with value; "" is ConfirmAuto.
func ParseConfirmMode(s string) (ConfirmMode, error) {
	switch m := ConfirmMode(strings.TrimSpace(strings.ToLower(s))); m {
	case "":
		return ConfirmAuto, nil
	case ConfirmAuto, ConfirmElicitation, ConfirmToken:
		return m, nil
	}
	return "", fmt.Errorf("unknown confirmation mode %q; use auto, elicitation or token", s)
}

// Confirmable is embedded by the inputs of guarded tools.
type Confirmable struct {
	ConfirmationToken string `json:"confirmation_token,omitempty" jsonschema_description:"From the preview, once the user agreed."`
}

// confirmKey names the confirmation form among a request's input requests.
const confirmKey = "confirm"

// Confirmation statuses reported in results.
const (
	statusConfirmationRequired = "confirmation_required"
	statusDeclined             = "declined"
	statusCancelled            = "cancelled"
	statusNotConfirmed         = "not_confirmed" // the typed name did not match, or approve was not true
)

// Preview describes a guarded action awaiting confirmation. Summary names the
// endpoint, its state, model and hardware; the cost is an estimate at max replicas.
type Preview struct {
	Action        string   `json:"action"`
	Target        string   `json:"target"`
	Summary       string   `json:"summary"`
	HourlyCostUSD *float64 `json:"hourly_cost_usd,omitempty"`
	CeilingUSD    *float64 `json:"ceiling_usd,omitempty"`
	ExpiresAt     string   `json:"expires_at,omitempty"`
}

func previewOf(p *hfapi.Plan) *Preview {
	v := &Preview{Action: string(p.Action), Target: p.Target(), Summary: p.Summary(), ExpiresAt: p.Expires.UTC().Format(time.RFC3339)}
	if p.Cost != nil {
		c := p.Cost.Max
		v.HourlyCostUSD = &c
	}
	if p.Ceiling >= 0 && p.Action != hfapi.ActionDelete {
		c := p.Ceiling
		v.CeilingUSD = &c
	}
	return v
}

// confirmPath is how this call gets its confirmation.
type confirmPath int

const (
	pathToken       confirmPath = iota // preview + confirmation_token, then a second call
	pathElicit                         // a form the client shows the user
	pathUnavailable                    // elicitation required but impossible
)

func (c *Call) confirmPath(ctx context.Context) confirmPath {
	switch c.ConfirmWith {
	case ConfirmToken:
		return pathToken
	case ConfirmElicitation:
		if canElicit(ctx) {
			return pathElicit
		}
		return pathUnavailable
	}
	if canElicit(ctx) {
		return pathElicit
	}
	return pathToken
}

// canElicit reports whether the client of this request can show a form: it
// declared the elicitation capability (per request from 2026-07-28 on, at
// initialize before) and, for older clients, the transport can carry the
// server's request (legacy SSE sessions cannot).
func canElicit(ctx context.Context) bool {
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.Modern {
		return formCapable(info.ClientCapabilities)
	}
	session := server.ClientSessionFromContext(ctx)
	if _, ok := session.(server.SessionWithElicitation); !ok {
		return false
	}
	withInfo, ok := session.(server.SessionWithClientInfo)
	if !ok {
		return false
	}
	caps := withInfo.GetClientCapabilities()
	return formCapable(&caps)
}

// formCapable: an empty elicitation capability means form support.
func formCapable(caps *mcp.ClientCapabilities) bool {
	if caps == nil || caps.Elicitation == nil {
		return false
	}
	return caps.Elicitation.Form != nil || caps.Elicitation.URL == nil
}

// elicitationAnswer returns the user's answer when this call is the retry of
// a confirmation form: the request state is the plan's token, which only this
// server can have issued.
func elicitationAnswer(call *Call) (answer *mcp.ElicitationResult, token string, retry bool) {
	p := call.Request.Params
	answer = server.ElicitationResponse(p.InputResponses, confirmKey)
	return answer, p.RequestState, answer != nil || p.RequestState != ""
}

// errElicitOnly is the refusal when --confirm-with elicitation meets a client that cannot elicit.
func errElicitOnly(tool string) error {
	return errNext("use a client that supports elicitation over stdio or streamable HTTP, or start the server with --confirm-with auto",
		"%s needs the user's confirmation through a form (--confirm-with elicitation), and this client or transport cannot show one; nothing was done", tool)
}

// errTokenWithForm refuses a confirmation_token when the user is asked through a form.
func errTokenWithForm(tool string) error {
	return errNext("call "+tool+" again without confirmation_token: the user will be asked directly",
		"this client confirms through a form shown to the user, so %s does not accept a confirmation_token; nothing was done", tool)
}

// declinedNote says what the user's answer was and that nothing (what) happened.
func declinedNote(answer *mcp.ElicitationResult, what string) (status, note string) {
	if answer == nil || answer.Action == mcp.ElicitationResponseActionCancel {
		return statusCancelled, "the user cancelled the confirmation; nothing was " + what
	}
	return statusDeclined, "the user declined; nothing was " + what
}

// approveForm asks the user to accept or decline a costly action.
func approveForm(p *hfapi.Plan) *mcp.CallToolResult {
	return server.NewInputRequestBuilder(p.Token).Elicit(confirmKey, mcp.ElicitationParams{
		Mode:    mcp.ElicitationModeForm,
		Message: p.Summary() + ". It is billed per replica-hour while it runs. Accept to go ahead, decline to do nothing.",
		RequestedSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"approve": map[string]any{"type": "boolean", "title": "Approve this spending", "default": true,
					"description": fmt.Sprintf("Estimated %s", p.CostText())},
			},
			"required": []string{"approve"},
		},
	}).ToolResult()
}

// approved reports whether an answer to approveForm accepts the action:
// accepted with approve exactly JSON true. Anything else (false, "true",
// "yes", 1, missing) is not an approval: spending needs an unambiguous yes.
func approved(answer *mcp.ElicitationResult) bool {
	if answer == nil || answer.Action != mcp.ElicitationResponseActionAccept {
		return false
	}
	content, _ := answer.Content.(map[string]any)
	ok, isBool := content["approve"].(bool)
	return isBool && ok
}

// notApprovedNote says why an answer to approveForm did not approve.
func notApprovedNote(answer *mcp.ElicitationResult) (status, note string) {
	if answer == nil || answer.Action != mcp.ElicitationResponseActionAccept {
		return declinedNote(answer, "done")
	}
	content, _ := answer.Content.(map[string]any)
	v, set := content["approve"]
	got := "no approve field"
	if set {
		b, _ := json.Marshal(v)
		got = fmt.Sprintf("approve was %.40s", b)
	}
	return statusNotConfirmed, "not approved: the form came back accepted with " + got + ", and only approve: true approves; nothing was done"
}

// GuardedResult is the result of create, update and resume: the endpoint once
// the action ran, or the preview of an action awaiting confirmation.
type GuardedResult struct {
	Endpoint *EndpointStatus `json:"endpoint,omitempty"`
	Ready    *bool           `json:"ready,omitempty"`
	Note     string          `json:"note,omitempty"`
	// Status is set when nothing ran: confirmation_required, declined, cancelled
	// or not_confirmed (the form was accepted without approve: true).
	Status            string   `json:"status,omitempty"`
	Preview           *Preview `json:"preview,omitempty"`
	ConfirmationToken string   `json:"confirmation_token,omitempty"`

	pending *mcp.CallToolResult // a confirmation form (multi round-trip result)
}

// Summary is the endpoint's state, or what awaits confirmation.
func (r GuardedResult) Summary() string {
	if r.Endpoint != nil {
		return StatusResult{Endpoint: *r.Endpoint, Ready: r.Ready, Note: r.Note}.Summary()
	}
	return previewText(r.Preview, r.Note, r.ConfirmationToken)
}

// previewText is the text of a result that did nothing yet: the preview, the
// note, and the token for clients that only show text to the model.
func previewText(p *Preview, note, token string) string {
	s := note
	if p != nil {
		s = p.Summary + "\n" + note
	}
	if token != "" {
		s += "\nconfirmation_token: " + token
	}
	return s
}

// Override answers with the confirmation form when one is pending.
func (r GuardedResult) Override() *mcp.CallToolResult { return r.pending }

func guardedFrom(s StatusResult) GuardedResult {
	ep := s.Endpoint
	return GuardedResult{Endpoint: &ep, Ready: s.Ready, Note: s.Note}
}

// guarded runs a create, update or resume; when hfapi asks for a
// confirmation it asks the user (form) or returns a preview with a token.
// act sends the request with the given options.
func guarded(ctx context.Context, call *Call, tool, token string, act func(opts ...hfapi.ActionOption) (StatusResult, error)) (GuardedResult, error) {
	path := call.confirmPath(ctx)
	if path == pathElicit {
		if token != "" {
			noteOutcome(ctx, audit.OutcomeRefused, "confirmation_token given to a client that confirms through forms")
			return GuardedResult{}, errTokenWithForm(tool)
		}
		if answer, state, retry := elicitationAnswer(call); retry {
			if !approved(answer) {
				status, note := notApprovedNote(answer)
				noteOutcome(ctx, audit.OutcomeRefused, note)
				return GuardedResult{Status: status, Note: note}, nil
			}
			return ranGuarded(ctx, call, act, state)
		}
	}
	if path == pathToken && token != "" {
		return ranGuarded(ctx, call, act, token)
	}
	res, err := act()
	var need *hfapi.ConfirmationRequiredError
	if !errors.As(err, &need) {
		return guardedFrom(res), err
	}
	noteOutcome(ctx, audit.OutcomeConfirmationRequired, "")
	switch path {
	case pathElicit:
		return GuardedResult{pending: approveForm(need.Plan)}, nil
	case pathUnavailable:
		return GuardedResult{}, errElicitOnly(tool)
	}
	return GuardedResult{Status: statusConfirmationRequired, Preview: previewOf(need.Plan), ConfirmationToken: need.Plan.Token,
		Note: fmt.Sprintf("nothing was done: show the user this preview; if they agree, call %s again with the same arguments and confirmation_token (valid until %s, once)",
			tool, need.Plan.Expires.UTC().Format(time.RFC3339))}, nil
}

// ranGuarded runs a confirmed action, recording a refused token as such.
func ranGuarded(ctx context.Context, call *Call, act func(opts ...hfapi.ActionOption) (StatusResult, error), token string) (GuardedResult, error) {
	res, err := act(hfapi.WithConfirmation(token))
	var refused *hfapi.ConfirmationRefusedError
	if errors.As(err, &refused) {
		noteOutcome(ctx, audit.OutcomeRefused, refused.Error())
	}
	return guardedFrom(res), err
}
