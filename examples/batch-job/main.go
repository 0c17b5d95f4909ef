// Command batch-job runs a batch of text-generation jobs on a Hugging Face
// Inference Endpoint entirely through hf-endpoints-mcp, over MCP (stdio).
//
// By default it builds the server and runs it with --emulator, so it needs no
// account and no network:
//
//	go run ./examples/batch-job
//
// The flow is the one an assistant follows: create the endpoint (or resume it
// when it exists paused), wait for it with a progress bar drawn from the
// server's progress notifications, run the jobs concurrently, pause the
// endpoint so billing stops, then delete it when the server offers
// delete_endpoint, answering its confirmation. Any failure exits non-zero.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"
)

// config is what the flags set.
type config struct {
	server      string        // server binary; empty = build it from this module
	endpoint    string        // endpoint name
	concurrency int           // jobs in flight at once
	maxTokens   int           // max_new_tokens per job
	timeout     time.Duration // bound of the whole run
	keep        bool          // leave the endpoint paused instead of deleting it
	serverArgs  []string      // serve flags; default --emulator
}

func main() {
	cfg := config{serverArgs: []string{"serve", "--emulator"}}
	flag.StringVar(&cfg.server, "server", "", "hf-endpoints-mcp binary to run (default: build it from this module into a temp dir)")
	flag.StringVar(&cfg.endpoint, "endpoint", "batch-job-gpt2", "name of the endpoint to create or resume")
	flag.IntVar(&cfg.concurrency, "concurrency", 4, "jobs in flight at once")
	flag.IntVar(&cfg.maxTokens, "max-new-tokens", 24, "max_new_tokens of each job")
	flag.DurationVar(&cfg.timeout, "timeout", 2*time.Minute, "give up after this long")
	flag.BoolVar(&cfg.keep, "keep", false, "leave the endpoint paused instead of deleting it")
	useAccount := flag.Bool("real", false, "use your Hugging Face account (HF_TOKEN) instead of the emulator: this deploys billed hardware")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: go run ./examples/batch-job [flags] [-- serve flags]\n\n"+
			"Runs a batch of text-generation jobs on an endpoint through hf-endpoints-mcp (default: its emulator).\n"+
			"Flags after -- go to the server, e.g. -- --confirm-with token\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *useAccount {
		cfg.serverArgs = []string{"serve"}
	}
	cfg.serverArgs = append(cfg.serverArgs, flag.Args()...)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "batch-job failed:", err)
		stop()
		os.Exit(1)
	}
}

// prompts are the jobs of the batch.
var prompts = []string{
	"Write a haiku about the sea.",
	"Explain what an inference endpoint is in one sentence.",
	"List three uses of text embeddings.",
	"Translate 'good morning' into French.",
	"Give a name for a friendly robot.",
	"Summarise the plot of Hamlet in ten words.",
	"Suggest a title for a blog post about GPUs.",
	"Complete the sentence: the best way to learn Go is",
}

// run executes the whole flow and returns the first failure.
func run(ctx context.Context, cfg config, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	start := time.Now()
	out := &printer{w: stdout}

	bin := cfg.server
	if bin == "" {
		out.step("build hf-endpoints-mcp")
		dir, err := os.MkdirTemp("", "batch-job-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if bin, err = buildServer(ctx, dir); err != nil {
			return err
		}
	}
	job, err := connect(ctx, bin, cfg.serverArgs, out)
	if err != nil {
		return err
	}
	defer job.close()
	if err := job.flow(ctx, cfg); err != nil {
		return err
	}
	out.done("finished in %s", time.Since(start).Round(100*time.Millisecond))
	return nil
}
