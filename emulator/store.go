package emulator

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"
)

// Endpoint states, as the real API spells them.
const (
	StatePending      = "pending"
	StateInitializing = "initializing"
	StateUpdating     = "updating"
	StateUpdateFailed = "updateFailed"
	StateRunning      = "running"
	StatePaused       = "paused"
	StateFailed       = "failed"
	StateScaledToZero = "scaledToZero"
)

// store holds every endpoint. One RWMutex guards it; it is never held while waiting.
type store struct {
	mu         sync.RWMutex
	byKey      map[string]*endpoint // "namespace/name"
	byID       map[string]*endpoint // status.url id
	seq        uint64               // creation order
	version    uint64               // bumped on every change, for persistence
	failDeploy map[string]string    // "namespace/name" → message of the next deployment failure
	failUpdate map[string]string
	holdDeploy map[string]chan struct{} // "namespace/name" → closed when its next deployment may finish
}

func (s *store) init() {
	s.byKey = map[string]*endpoint{}
	s.byID = map[string]*endpoint{}
	s.failDeploy = map[string]string{}
	s.failUpdate = map[string]string{}
	s.holdDeploy = map[string]chan struct{}{}
}

// actor is the {id, name} of createdBy/updatedBy.
type actor struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// status is an endpoint's status; url is derived from the request's host when rendered.
type status struct {
	State         string    `json:"state"`
	Message       string    `json:"message"`
	ErrorMessage  string    `json:"errorMessage,omitempty"`
	HasURL        bool      `json:"hasUrl"`
	ReadyReplica  int       `json:"readyReplica"`
	TargetReplica int       `json:"targetReplica"`
	CreatedAt     time.Time `json:"createdAt"`
	CreatedBy     actor     `json:"createdBy"`
	UpdatedAt     time.Time `json:"updatedAt"`
	UpdatedBy     actor     `json:"updatedBy"`
	// ScalingUp is true while a scaled-to-zero endpoint starts a replica after a request.
	ScalingUp bool `json:"scalingUp,omitempty"`
}

// endpoint is one stored endpoint. Fields other than the atomics are guarded by store.mu.
type endpoint struct {
	ns, name, id string
	seq          uint64
	spec         map[string]any // the endpoint document without status, as created and updated
	view         specView       // typed view of spec
	st           status
	ver          uint64 // bumped on every change, invalidates cache
	deleted      bool

	gen        uint64        // bumped on every transition; stale timers compare it
	task       *task         // pending lifecycle step
	idle       *task         // idle scale-to-zero check
	changed    chan struct{} // closed and replaced on every transition
	failDeploy string        // failure to apply at the end of the current deployment
	holdDeploy chan struct{} // the current deployment stays initializing until this is closed (nil: no hold)
	failUpdate string        // failure to apply at the end of the current update

	lastUsed    atomic.Int64 // unix nanos of the last request or of becoming ready: the idle clock
	lastRequest atomic.Int64 // unix nanos of the last inference request (0: never), for status.lastUsedAt
	cache       atomic.Pointer[renderCache]
	metrics     endpointMetrics
	act         activity                 // replicas, container logs, served requests
	box         atomic.Pointer[boxCache] // what the endpoint runs, for the current ver
}

type renderCache struct {
	base     string
	ver      uint64
	lastUsed int64
	data     []byte
}

// wireStatus is the JSON shape of status in API responses.
type wireStatus struct {
	State        string  `json:"state"`
	Message      string  `json:"message"`
	ErrorMessage *string `json:"errorMessage,omitempty"`
	URL          *string `json:"url"`
	Private      *struct {
		ServiceName string `json:"serviceName"`
	} `json:"private"`
	ReadyReplica  int     `json:"readyReplica"`
	TargetReplica int     `json:"targetReplica"`
	CreatedAt     string  `json:"createdAt"`
	CreatedBy     actor   `json:"createdBy"`
	UpdatedAt     string  `json:"updatedAt"`
	UpdatedBy     actor   `json:"updatedBy"`
	LastUsedAt    *string `json:"lastUsedAt"`
}

// timestamp formats t like the real service: UTC, millisecond fraction, trailing Z.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// render returns the endpoint's JSON with status.url under base. Caller holds store.mu (read).
func (ep *endpoint) render(base string) []byte {
	lastUsed := ep.lastRequest.Load()
	if c := ep.cache.Load(); c != nil && c.ver == ep.ver && c.base == base && c.lastUsed == lastUsed {
		return c.data
	}
	ws := wireStatus{
		State: ep.st.State, Message: ep.st.Message,
		ReadyReplica: ep.st.ReadyReplica, TargetReplica: ep.st.TargetReplica,
		CreatedAt: timestamp(ep.st.CreatedAt), CreatedBy: ep.st.CreatedBy,
		UpdatedAt: timestamp(ep.st.UpdatedAt), UpdatedBy: ep.st.UpdatedBy,
	}
	if ep.st.ErrorMessage != "" {
		msg := ep.st.ErrorMessage
		ws.ErrorMessage = &msg
	}
	if lastUsed != 0 {
		t := timestamp(time.Unix(0, lastUsed))
		ws.LastUsedAt = &t
	}
	if ep.st.HasURL {
		u := base + "/e/" + ep.id
		ws.URL = &u
	}
	out := make(map[string]any, len(ep.spec)+1)
	for k, v := range ep.spec {
		out[k] = v
	}
	out["status"] = ws
	data, err := json.Marshal(out)
	if err != nil {
		// spec only ever holds values decoded from JSON, so this cannot happen; keep the API answering.
		data = []byte(`{"error":"emulator could not render endpoint"}`)
	}
	ep.cache.Store(&renderCache{base: base, ver: ep.ver, lastUsed: lastUsed, data: data})
	return data
}

// touchLocked records a change: bumps versions and wakes waiters.
func (s *store) touchLocked(ep *endpoint) {
	ep.ver++
	s.version++
	if ep.changed != nil {
		close(ep.changed)
	}
	ep.changed = make(chan struct{})
}
