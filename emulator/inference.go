package emulator

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// server kinds: which inference server the endpoint emulates, from its image and task.
const (
	serverTGI       = "text-generation-inference"
	serverTEI       = "text-embeddings-inference"
	serverDiffusers = "diffusers"
	serverToolkit   = "inference-toolkit"
)

var (
	textGenTasks  = []string{"text-generation", "text2text-generation", "conversational", "image-text-to-text"}
	embedTasks    = []string{"feature-extraction", "sentence-embeddings", "sentence-similarity"}
	textGenImages = []string{"tgi", "tgiNeuron", "vLLM", "vLLMOmni", "vLLMNeuron", "sGLang", "llamacpp"}
)

// target is what an inference request needs to know about its endpoint, copied under the lock.
type target struct {
	ep          *endpoint
	repo, task  string
	revision    any
	server      string
	imageKind   string
	healthRoute string
	box         container
	// what this request asked of the model, for the endpoint's logs and metric series
	in, out, steps int
}

// countIn counts prompt tokens of this request.
func (t *target) countIn(n int) {
	t.in += n
	t.ep.metrics.inTokens.Add(int64(n))
}

// countOut counts generated tokens of this request.
func (t *target) countOut(n int) {
	t.out += n
	t.ep.metrics.outTokens.Add(int64(n))
}

func serverKind(task, image string) string {
	switch {
	case image == "tei" || slices.Contains(embedTasks, task) || slices.Contains(rerankTasks, task):
		return serverTEI
	case slices.Contains(textGenImages, image) || slices.Contains(textGenTasks, task):
		return serverTGI
	case task == "text-to-image":
		return serverDiffusers
	}
	return serverToolkit
}

func (t *target) generate(g genRequest) genResult {
	res := generate(g)
	t.countIn(res.inputTokens)
	t.countOut(len(res.tokens))
	return res
}

type inferenceRoute struct {
	method, route string
	serve         func(e *Emulator, w http.ResponseWriter, r *http.Request, t *target)
}

// inferenceRoutes are served under every endpoint's URL, /e/{id}.
var inferenceRoutes = []inferenceRoute{
	{"POST", "/e/{id}", serveRoot},
	{"POST", "/e/{id}/{$}", serveRoot},
	{"POST", "/e/{id}/generate", only(serverTGI, tgiGenerate)},
	{"POST", "/e/{id}/generate_stream", only(serverTGI, tgiGenerateStream)},
	{"POST", "/e/{id}/v1/completions", only(serverTGI, v1Completions)},
	{"POST", "/e/{id}/v1/chat/completions", only(serverTGI, v1ChatCompletions)},
	{"POST", "/e/{id}/embed", only(serverTEI, teiEmbed)},
	{"POST", "/e/{id}/v1/embeddings", only(serverTEI, v1Embeddings)},
	{"POST", "/e/{id}/rerank", only(serverTEI, teiRerank)},
	{"GET", "/e/{id}/health", serveHealth},
	{"GET", "/e/{id}/info", serveInfo},
	{"GET", "/e/{id}/{path...}", serveOtherGET},
}

// only restricts a route to one kind of inference server, answering 404 like a server without it.
func only(kind string, serve func(*Emulator, http.ResponseWriter, *http.Request, *target)) func(*Emulator, http.ResponseWriter, *http.Request, *target) {
	return func(e *Emulator, w http.ResponseWriter, r *http.Request, t *target) {
		if t.server != kind {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf(
				"%s is not served by this endpoint: it runs %s for task %q (emulated)", r.URL.Path, t.server, t.task)})
			return
		}
		serve(e, w, r, t)
	}
}

// inference wraps an endpoint route: finds the endpoint by id, checks the token unless the endpoint
// is public, gates on its state (cold start, paused, not ready), then serves and counts the request.
func (e *Emulator) inference(route string, serve func(*Emulator, http.ResponseWriter, *http.Request, *target)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, ok := e.resolveTarget(w, r)
		if !ok {
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		admitted := e.admit(sw, r, t)
		if !admitted && sw.code == 0 {
			sw.code = 499 // the client gave up while its request was held
		}
		if admitted {
			now := time.Now()
			t.ep.lastUsed.Store(now.UnixNano())
			t.ep.lastRequest.Store(now.UnixNano())
			serve(e, sw, r, t)
			if r.Method == http.MethodPost {
				t.ep.act.serve(t.box, route, sw.status(), t.in, t.out, t.steps)
			}
		}
		t.ep.metrics.record(route, sw.status())
	}
}

// resolveTarget finds the endpoint of the URL and checks access: a public endpoint answers anyone;
// any other type (authenticated, protected, and private, which the emulator serves on its URL too)
// needs a token: 401 when it is missing or unknown, 403 when its user has no access to the namespace.
func (e *Emulator) resolveTarget(w http.ResponseWriter, r *http.Request) (*target, bool) {
	e.store.mu.RLock()
	ep := e.store.byID[r.PathValue("id")]
	var t target
	var typ, ns string
	if ep != nil {
		v := &ep.view
		t = target{ep: ep, repo: v.Model.Repository, task: v.task(), server: serverKind(v.task(), v.imageKind()),
			imageKind: v.imageKind(), healthRoute: str(ep.spec["healthRoute"]), box: containerOf(ep)}
		if v.Model.Revision != nil {
			t.revision = *v.Model.Revision
		}
		typ, ns = v.Type, ep.ns
	}
	e.store.mu.RUnlock()
	if ep == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no endpoint at this URL; it may have been deleted"})
		return nil, false
	}
	if typ == "public" {
		return &t, true
	}
	a, msg, ok := e.caller(r)
	if !ok {
		w.Header().Set("X-Error-Message", msg)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": msg})
		return nil, false
	}
	if !a.canAccess(ns) {
		msg := fmt.Sprintf("the token of %s has no access to this endpoint (namespace %s)", a.name, ns)
		w.Header().Set("X-Error-Message", msg)
		writeJSON(w, http.StatusForbidden, map[string]string{"error": msg})
		return nil, false
	}
	return &t, true
}

// maxScaleUpWait bounds X-Scale-Up-Timeout.
const maxScaleUpWait = 10 * time.Minute

// admit lets the request through when the endpoint serves; otherwise it answers: 400 when paused,
// 503 while not ready. A request to a scaled-to-zero endpoint starts a replica and answers 503 at
// once, or waits up to X-Scale-Up-Timeout seconds for it.
func (e *Emulator) admit(w http.ResponseWriter, r *http.Request, t *target) bool {
	var wait time.Duration
	if h := r.Header.Get("X-Scale-Up-Timeout"); h != "" {
		if s, err := strconv.ParseFloat(strings.TrimSpace(h), 64); err == nil && s > 0 {
			wait = min(time.Duration(s*float64(time.Second)), maxScaleUpWait)
		}
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		state, deleted, changed := e.wakeIfScaledToZero(t.ep)
		switch {
		case deleted:
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no endpoint at this URL; it may have been deleted"})
			return false
		case state == StateRunning || state == StateUpdating || state == StateUpdateFailed:
			return true
		case state == StatePaused:
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Bad Request: Invalid state. The endpoint is paused; resume it to serve requests."})
			return false
		case state != StateScaledToZero || wait == 0 || e.closed():
			msg := fmt.Sprintf("Service Unavailable: the endpoint is %s and has no ready replica", state)
			if state == StateScaledToZero {
				msg = "Service Unavailable: the endpoint was scaled to zero and is starting a replica; retry shortly or send X-Scale-Up-Timeout"
			}
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": msg})
			return false
		}
		if timer == nil {
			timer = time.NewTimer(wait)
		}
		select {
		case <-changed:
		case <-timer.C:
			wait = 0 // answer 503 on the next pass
		case <-r.Context().Done():
			return false
		case <-e.done:
		}
	}
}

// wakeIfScaledToZero reads the endpoint's state, starting a replica if it is scaled to zero. The
// common case (running) only takes the read lock.
func (e *Emulator) wakeIfScaledToZero(ep *endpoint) (state string, deleted bool, changed chan struct{}) {
	e.store.mu.RLock()
	state, deleted, changed = ep.st.State, ep.deleted, ep.changed
	idle := state == StateScaledToZero && !ep.st.ScalingUp
	e.store.mu.RUnlock()
	if !idle || deleted || e.closed() {
		return state, deleted, changed
	}
	e.store.mu.Lock()
	state, deleted = ep.st.State, ep.deleted
	var snap *stateSnapshot
	if state == StateScaledToZero && !ep.st.ScalingUp && !deleted {
		e.wakeLocked(ep)
		snap = e.snapshotLocked()
	}
	changed = ep.changed
	e.store.mu.Unlock()
	e.writeState(snap)
	return state, deleted, changed
}

// statusWriter remembers the status code for the endpoint's metrics; Unwrap keeps Flush and Hijack.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}

// serveRoot serves POST / by task, like the server the endpoint would run.
func serveRoot(e *Emulator, w http.ResponseWriter, r *http.Request, t *target) {
	switch t.server {
	case serverTGI:
		tgiCompat(e, w, r, t)
	case serverTEI:
		teiRoot(e, w, r, t)
	case serverDiffusers:
		textToImage(e, w, r, t)
	default:
		toolkitTask(e, w, r, t)
	}
}

func serveHealth(e *Emulator, w http.ResponseWriter, r *http.Request, t *target) {
	w.WriteHeader(http.StatusOK)
}

// serveOtherGET answers the endpoint's custom health route, else 404.
func serveOtherGET(e *Emulator, w http.ResponseWriter, r *http.Request, t *target) {
	if "/"+r.PathValue("path") == t.healthRoute {
		w.WriteHeader(http.StatusOK)
		return
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no route GET /%s on this endpoint", r.PathValue("path"))})
}

func serveInfo(e *Emulator, w http.ResponseWriter, r *http.Request, t *target) {
	switch t.server {
	case serverTGI:
		writeJSON(w, http.StatusOK, tgiInfo(t))
	case serverTEI:
		writeJSON(w, http.StatusOK, teiInfo(t))
	default:
		writeJSON(w, http.StatusOK, map[string]any{"model_id": t.repo, "model_sha": t.revision, "task": t.task,
			"server": t.server, "version": "0.0.0-emulated", "docker_label": systemFingerprint})
	}
}
