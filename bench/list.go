package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/resources"
)

// bigNamespace is the organisation that holds bigCount endpoints, apart
// from the user's namespace where the other measurements run.
const (
	bigNamespace = "bench-big"
	bigCount     = 1000
)

// fillBig creates bigCount endpoints in bigNamespace, a few at a time, and
// waits until every one is running (so that the lists stop changing).
func (e *env) fillBig(ctx context.Context) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, 8)
	for i := range bigCount {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_, err := e.client.Create(ctx, bigNamespace, hfapi.CreateSpec{Name: fmt.Sprintf("big-%d", i),
				Repository: "openai-community/gpt2", Framework: "pytorch", Task: "text-generation", Accelerator: "cpu",
				Vendor: "aws", Region: "us-east-1", InstanceType: "intel-spr", InstanceSize: "x2"})
			if err != nil {
				mu.Lock()
				first = cmpErr(first, fmt.Errorf("create endpoint %d in %s: %w", i, bigNamespace, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		eps, err := e.client.List(ctx, bigNamespace)
		if err != nil {
			return err
		}
		running := 0
		for i := range eps {
			if eps[i].Status.State == hfapi.StateRunning {
				running++
			}
		}
		if running == bigCount {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d endpoints in %s running after 60s", running, bigCount, bigNamespace)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// measureBigNamespace fills bigNamespace, then measures list_endpoints on it
// and the poller's cost of watching it.
func measureBigNamespace(ctx context.Context, e *env, o options, r *report) error {
	if err := e.fillBig(ctx); err != nil {
		return err
	}
	if err := measureList(ctx, e, o, r); err != nil {
		return err
	}
	return measurePollCycle(ctx, e, o, r)
}

// measureList compares list_endpoints over stdio in process (raw client) on
// bigNamespace with the direct call that lists and decodes all its endpoints,
// for the default arguments and for a page of 500.
func measureList(ctx context.Context, e *env, o options, r *report) error {
	p, stop, err := rawInProcess(ctx, e)
	if err != nil {
		return err
	}
	defer stop()
	direct := func(ctx context.Context) error {
		eps, err := e.client.List(ctx, bigNamespace)
		if err == nil && len(eps) != bigCount {
			err = fmt.Errorf("listed %d endpoints, want %d", len(eps), bigCount)
		}
		return err
	}
	for _, c := range []struct{ what, args string }{
		{"default args", `{"namespace":"` + bigNamespace + `"}`},
		{"limit 500", `{"namespace":"` + bigNamespace + `","limit":500}`},
	} {
		line := `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"list_endpoints","arguments":` + c.args + "}}\n"
		res, err := p.send(line)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("list_endpoints, %d endpoints, %s, stdio in process (n=%d)", bigCount, c.what, o.lists)
		if strings.Contains(res, `"isError":true`) {
			r.line(name, "n/a: "+firstLine(res, 40), "", nil)
			continue
		}
		d, m, err := paired(ctx, o.lists, direct, func(context.Context) error {
			res, err := p.send(line)
			if err == nil && !strings.Contains(res, `"structuredContent"`) || strings.Contains(res, `"isError":true`) {
				err = fmt.Errorf("unexpected answer %q", firstLine(res, 200))
			}
			return err
		})
		if err != nil {
			return err
		}
		ratio := float64(m) / float64(d)
		r.line(name, fmt.Sprintf("%s vs direct %s: %.2f×", ms(m), ms(d), ratio), "≤ 1.5×", check(ratio <= 1.5))
	}
	r.note("list_endpoints rows: server in process, raw client; direct: hfapi's List of all %d endpoints (one request, decoded)", bigCount)
	return nil
}

func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// measurePollCycle watches one endpoint of bigNamespace with a poller in
// this process and reports its CPU per poll cycle (the process's user and
// system time over the cycles: nothing else runs meanwhile) and how its RSS
// moved from the end of the warm-up to the end of the run (each read after
// returning freed memory to the system).
func measurePollCycle(ctx context.Context, e *env, o options, r *report) error {
	lister := &countingLister{api: e.client}
	p := resources.NewPoller(lister, resources.PollerOptions{Fast: notifyPoll, Slow: notifyPoll})
	defer p.Close()
	a := &arrival{id: "watcher", ch: make(chan time.Time, 64)}
	if err := p.Registry().Subscribe(a, resources.URI(bigNamespace, "big-0")); err != nil {
		return err
	}
	if err := waitCycles(ctx, p, bigNamespace, 5); err != nil { // the first list decodes everything
		return err
	}
	debug.FreeOSMemory() // what stays resident is what is live, not garbage awaiting the scavenger
	rss0, rssErr := residentMB(os.Getpid())
	cpu0, cycles0 := cpuTime(), p.Stats().ByNamespace[bigNamespace]
	if err := waitCycles(ctx, p, bigNamespace, int64(o.pollCycles)); err != nil {
		return err
	}
	cpu, cycles := cpuTime()-cpu0, p.Stats().ByNamespace[bigNamespace]-cycles0
	perCycle := cpu / time.Duration(max(cycles, 1))
	r.line(fmt.Sprintf("poller CPU per cycle, %d endpoints, 1 subscription (%d cycles)", bigCount, cycles),
		fmt.Sprintf("%s (%d decoded)", ms(perCycle), p.Stats().Decoded), "≤ 20 ms", check(perCycle <= 20*time.Millisecond))
	if rssErr == nil {
		debug.FreeOSMemory()
		rss1, err := residentMB(os.Getpid())
		if err != nil {
			return err
		}
		r.line(fmt.Sprintf("poller RSS change over those cycles, %d endpoints", bigCount),
			fmt.Sprintf("%+.1f MB (%.1f → %.1f MB)", rss1-rss0, rss0, rss1), "≤ +2 MB", check(rss1-rss0 <= 2))
	}
	return nil
}

// cpuTime is the CPU time (user and system) this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
