// Command bench measures hf-endpoints-mcp against its performance targets in
// one run, against the emulator on loopback: go run ./bench [-quick].
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// options are the iteration counts and durations of the measurements.
type options struct {
	startups      int           // stdio spawns measured
	calls         int           // paired calls per overhead measurement
	sessions      intList       // concurrent streamable HTTP sessions, one group each for throughput
	throughput    time.Duration // how long each group calls, in all its turns
	idle          int           // idle sessions opened for the memory figure
	emuFor        time.Duration // length of each emulator req/s run
	notifySamples int           // state changes timed per subscription count
	lists         int           // paired list_endpoints calls per measurement
	pollCycles    int           // poll cycles the poller's CPU is measured over
	measurements  []measurement // the groups of rows to run
	strict        bool          // exit 1 when a target is missed
}

// intList is a comma-separated list of positive integers, as a flag.
type intList []int

func (l *intList) String() string {
	s := make([]string, len(*l))
	for i, n := range *l {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func (l *intList) Set(v string) error {
	var out intList
	for f := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("%q is not a positive integer: want a list such as 1,32,200", f)
		}
		out = append(out, n)
	}
	*l = out
	return nil
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == floorCommand {
		if err := serveFloor(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench floor-proxy:", err)
			os.Exit(1)
		}
		return
	}
	o := options{sessions: intList{1, 8, 32, 200}}
	flag.IntVar(&o.startups, "startups", 40, "stdio spawns to measure start-up over")
	flag.IntVar(&o.calls, "calls", 2000, "get_endpoint calls per overhead measurement (each paired with a direct call)")
	flag.Var(&o.sessions, "sessions", "concurrent streamable HTTP sessions, comma-separated: one group per count, the groups calling in turn (counts above 8 must not fall below 8's rate)")
	flag.DurationVar(&o.throughput, "throughput-time", 3*time.Second, "how long each group of sessions calls, in all its turns")
	flag.IntVar(&o.idle, "idle-sessions", 200, "idle streamable HTTP sessions opened for the memory per session")
	flag.DurationVar(&o.emuFor, "emulator-time", 3*time.Second, "length of each emulator req/s measurement (GET, POST), split in 3 alternating rounds")
	flag.IntVar(&o.notifySamples, "notify-samples", 30, "state changes timed per subscription count (1, 100, 1000)")
	flag.IntVar(&o.lists, "lists", 30, "list_endpoints calls on 1,000 endpoints per measurement (each paired with a direct call)")
	flag.IntVar(&o.pollCycles, "poll-cycles", 50, "poll cycles of a 1,000-endpoint namespace the poller's CPU is measured over")
	flag.BoolVar(&o.strict, "strict", false, "exit with status 1 when a target is missed")
	quick := flag.Bool("quick", false, "few iterations: a smoke run of every measurement, figures not meaningful")
	readme := flag.String("readme", "", "also write the report into this README, between <!-- bench:start --> and <!-- bench:end -->")
	only := flag.String("only", "", "run only these measurements, comma-separated: "+strings.Join(measurementNames(), ", "))
	flag.Parse()
	if *quick {
		o = options{startups: 3, calls: 50, sessions: intList{1, 8, 32, 200}, throughput: 200 * time.Millisecond, idle: 20,
			emuFor: 200 * time.Millisecond, notifySamples: 2, lists: 3, pollCycles: 5, strict: o.strict}
	}
	if *only != "" && *readme != "" {
		fmt.Fprintln(os.Stderr, "bench: -readme needs every measurement; drop -only")
		os.Exit(2)
	}
	chosen, err := chooseMeasurements(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	o.measurements = chosen
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var out strings.Builder
	r := &report{w: io.MultiWriter(os.Stdout, &out)}
	err = run(ctx, o, r)
	r.flush()
	if err == nil && *readme != "" {
		err = writeReadme(*readme, out.String())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		stop()
		os.Exit(1)
	}
	if o.strict && r.missed > 0 {
		stop()
		os.Exit(1)
	}
}

// run performs every measurement in turn, printing each as it completes.
func run(ctx context.Context, o options, r *report) error {
	start := time.Now()
	r.header()
	e, err := newEnv(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	for _, m := range o.measurements {
		if err := m.run(ctx, e, o, r); err != nil {
			return err
		}
	}
	r.note("total run time %s", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// measurement is one group of rows of the report.
type measurement struct {
	name string
	run  func(context.Context, *env, options, *report) error
}

// measurements are every group of rows, in the report's order.
var measurements = []measurement{
	{"startup", measureStartup}, {"stdio", measureStdioOverhead}, {"http", measureHTTPOverhead},
	{"throughput", measureThroughput}, {"idle", measureIdleSessions}, {"notify", measureNotifications},
	{"list", measureBigNamespace}, {"emulator", measureEmulator},
}

func measurementNames() []string {
	names := make([]string, len(measurements))
	for i, m := range measurements {
		names[i] = m.name
	}
	return names
}

// chooseMeasurements is the measurements named in the comma-separated list
// (all of them when it is empty), in the report's order.
func chooseMeasurements(list string) ([]measurement, error) {
	if list == "" {
		return measurements, nil
	}
	want := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(measurementNames(), name) {
			return nil, fmt.Errorf("-only: unknown measurement %q; the measurements are %s", name, strings.Join(measurementNames(), ", "))
		}
		want[name] = true
	}
	var chosen []measurement
	for _, m := range measurements {
		if want[m.name] {
			chosen = append(chosen, m)
		}
	}
	return chosen, nil
}

// writeReadme replaces the README's bench section with the report.
func writeReadme(path, report string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	const start, end = "<!-- bench:start -->\n", "<!-- bench:end -->"
	doc := string(raw)
	i, j := strings.Index(doc, start), strings.Index(doc, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %q … %q markers", path, strings.TrimSpace(start), end)
	}
	doc = doc[:i+len(start)] + "```text\n" + report + "```\n" + doc[j:]
	return os.WriteFile(path, []byte(doc), 0o644)
}

// report prints one line per figure with its target and verdict.
type report struct {
	w      io.Writer
	missed int
}

func (r *report) header() {
	host, _ := os.Hostname()
	fmt.Fprintf(r.w, "hf-endpoints-mcp benchmark — %s, %s/%s, %d CPUs, %s, host %s%s\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), host, loadAverage())
	fmt.Fprintf(r.w, "%-72s %-36s %-14s %-6s %s\n", "measurement", "result", "target", "", "load")
	fmt.Fprintln(r.w, strings.Repeat("-", 140))
}

// line prints a figure; ok is nil when there is no target.
func (r *report) line(name, result, target string, ok *bool) {
	verdict := ""
	if ok != nil {
		verdict = "ok"
		if !*ok {
			verdict = "MISSED"
			r.missed++
		}
	}
	fmt.Fprintf(r.w, "%-72s %-36s %-14s %-6s %s\n", name, result, target, verdict, load1())
}

func (r *report) note(format string, args ...any) { fmt.Fprintf(r.w, "  "+format+"\n", args...) }

func (r *report) flush() {
	if r.missed > 0 {
		fmt.Fprintf(r.w, "\n%d target(s) missed\n", r.missed)
	}
}

// loadAverage is the 1-minute load at the start, when /proc tells it: other
// work on the machine inflates every figure.
func loadAverage() string {
	if l := load1(); l != "" {
		return ", load " + l
	}
	return ""
}

// load1 is the machine's 1-minute load average now ("" without /proc),
// printed beside each figure.
func load1() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	if f := strings.Fields(string(raw)); len(f) > 0 {
		return f[0]
	}
	return ""
}

func check(v bool) *bool { return &v }

// median and percentile of durations (the input is not modified).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p * float64(len(s)-1))
	return s[i]
}

func median(ds []time.Duration) time.Duration { return percentile(ds, 0.5) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// plural is "1 session" or "32 sessions".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }
