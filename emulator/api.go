package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// apiError writes the management API's error shape, {"error": msg}, also in X-Error-Message
// (huggingface_hub prefers the header).
func apiError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("X-Error-Message", strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, msg))
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		code, data = http.StatusInternalServerError, []byte(`{"error":"emulator could not encode its answer"}`)
	}
	writeRaw(w, code, "application/json", data)
}

func writeRaw(w http.ResponseWriter, code int, contentType string, data []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", fmt.Sprint(len(data)))
	w.WriteHeader(code)
	w.Write(data)
}

// baseURL is the scheme and host the client used, so endpoint URLs work behind any port or proxy.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (e *Emulator) listEndpoints(w http.ResponseWriter, r *http.Request) {
	ns := r.PathValue("namespace")
	if _, ok := e.authorize(w, r, ns); !ok {
		return
	}
	base := baseURL(r)
	var tags []string
	if q := r.URL.Query().Get("tags"); q != "" {
		tags = strings.Split(q, ",")
	}
	var buf bytes.Buffer
	buf.WriteString(`{"items":[`)
	e.store.mu.RLock()
	eps := e.endpointsOfLocked(ns)
	first := true
	for _, ep := range eps {
		if !ep.hasTags(tags) {
			continue
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		buf.Write(ep.render(base))
	}
	e.store.mu.RUnlock()
	buf.WriteString(`]}`)
	writeRaw(w, http.StatusOK, "application/json", buf.Bytes())
}

// hasTags reports whether the endpoint carries every tag of want (GET …?tags=a,b filters this way).
func (ep *endpoint) hasTags(want []string) bool {
	for _, t := range want {
		if !slices.Contains(ep.view.Tags, strings.TrimSpace(t)) {
			return false
		}
	}
	return true
}

// endpointsOfLocked lists a namespace's endpoints in creation order.
func (e *Emulator) endpointsOfLocked(ns string) []*endpoint {
	var eps []*endpoint
	for _, ep := range e.store.byKey {
		if ep.ns == ns {
			eps = append(eps, ep)
		}
	}
	slices.SortFunc(eps, func(a, b *endpoint) int { return int(a.seq) - int(b.seq) })
	return eps
}

func (e *Emulator) createEndpoint(w http.ResponseWriter, r *http.Request) {
	ns := r.PathValue("namespace")
	who, ok := e.authorize(w, r, ns)
	if !ok {
		return
	}
	doc, err := decodeObject(r)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	ep, code, err := e.create(ns, doc, who)
	if err != nil {
		apiError(w, code, err.Error())
		return
	}
	e.respondEndpoint(w, r, ep, http.StatusAccepted)
}

// create validates doc and stores a new endpoint that starts deploying. It returns the HTTP status of a failure.
func (e *Emulator) create(ns string, doc map[string]any, who *account) (*endpoint, int, error) {
	normalize(doc)
	view, err := viewOf(doc)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	if _, err := validateSpec(&view); err != nil {
		return nil, http.StatusBadRequest, err
	}
	now := time.Now().UTC()
	by := actor{ID: who.id, Name: who.name}
	ep := &endpoint{ns: ns, name: view.Name, spec: doc, view: view,
		st: status{CreatedAt: now, CreatedBy: by, UpdatedAt: now, UpdatedBy: by}}
	e.store.mu.Lock()
	if _, exists := e.store.byKey[ns+"/"+view.Name]; exists {
		e.store.mu.Unlock()
		return nil, http.StatusConflict, fmt.Errorf("an endpoint named %q already exists in namespace %q", view.Name, ns)
	}
	if e.closed() {
		e.store.mu.Unlock()
		return nil, http.StatusServiceUnavailable, errClosed
	}
	for ep.id == "" || e.store.byID[ep.id] != nil {
		ep.id = e.rng.id(16)
	}
	e.store.seq++
	ep.seq = e.store.seq
	e.store.byKey[ns+"/"+view.Name] = ep
	e.store.byID[ep.id] = ep
	e.startDeployLocked(ep, who)
	snap := e.snapshotLocked()
	e.store.mu.Unlock()
	e.writeState(snap)
	return ep, 0, nil
}

func (e *Emulator) respondEndpoint(w http.ResponseWriter, r *http.Request, ep *endpoint, code int) {
	e.store.mu.RLock()
	data := ep.render(baseURL(r))
	e.store.mu.RUnlock()
	writeRaw(w, code, "application/json", data)
}

// lookup authorizes the request and finds the endpoint named in the path, answering 401/404 itself.
func (e *Emulator) lookup(w http.ResponseWriter, r *http.Request) (*endpoint, *account, bool) {
	ns, name := r.PathValue("namespace"), r.PathValue("name")
	who, ok := e.authorize(w, r, ns)
	if !ok {
		return nil, nil, false
	}
	e.store.mu.RLock()
	ep := e.store.byKey[ns+"/"+name]
	e.store.mu.RUnlock()
	if ep == nil {
		apiError(w, http.StatusNotFound, fmt.Sprintf("endpoint %q not found in namespace %q", name, ns))
		return nil, nil, false
	}
	return ep, who, true
}

func (e *Emulator) getEndpoint(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("namespace"), r.PathValue("name")
	if _, ok := e.authorize(w, r, ns); !ok {
		return
	}
	base := baseURL(r)
	e.store.mu.RLock()
	ep := e.store.byKey[ns+"/"+name]
	var data []byte
	if ep != nil {
		data = ep.render(base)
	}
	e.store.mu.RUnlock()
	if ep == nil {
		apiError(w, http.StatusNotFound, fmt.Sprintf("endpoint %q not found in namespace %q", name, ns))
		return
	}
	writeRaw(w, http.StatusOK, "application/json", data)
}

