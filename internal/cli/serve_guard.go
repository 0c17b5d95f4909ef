package cli

import (
	"flag"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/audit"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/tools"
)

// Environment variables of the guardrail flags (flags win).
const (
	envConfirmWith        = "HF_MCP_CONFIRM_WITH"
	envMaxHourlyCost      = "HF_MCP_MAX_HOURLY_COST"
	envDisableDestructive = "HF_MCP_DISABLE_DESTRUCTIVE"
	envAuditLog           = "HF_MCP_AUDIT_LOG"
)

// guardConfig is how serve confirms deletes and costly actions, and audits.
type guardConfig struct {
	confirmWith        tools.ConfirmMode
	maxHourlyCost      float64 // USD/h; hfapi.NoCostCeiling when off
	disableDestructive bool
	auditLog           string // a path, audit.Off, or "" for audit.DefaultPath

	confirmRaw, costRaw string
}

// register adds the guardrail flags to fs; check validates them after parsing.
func (g *guardConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&g.confirmRaw, "confirm-with", envOr(envConfirmWith, string(tools.ConfirmAuto)),
		"how the user confirms deletes and costly actions: auto (a form when the client supports elicitation, else a confirmation token), elicitation or token (env "+envConfirmWith+")")
	fs.StringVar(&g.costRaw, "max-hourly-cost", envOr(envMaxHourlyCost, "10"),
		"estimated USD per hour (price × max replicas) above which create, update and resume need confirmation; off never asks (env "+envMaxHourlyCost+")")
	fs.BoolVar(&g.disableDestructive, "disable-destructive", envBool(envDisableDestructive),
		"remove delete_endpoint (env "+envDisableDestructive+")")
	fs.StringVar(&g.auditLog, "audit-log", envOr(envAuditLog, ""),
		"JSON-lines audit log of mutating tool calls, or off (default $XDG_STATE_HOME/hf-endpoints-mcp/audit.jsonl, or audit.jsonl in --state-dir) (env "+envAuditLog+")")
}

func (g *guardConfig) check() error {
	mode, err := tools.ParseConfirmMode(g.confirmRaw)
	if err != nil {
		return fmt.Errorf("--confirm-with: %w", err)
	}
	g.confirmWith = mode
	if g.maxHourlyCost, err = parseMaxHourlyCost(g.costRaw); err != nil {
		return err
	}
	return nil
}

// parseMaxHourlyCost reads --max-hourly-cost: a positive number, or off. Zero
// and negative values are refused rather than guessed at: "0" could mean
// "always ask" as well as "never ask".
func parseMaxHourlyCost(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "off") || strings.EqualFold(s, "none") {
		return hfapi.NoCostCeiling, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("--max-hourly-cost %q: use a positive number of USD per hour such as 10 (0.01 asks for almost every paid action), or off to never ask", s)
	}
	return v, nil
}

// openAuditLog opens the audit log the flags name. A log that cannot be
// opened stops the server: running without the audit trail asked for would be
// worse than not running.
func openAuditLog(g guardConfig, logger *slog.Logger) (*audit.Log, error) {
	log, err := audit.Open(g.auditLog)
	if err != nil {
		return nil, fmt.Errorf("%w (pass --audit-log with a writable path, or --audit-log off)", err)
	}
	if log.Enabled() {
		logger.Debug("audit log", "path", log.Path())
	}
	return log, nil
}

// guardClient applies the guardrails to the configuration of the server's own
// client and keeps its token out of the audit log.
func (b *backend) guardClient(cfg *hfapi.Config) {
	b.guard(cfg)
	b.audit.AddSecrets(cfg.Token)
}

// guardCallerClient is guardClient for a caller's token (pass-through): the
// audit log keeps only a bounded number of callers' tokens to scrub.
func (b *backend) guardCallerClient(cfg *hfapi.Config) {
	b.guard(cfg)
	b.audit.AddCallerSecret(cfg.Token)
}

func (b *backend) guard(cfg *hfapi.Config) {
	cfg.MaxHourlyCost = b.cfg.guard.maxHourlyCost
	cfg.Confirmations = b.issuer
	cfg.EndpointLocks = b.state.endpointLocks()
}
