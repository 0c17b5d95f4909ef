package emulator

import (
	"math/rand/v2"
	"sync"
	"time"
)

// scheduler runs delayed callbacks and guarantees that after close no callback is running or will run.
type scheduler struct {
	mu     sync.Mutex
	closed bool
	timers map[*time.Timer]struct{}
	wg     sync.WaitGroup
}

func newScheduler() *scheduler { return &scheduler{timers: map[*time.Timer]struct{}{}} }

// task is a scheduled callback; cancel it with stop.
type task struct {
	s *scheduler
	t *time.Timer
}

// after runs fn after d on its own goroutine. It returns nil once the scheduler is closed.
func (s *scheduler) after(d time.Duration, fn func()) *task {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.wg.Add(1)
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		defer s.wg.Done()
		s.mu.Lock()
		_, live := s.timers[t]
		delete(s.timers, t)
		s.mu.Unlock()
		if live {
			fn()
		}
	})
	s.timers[t] = struct{}{}
	return &task{s: s, t: t}
}

// stop cancels the task if it has not started. Safe on a nil task.
func (k *task) stop() {
	if k == nil {
		return
	}
	k.s.mu.Lock()
	defer k.s.mu.Unlock()
	if _, live := k.s.timers[k.t]; live && k.t.Stop() {
		delete(k.s.timers, k.t)
		k.s.wg.Done()
	}
}

// close cancels pending tasks and waits for running ones.
func (s *scheduler) close() {
	s.mu.Lock()
	s.closed = true
	for t := range s.timers {
		if t.Stop() {
			s.wg.Done()
		}
		delete(s.timers, t)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// lockedRand is a seeded generator safe for concurrent use.
type lockedRand struct {
	mu      sync.Mutex
	r       *rand.Rand
	seedTag uint32
}

func newLockedRand(seed int64) *lockedRand {
	if seed == 0 {
		seed = rand.Int64()
	}
	return &lockedRand{r: rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15)), seedTag: uint32(seed)}
}

func (l *lockedRand) uint64() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Uint64()
}

func (l *lockedRand) float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// id returns n random lowercase alphanumerics.
func (l *lockedRand) id(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := make([]byte, n)
	for i := range b {
		b[i] = idAlphabet[l.r.IntN(len(idAlphabet))]
	}
	return string(b)
}
