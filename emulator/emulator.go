// Package emulator is an offline, faithful implementation of the Hugging Face Inference Endpoints
// management API, the Hub's whoami, model information (GET /api/models/{repo}, with safetensors parameter
// counts, for the catalog's models), catalog and OAuth authorization server routes, and each endpoint's
// (emulated) inference routes.
//
// Endpoints have replicas, and the replicas behave like containers, deterministically:
//
//   - Replicas follow the scaling state: a deployment (8-character id) brings up minReplica (at least
//     one) replicas, ids <deployment>-<replica>, pending → initializing → running; pause and scale to
//     zero stop them; a request to a scaled-to-zero URL starts one; an update rolls out a new
//     deployment and stops the old one once the new one serves (GET …/replica).
//   - Each replica prints the log lines its server prints: TGI (launcher args, shards, warm-up,
//     "Connected", one tracing line per request with its timings), TEI (args, backend, "Ready", one
//     "embed{…}: Success" line per request) or the inference toolkit behind uvicorn (diffusers
//     pipelines print their progress bars); stopping prints the shutdown (GET …/logs, followed with
//     …/logs/sse).
//   - Metric series (POST …/metrics/{metric}) are computed from the requests the endpoint served:
//     their count, their emulated latency (a function of the prompt and generated tokens, the hardware
//     and the model's size), the load on the replicas that were ready, and the memory the model holds.
//   - A model that does not fit its GPU fails like the real one: when the weights of a catalog model
//     (sharded over every GPU for TGI) plus the CUDA context exceed what CUDA reports for the card, the
//     deployment ends failed with "Endpoint failed to deploy", an errorMessage and a "CUDA out of
//     memory" traceback in the logs (meta-llama/Llama-3.1-8B-Instruct on one nvidia-t4). An update onto
//     such hardware ends updateFailed, the old replicas serving on. Models outside the catalog (their
//     size is unknown) and CPU instances are not checked.
//   - Engine settings are checked as the engines would: tensorParallelSize (vLLM, sGLang) times
//     dataParallelSize (vLLM) must fit the instance's accelerators; other images take neither. The
//     settings of huggingface_hub 1.28 (compute.scaling.measure, model.command/args,
//     cacheHttpResponses, accountId, the deprecated type "protected") are accepted and echoed, and a
//     list filters by ?tags=a,b (an endpoint matches when it has every tag).
//   - Toolkit tasks answer POST / from hashes of the input: text-classification [{label, score}],
//     token-classification entities (runs of capitalised words not opening a sentence), summarization,
//     translation and text2text-generation. Re-rankers (task text-ranking) behind TEI answer POST
//     /rerank with [{index, score}], best first, from the cosine of hashed embeddings.
//
// Replicas, logs and served requests live in memory only: an emulator restarted from its StateFile
// starts the replicas of its running endpoints afresh.
package emulator

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Default values used when an Options field is left empty.
const (
	DefaultUser  = "emulator-user"
	DefaultToken = "hf_emulator"
)

// Options configure an Emulator. The zero value is usable.
type Options struct {
	// User is the account the default tokens act for (default "emulator-user").
	User string
	// Orgs are the organisations User belongs to; their namespaces are accessible with User's tokens.
	Orgs []string
	// Tokens act for User (default ["hf_emulator"]).
	Tokens []string
	// Users are extra accounts, e.g. to test namespace isolation. Tokens must be unique across users.
	Users []User
	// Timings sets how long lifecycle transitions take.
	Timings Timings
	// StateFile, when set, persists every endpoint atomically on each change and is loaded by New.
	StateFile string
	// Logger receives state transitions and request logs (default: discard). Tokens are never logged.
	Logger *slog.Logger
	// Faults are injected from the start (see InjectFault).
	Faults []Fault
	// OAuth configures the authorization server (see OAuthOptions); it is always on.
	OAuth OAuthOptions
	// Seed makes generated endpoint ids, catalog endpoint names and fault probabilities
	// reproducible. 0 picks a random seed. Emulated model output never depends on it.
	Seed int64
}

// User is an account known to the emulator.
type User struct {
	Name   string
	Orgs   []string
	Tokens []string
}

