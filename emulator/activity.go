package emulator

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"time"
)

// activity is what an endpoint's replicas did: which replicas exist, what their containers printed,
// which requests they served and when replicas became ready. Its lock is taken after store.mu when
// both are held, never before.
type activity struct {
	mu          sync.Mutex
	deploys     int    // deployments so far; seeds the next deployment id
	deployment  string // the deployment serving (or starting)
	previous    string // the deployment an update replaces, until the update ends
	phase       string // the endpoint state last reconciled
	replicaSeq  int
	replicas    []replica
	logs        []logEntry
	served      []servedRequest
	readyMarks  []readyMark
	requestSeq  int
	subscribers map[chan logEntry]struct{}
}

// Bounds of what an activity remembers.
const (
	maxLogLines   = 5000
	maxServed     = 20000
	maxReadyMarks = 2000
)

type replica struct {
	id, deployment string
	state          string // pending, initializing, running, failed
	startedAt      time.Time
	restarts       int
	message        string
}

// logEntry is one line of GET …/logs.
type logEntry struct {
	Time    time.Time
	Level   string
	Replica string
	Text    string
}

// servedRequest is one inference request a replica served.
type servedRequest struct {
	at      time.Time
	route   string
	code    int
	timing  requestTiming
	in, out int
	steps   int
	seq     int
	replica string
}

type readyMark struct {
	at    time.Time
	ready int
}

// shortID derives an id of n lowercase letters and digits from parts, like the platform's
// deployment (8) and replica (5) ids.
func shortID(n int, parts ...any) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	sum := sha256.Sum256([]byte(fmt.Sprint(parts...)))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return string(b)
}

// syncReplicasLocked makes the replicas follow the endpoint's status, printing what their
// containers print on each change. It is idempotent: calling it twice changes nothing. Caller holds
// store.mu.
func (e *Emulator) syncReplicasLocked(ep *endpoint) {
	c := containerOf(ep)
	st := ep.st
	now := time.Now().UTC()
	rt := &ep.act
	rt.mu.Lock()
	defer rt.mu.Unlock()
	switch st.State {
	case StatePending:
		if rt.phase != StatePending {
			rt.stopAll(c, now)
			rt.newDeployment(ep.id, st.TargetReplica, now)
		}
	case StateInitializing:
		if rt.phase != StatePending && rt.phase != StateInitializing {
			rt.stopAll(c, now)
			rt.newDeployment(ep.id, st.TargetReplica, now)
		}
		rt.startPending(c, now)
	case StateRunning:
		rt.finishStarting(c, now)
		rt.stopWhere(c, now, func(r replica) bool { return r.deployment != rt.deployment })
		rt.previous = ""
		rt.resize(ep.id, c, now, st.ReadyReplica)
	case StateUpdating:
		if rt.phase != StateUpdating {
			rt.previous = rt.deployment
			rt.newDeployment(ep.id, st.TargetReplica, now)
			rt.startPending(c, now)
		}
	case StateUpdateFailed, StateFailed:
		if st.ErrorMessage != "" {
			rt.fail(c, now, st.ErrorMessage)
		}
	case StatePaused:
		rt.stopAll(c, now)
	case StateScaledToZero:
		if !st.ScalingUp {
			rt.stopAll(c, now)
		} else if len(rt.replicas) == 0 {
			rt.addReplicas(ep.id, 1, now)
			rt.startPending(c, now)
		}
	}
	rt.phase = st.State
	rt.markReady(now)
}

// newDeployment starts a deployment of n pending replicas; replicas of earlier deployments stay
// until they are stopped.
func (rt *activity) newDeployment(epID string, n int, now time.Time) {
	rt.deploys++
	rt.deployment = shortID(8, epID, "deployment", rt.deploys)
	rt.addReplicas(epID, n, now)
}

func (rt *activity) addReplicas(epID string, n int, now time.Time) {
	if rt.deployment == "" {
		rt.deploys++
		rt.deployment = shortID(8, epID, "deployment", rt.deploys)
	}
	for range n {
		rt.replicaSeq++
		rt.replicas = append(rt.replicas, replica{id: rt.deployment + "-" + shortID(5, epID, "replica", rt.replicaSeq),
			deployment: rt.deployment, state: "pending", startedAt: now})
	}
}

// startPending moves pending replicas to initializing: their containers launch.
func (rt *activity) startPending(c container, now time.Time) {
	for i := range rt.replicas {
		if r := &rt.replicas[i]; r.state == "pending" {
			r.state, r.startedAt = "initializing", now
			rt.print(now, r.id, c.startLines(r.id))
		}
	}
}

