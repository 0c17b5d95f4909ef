package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
)

// tokenList is a repeatable --token flag.
type tokenList []string

func (t *tokenList) String() string { return fmt.Sprintf("%d token(s)", len(*t)) } // never the values
func (t *tokenList) Set(v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("empty token")
	}
	*t = append(*t, v)
	return nil
}

// emulatorHeader opens the emulator's usage.
const emulatorHeader = `Usage: hf-endpoints-mcp emulator [flags]

Runs an offline emulator of the Inference Endpoints API, the Hub's whoami, catalog and
OAuth sign-in routes, and the endpoints' inference routes (emulated models). It prints
its base URL and the environment a client needs to use it.
`

// runEmulator runs the offline Inference Endpoints emulator until ctx is cancelled.
func runEmulator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommandFlags("emulator", emulatorHeader)
	var (
		addr, user, orgs, state             *string
		tokens                              tokenList
		deploy, update, scaleUp, idleMinute *time.Duration
		seed                                *int64
		verbose                             *bool
		consent                             *string
		tokenTTL                            *time.Duration
	)
	c.group("Service", func(fs *flag.FlagSet) {
		addr = fs.String("addr", "127.0.0.1:8765", "listen address")
		user = fs.String("user", emulator.DefaultUser, "user the tokens act for")
		orgs = fs.String("orgs", "", "comma-separated organisations of the user, e.g. acme,research")
		fs.Var(&tokens, "token", "bearer `token` accepted for the user (repeatable; default "+emulator.DefaultToken+")")
		state = fs.String("state", "", "file where endpoints are persisted across restarts")
		seed = fs.Int64("seed", 0, "seed for endpoint ids and names (0: random)")
		verbose = fs.Bool("v", false, "log state transitions to stderr")
	})
	c.group("Timings", func(fs *flag.FlagSet) {
		deploy = fs.Duration("deploy-time", 3*time.Second, "time from pending to running")
		update = fs.Duration("update-time", time.Second, "time from updating to running")
		scaleUp = fs.Duration("scale-up-time", 2*time.Second, "time a scaled-to-zero endpoint takes to serve again")
		idleMinute = fs.Duration("idle-minute", time.Minute, "length of one minute of scaleToZeroTimeout (shorten to see idle scale-to-zero quickly)")
	})
	c.group("OAuth (sign-in for serve --oauth)", func(fs *flag.FlagSet) {
		consent = fs.String("oauth-consent", "approve", "answer to every sign-in: approve (as --user) or deny (the client gets error=access_denied)")
		tokenTTL = fs.Duration("oauth-token-ttl", time.Hour, "lifetime of the OAuth access tokens it issues (refresh tokens live 30 days)")
	})
	if err := c.parse(args, stdout); err != nil {
		return err
	}
	if *consent != "approve" && *consent != "deny" {
		return fmt.Errorf("--oauth-consent %q: use approve or deny", *consent)
	}
	if *tokenTTL <= 0 {
		return fmt.Errorf("--oauth-token-ttl %s: use a positive duration such as 1h or 30s", *tokenTTL)
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	opts := emulator.Options{
		User: *user, Tokens: tokens, StateFile: *state, Seed: *seed,
		Timings: emulator.Timings{Deploy: *deploy, Update: *update, ScaleUp: *scaleUp, IdleMinute: *idleMinute},
		OAuth:   emulator.OAuthOptions{Deny: *consent == "deny", TokenTTL: *tokenTTL},
		Logger:  slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	}
	for _, o := range strings.Split(*orgs, ",") {
		if o = strings.TrimSpace(o); o != "" {
			opts.Orgs = append(opts.Orgs, o)
		}
	}
	srv, err := emulator.Start(*addr, opts)
	if err != nil {
		return err
	}
	printEmulatorBanner(stdout, srv, len(tokens) == 0)
	<-ctx.Done()
	return srv.Close()
}

// printEmulatorBanner tells the user how to point clients at the emulator. A token given with
// --token is not echoed (it may be a real secret typed out of habit); the default one is.
func printEmulatorBanner(w io.Writer, s *emulator.Server, defaultToken bool) {
	tok := "<the --token you passed>"
	if defaultToken {
		tok = s.Token()
	}
	fmt.Fprintf(w, `Inference Endpoints emulator listening on %[1]s (emulated models; no network used)

# hf-endpoints-mcp
export HF_ENDPOINTS_API_URL=%[2]s
export HF_ENDPOINT=%[1]s
export HF_TOKEN=%[3]s

# huggingface_hub (its management and catalog bases are hard-coded; patch them at run time)
import huggingface_hub.constants as c; c.INFERENCE_ENDPOINTS_ENDPOINT = "%[2]s"; c.INFERENCE_CATALOG_ENDPOINT = "%[4]s"

# curl
curl -s -H "Authorization: Bearer %[3]s" %[2]s/endpoint/%[5]s

Press Ctrl-C to stop.
`, s.URL, s.APIBase(), tok, s.CatalogBase(), s.Username())
}