func (e *Emulator) updateEndpoint(w http.ResponseWriter, r *http.Request) {
	ep, who, ok := e.lookup(w, r)
	if !ok {
		return
	}
	patch, err := decodeObject(r)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	if code, err := e.update(ep, patch, who); err != nil {
		apiError(w, code, err.Error())
		return
	}
	e.respondEndpoint(w, r, ep, http.StatusOK)
}

// update merges patch into ep's document, validates the result and starts the update lifecycle.
func (e *Emulator) update(ep *endpoint, patch map[string]any, who *account) (int, error) {
	delete(patch, "status")
	if n, ok := patch["name"]; ok && n != ep.name {
		return http.StatusBadRequest, fmt.Errorf("name cannot be changed (endpoint %q); create a new endpoint instead", ep.name)
	}
	e.store.mu.Lock()
	defer func() {
		snap := e.snapshotLocked()
		e.store.mu.Unlock()
		e.writeState(snap)
	}()
	if ep.deleted {
		return http.StatusNotFound, fmt.Errorf("endpoint %q not found in namespace %q", ep.name, ep.ns)
	}
	doc := deepCopy(ep.spec).(map[string]any)
	mergeInto(doc, patch, "")
	normalize(doc)
	view, err := viewOf(doc)
	if err == nil {
		_, err = validateSpec(&view)
	}
	if err != nil {
		return http.StatusBadRequest, err
	}
	ep.spec, ep.view = doc, view
	e.startUpdateLocked(ep, who)
	return 0, nil
}

func (e *Emulator) deleteEndpoint(w http.ResponseWriter, r *http.Request) {
	ep, _, ok := e.lookup(w, r)
	if !ok {
		return
	}
	e.store.mu.Lock()
	if !ep.deleted {
		ep.deleted = true
		ep.gen++
		ep.task.stop()
		ep.idle.stop()
		delete(e.store.byKey, ep.ns+"/"+ep.name)
		delete(e.store.byID, ep.id)
		e.store.touchLocked(ep)
	}
	snap := e.snapshotLocked()
	e.store.mu.Unlock()
	e.writeState(snap)
	e.log.Info("endpoint deleted", "namespace", ep.ns, "name", ep.name)
	w.WriteHeader(http.StatusAccepted)
}

// action runs one of pause/resume/scale-to-zero under the lock; act returns a 400 message to refuse.
func (e *Emulator) action(act func(ep *endpoint, who *account) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ep, who, ok := e.lookup(w, r)
		if !ok {
			return
		}
		e.store.mu.Lock()
		refusal := "endpoint was deleted"
		if !ep.deleted {
			refusal = act(ep, who)
		}
		snap := e.snapshotLocked()
		e.store.mu.Unlock()
		e.writeState(snap)
		if refusal != "" {
			apiError(w, http.StatusBadRequest, refusal)
			return
		}
		e.respondEndpoint(w, r, ep, http.StatusOK)
	}
}

func (e *Emulator) pauseLocked(ep *endpoint, who *account) string {
	e.setStateLocked(ep, StatePaused, msgPaused, false, 0, 0, who)
	return ""
}

func (e *Emulator) resumeLocked(ep *endpoint, who *account) string {
	switch ep.st.State {
	case StatePaused, StateFailed, StateUpdateFailed:
		e.startDeployLocked(ep, who)
	case StateScaledToZero:
		e.wakeLocked(ep)
		ep.st.UpdatedBy = actor{ID: who.id, Name: who.name}
	case StateRunning:
		return "Endpoint is already running"
	default:
		return fmt.Sprintf("Endpoint is already running (state %s)", ep.st.State)
	}
	return ""
}

func (e *Emulator) scaleToZeroLocked(ep *endpoint, who *account) string {
	switch ep.st.State {
	case StateRunning, StateUpdating, StateUpdateFailed:
		e.setStateLocked(ep, StateScaledToZero, msgScaledToZero, true, 0, 0, who)
	case StateScaledToZero:
	case StatePaused:
		return "Endpoint is paused; resume it before scaling it to zero"
	default:
		return fmt.Sprintf("Endpoint cannot be scaled to zero while %s; wait until it is running", ep.st.State)
	}
	return ""
}

// providers answers GET /v2/provider/{namespace}, the hardware catalog with the namespace's quota
// use, and the public GET /v2/provider (no token, no usage).
func (e *Emulator) providers(w http.ResponseWriter, r *http.Request) {
	ns := r.PathValue("namespace")
	if ns != "" {
		if _, ok := e.authorize(w, r, ns); !ok {
			return
		}
	}
	used := map[*family]map[string]int{} // family → vendor/region → accelerators in use
	e.store.mu.RLock()
	for _, ep := range e.endpointsOfLocked(ns) {
		v := &ep.view
		h, err := lookupHardware(v.Provider.Vendor, v.Provider.Region, v.Compute.InstanceType, v.Compute.InstanceSize)
		if err != nil {
			continue
		}
		if used[h.family] == nil {
			used[h.family] = map[string]int{}
		}
		used[h.family][h.vendor+"/"+h.region] += h.NumAccelerators * ep.st.TargetReplica
	}
	e.store.mu.RUnlock()
	c := hardwareCatalog()
	out := make([]vendor, len(c.vendors))
	for i, v := range c.vendors {
		out[i] = v
		out[i].Regions = make([]region, len(v.Regions))
		for j, rg := range v.Regions {
			out[i].Regions[j] = rg
			out[i].Regions[j].Computes = slices.Clone(rg.Computes)
			for k := range out[i].Regions[j].Computes {
				h := &out[i].Regions[j].Computes[k]
				h.Quota.UsedAccelerators = used[h.family][h.vendor+"/"+h.region]
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"vendors": out})
}