// finishStarting moves initializing replicas to running: their servers are ready.
func (rt *activity) finishStarting(c container, now time.Time) {
	rt.startPending(c, now)
	for i := range rt.replicas {
		if r := &rt.replicas[i]; r.state == "initializing" {
			r.state = "running"
			rt.print(now, r.id, c.readyLines())
		}
	}
}

// resize keeps n running replicas of the current deployment.
func (rt *activity) resize(epID string, c container, now time.Time, n int) {
	running := 0
	for _, r := range rt.replicas {
		if r.state == "running" {
			running++
		}
	}
	if running < n {
		rt.addReplicas(epID, n-running, now)
		rt.finishStarting(c, now)
	}
	for extra := running - n; extra > 0; extra-- {
		last := rt.replicas[len(rt.replicas)-1].id
		rt.stopWhere(c, now, func(r replica) bool { return r.id == last })
	}
}

// fail marks the replicas that were starting as failed and prints why. An update that fails
// leaves the previous deployment serving.
func (rt *activity) fail(c container, now time.Time, msg string) {
	oom := c.outOfMemory()
	rt.startPending(c, now)
	for i := range rt.replicas {
		r := &rt.replicas[i]
		if r.deployment != rt.deployment || r.state == "failed" || r.state == "running" {
			continue
		}
		r.state, r.message = "failed", msg
		rt.print(now, r.id, c.failLines(oom, msg))
	}
	if rt.previous != "" {
		failed := rt.deployment
		rt.replicas = slices.DeleteFunc(rt.replicas, func(r replica) bool { return r.deployment == failed })
		rt.deployment, rt.previous = rt.previous, ""
	}
}

func (rt *activity) stopAll(c container, now time.Time) {
	rt.stopWhere(c, now, func(replica) bool { return true })
}

// stopWhere stops the replicas matching, printing the shutdown of those that were serving.
func (rt *activity) stopWhere(c container, now time.Time, match func(replica) bool) {
	rt.replicas = slices.DeleteFunc(rt.replicas, func(r replica) bool {
		if !match(r) {
			return false
		}
		if r.state == "running" {
			rt.print(now, r.id, c.stopLines())
		}
		return true
	})
}

func (rt *activity) markReady(now time.Time) {
	n := 0
	for _, r := range rt.replicas {
		if r.state == "running" {
			n++
		}
	}
	if len(rt.readyMarks) > 0 && rt.readyMarks[len(rt.readyMarks)-1].ready == n {
		return
	}
	rt.readyMarks = appendBounded(rt.readyMarks, readyMark{at: now, ready: n}, maxReadyMarks)
}

// print appends a container's lines and hands them to followers.
func (rt *activity) print(now time.Time, replicaID string, lines []logLine) {
	for _, l := range lines {
		entry := logEntry{Time: now, Level: l.level, Replica: replicaID, Text: l.text}
		rt.logs = appendBounded(rt.logs, entry, maxLogLines)
		for ch := range rt.subscribers {
			select {
			case ch <- entry:
			default: // a follower that does not keep up misses lines rather than stalling the endpoint
			}
		}
	}
}

// appendBounded appends v, dropping the oldest entries beyond limit (in batches, so that
// appending stays cheap).
func appendBounded[T any](s []T, v T, limit int) []T {
	s = append(s, v)
	if len(s) > limit+limit/4 {
		s = slices.Delete(s, 0, len(s)-limit)
	}
	return s
}

// serve records a request the endpoint's replicas served and prints its log line. Requests are
// stamped when they are recorded, under the lock, so that they stay in time order.
func (rt *activity) serve(c container, route string, code, in, out, steps int) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	now := time.Now().UTC()
	running := 0
	for _, r := range rt.replicas {
		if r.state == "running" {
			running++
		}
	}
	rt.requestSeq++
	q := servedRequest{at: now, route: route, code: code, in: in, out: out, steps: steps, seq: rt.requestSeq,
		timing: c.timing(in, out, steps)}
	if running > 0 {
		pick := rt.requestSeq % running
		for _, r := range rt.replicas {
			if r.state != "running" {
				continue
			}
			if pick == 0 {
				q.replica = r.id
				break
			}
			pick--
		}
	}
	rt.served = appendBounded(rt.served, q, maxServed)
	rt.print(now, q.replica, c.requestLines(q))
}

// follow subscribes to new log lines; cancel unsubscribes.
func (rt *activity) follow() (lines <-chan logEntry, backlog []logEntry, cancel func()) {
	ch := make(chan logEntry, 256)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.subscribers == nil {
		rt.subscribers = map[chan logEntry]struct{}{}
	}
	rt.subscribers[ch] = struct{}{}
	return ch, slices.Clone(rt.logs), func() {
		rt.mu.Lock()
		delete(rt.subscribers, ch)
		rt.mu.Unlock()
	}
}
