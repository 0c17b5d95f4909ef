package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/audit"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/confirm"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/internal/replicas"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/resources"
)

// Environment variables of the shared-state flags (flags win).
const (
	envStateDir       = "HF_MCP_STATE_DIR"
	envSigningKeyFile = "HF_MCP_SIGNING_KEY_FILE"
	envRedisURL       = "HF_MCP_REDIS_URL"
)

// groupState titles the shared-state flags in serve's usage.
const groupState = "State across restarts and replicas"

// stateConfig is where serve keeps what must outlive a process or be shared by replicas.
type stateConfig struct {
	dir      string // "" = the default state directory
	keyFile  string
	redisURL string
}

func (s *stateConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&s.dir, "state-dir", envOr(envStateDir, ""),
		"directory for the signing key, the ledger of used confirmations, the emulator's endpoints and the generated HTTP token (default $XDG_STATE_HOME/hf-endpoints-mcp) (env "+envStateDir+")")
	fs.StringVar(&s.keyFile, "signing-key-file", envOr(envSigningKeyFile, ""),
		"file holding the key that signs confirmations (≥ 32 bytes, mode 0600); replicas share it (default: one created in the state directory) (env "+envSigningKeyFile+")")
	fs.StringVar(&s.redisURL, "redis-url", envOr(envRedisURL, ""),
		"redis://host:port/db shared by replicas: confirmations redeem once across all of them, and one replica polls each watched namespace (env "+envRedisURL+")")
}

// stateDir returns the configured or default state directory ("" with an
// error when there is no default: no XDG_STATE_HOME and no home).
func (s *stateConfig) stateDir() (string, error) {
	if s.dir != "" {
		return s.dir, nil
	}
	p, err := audit.DefaultPath() // the audit log's default directory is the state directory
	if err != nil {
		return "", err
	}
	return filepath.Dir(p), nil
}

// sharedState is what the replicas of a server, and its successive processes, share.
type sharedState struct {
	issuer *hfapi.Issuer
	store  *replicas.Store // nil without --redis-url
	dir    string          // "" when the state lives in this process only
}

// openState loads or creates the signing key and opens the ledger of used
// confirmations: in Redis with --redis-url, else in the state directory. An
// explicit setting that cannot be honoured stops the server; a missing
// default state directory only costs tokens their survival of a restart.
func openState(cfg stateConfig, logger *slog.Logger) (*sharedState, error) {
	st := &sharedState{}
	dir, dirErr := cfg.stateDir()
	opts := confirm.Options{}
	switch {
	case cfg.keyFile != "":
		key, err := confirm.LoadKey(cfg.keyFile)
		if err != nil {
			return nil, fmt.Errorf("--signing-key-file: %w", err)
		}
		opts.Key = key
	case dirErr == nil:
		key, err := confirm.KeyInDir(dir)
		if err != nil {
			if cfg.dir != "" {
				return nil, fmt.Errorf("--state-dir: %w", err)
			}
			logger.Warn("confirmations will not survive a restart: the state directory is unusable (set --state-dir)", "err", err)
			dir = ""
		}
		opts.Key = key
	default:
		logger.Warn("confirmations will not survive a restart: there is no state directory (set --state-dir)", "err", dirErr)
		dir = ""
	}
	if dirErr != nil {
		dir = ""
	}
	st.dir = dir
	switch {
	case cfg.redisURL != "":
		store, err := replicas.Open(cfg.redisURL, replicas.Options{Logger: logger.With("component", "replicas")})
		if err != nil {
			return nil, fmt.Errorf("--redis-url: %w", err)
		}
		if err := store.Ping(context.Background()); err != nil {
			logger.Warn("Redis does not answer yet: confirmations are refused and each replica polls on its own until it does", "err", err)
		}
		logger.Info("sharing state through Redis", "redis", store.Addr(), "replica", store.ID())
		st.store, opts.Ledger = store, store.Ledger()
	case dir != "":
		ledger, err := confirm.NewFileLedger(filepath.Join(dir, "confirmations"))
		if err != nil {
			return nil, fmt.Errorf("the state directory %s: %w", dir, err)
		}
		opts.Ledger = ledger
	}
	issuer, err := confirm.New(opts)
	if err != nil {
		return nil, err
	}
	st.issuer = issuer
	return st, nil
}

// endpointLocks serialise changes of one endpoint across replicas, or are nil without Redis
// (then each process's own lock is all there is).
func (st *sharedState) endpointLocks() hfapi.EndpointLocker {
	if st == nil || st.store == nil {
		return nil
	}
	return st.store.EndpointLocks()
}

// sharePolling is the replicas' polling share for the resources, or nil without Redis.
func (st *sharedState) sharePolling() resources.SharePolling {
	if st.store == nil {
		return nil
	}
	return func(scope, ns string, onList func([]byte), onLead func()) resources.PollShare {
		return st.store.Share(scope, ns, onList, onLead)
	}
}

func (st *sharedState) close() {
	if st.store != nil {
		_ = st.store.Close()
	}
}