// Timings are the durations of lifecycle transitions. Zero fields take their defaults.
type Timings struct {
	// Deploy is the total pending → initializing → running time (default 3s).
	Deploy time.Duration
	// Update is the updating → running time (default 1s).
	Update time.Duration
	// ScaleUp is how long a scaled-to-zero endpoint takes to serve again (default 2s).
	ScaleUp time.Duration
	// IdleMinute is how long one "minute" of scaleToZeroTimeout lasts (default 1m; tests use ms).
	IdleMinute time.Duration
}

func (t Timings) withDefaults() Timings {
	if t.Deploy <= 0 {
		t.Deploy = 3 * time.Second
	}
	if t.Update <= 0 {
		t.Update = time.Second
	}
	if t.ScaleUp <= 0 {
		t.ScaleUp = 2 * time.Second
	}
	if t.IdleMinute <= 0 {
		t.IdleMinute = time.Minute
	}
	return t
}

// Emulator is the http.Handler serving every emulated route. Create it with New; Close it when done.
//
// It serves, on one handler: the management API under /v2 (endpoints CRUD, pause, resume,
// scale-to-zero, open-metrics, logs, replicas, metric series, provider hardware catalog), the Hub's GET /api/whoami-v2 and OAuth
// authorization server (oauth.go), the catalog under /api/catalog, and each endpoint's inference routes
// under its status.url, /e/{id}.
//
// Nothing runs a model: text, embeddings and images are computed deterministically from the
// request (see generate, embed and drawPrompt), and /info and system_fingerprint say "emulated".
type Emulator struct {
	opts    Options
	timings Timings
	log     *slog.Logger
	mux     *http.ServeMux

	users    map[string]*account // by name
	tokens   map[string]*account // by token
	counters map[string]*atomic.Int64
	oauth    *oauthServer

	sched  *scheduler
	done   chan struct{}
	closer sync.Once

	rng    *lockedRand
	reqSeq atomic.Uint64

	faults  faultSet
	store   store
	persist persister
}

// New builds an Emulator from opts, loading opts.StateFile when it exists.
func New(opts Options) (*Emulator, error) {
	if opts.User == "" {
		opts.User = DefaultUser
	}
	if len(opts.Tokens) == 0 {
		opts.Tokens = []string{DefaultToken}
	}
	e := &Emulator{
		opts:     opts,
		timings:  opts.Timings.withDefaults(),
		log:      opts.Logger,
		mux:      http.NewServeMux(),
		counters: map[string]*atomic.Int64{},
		sched:    newScheduler(),
		done:     make(chan struct{}),
		rng:      newLockedRand(opts.Seed),
		oauth:    newOAuthServer(opts.OAuth),
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if err := e.initAccounts(); err != nil {
		return nil, err
	}
	e.store.init()
	e.routes()
	for _, f := range opts.Faults {
		if err := e.InjectFault(f); err != nil {
			return nil, err
		}
	}
	if err := e.loadState(); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// ServeHTTP serves the management API, the Hub routes and the endpoints' inference routes.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Request-Id", e.newRequestID())
	e.mux.ServeHTTP(w, r)
}

// Close stops every timer and goroutine the emulator started and releases held requests.
// The emulator answers 503 afterwards. It is safe to call more than once.
func (e *Emulator) Close() error {
	e.closer.Do(func() {
		close(e.done)
		e.sched.close()
	})
	return nil
}

// Requests reports how many requests reached route (a pattern such as "/v2/endpoint/{namespace}/{name}"
// or "/e/{id}/generate") with method, including requests answered by an injected fault.
func (e *Emulator) Requests(method, route string) int64 {
	if c, ok := e.counters[method+" "+route]; ok {
		return c.Load()
	}
	return 0
}

// Routes lists the route patterns served, as "METHOD /path" strings, for Requests and InjectFault.
func (e *Emulator) Routes() []string {
	out := make([]string, 0, len(e.counters))
	for k := range e.counters {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}

func (e *Emulator) newRequestID() string {
	n := e.reqSeq.Add(1)
	return fmt.Sprintf("emu-%08x-%06x", e.rng.seedTag, n)
}

func (e *Emulator) closed() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

var errClosed = errors.New("emulator is closed")

// Username is the default user's name, the namespace the default tokens own.
func (e *Emulator) Username() string { return e.opts.User }
