package emulator

import (
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
)

// routes registers every route. Each route counts its requests and applies injected faults first.
func (e *Emulator) routes() {
	const ep = "/v2/endpoint/{namespace}/{name}"
	e.handle("GET", "/v2/endpoint/{namespace}", e.listEndpoints)
	e.handle("POST", "/v2/endpoint/{namespace}", e.createEndpoint)
	e.handle("GET", ep, e.getEndpoint)
	e.handle("PUT", ep, e.updateEndpoint)
	e.handle("DELETE", ep, e.deleteEndpoint)
	e.handle("POST", ep+"/pause", e.action(e.pauseLocked))
	e.handle("POST", ep+"/resume", e.action(e.resumeLocked))
	e.handle("POST", ep+"/scale-to-zero", e.action(e.scaleToZeroLocked))
	e.handle("GET", ep+"/open-metrics", e.openMetrics)
	e.handle("GET", ep+"/logs", e.logs)
	e.handle("GET", ep+"/logs/sse", e.followLogs)
	e.handle("GET", ep+"/replica", e.replicaList)
	e.handle("GET", ep+"/replicas", e.replicaList)
	e.handle("POST", ep+"/metrics/{metric}", e.metricSeries)
	e.handle("GET", "/v2/provider/{namespace}", e.providers)
	e.handle("GET", "/v2/provider", e.providers)

	e.handle("GET", "/api/whoami-v2", e.whoami)
	e.handle("GET", "/api/catalog/repo-list", e.catalogRepoList)
	e.handle("POST", "/api/catalog/deploy", e.catalogDeploy)
	e.handle("GET", "/api/models/{repo...}", e.hubModel)
	e.oauthRoutes()

	for _, rt := range inferenceRoutes {
		e.handle(rt.method, rt.route, e.inference(rt.route, rt.serve))
	}
	// Not counted and never faulted: tests read it to count the others.
	e.mux.HandleFunc("GET "+RequestsPath, e.requestCounts)
	e.mux.HandleFunc("/", e.notFound)
}

func (e *Emulator) handle(method, route string, h http.HandlerFunc) {
	c := new(atomic.Int64)
	e.counters[method+" "+route] = c
	e.mux.HandleFunc(method+" "+route, func(w http.ResponseWriter, r *http.Request) {
		c.Add(1)
		if e.log.Enabled(r.Context(), slog.LevelDebug) {
			e.log.Debug("request", "method", method, "route", route, "path", r.URL.Path)
		}
		if e.faults.n.Load() > 0 {
			if f := e.pickFault(method, route); f != nil {
				e.applyFault(w, r, f, h)
				return
			}
		}
		h(w, r)
	})
}

// RequestsPath answers GET with the request count of every route, as JSON keyed by route pattern:
// {"GET /v2/endpoint/{namespace}": 3, …}. It needs no token: counts reveal no data.
const RequestsPath = "/emulator/requests"

func (e *Emulator) requestCounts(w http.ResponseWriter, _ *http.Request) {
	out := make(map[string]int64, len(e.counters))
	for k, c := range e.counters {
		out[k] = c.Load()
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) notFound(w http.ResponseWriter, r *http.Request) {
	apiError(w, http.StatusNotFound, fmt.Sprintf("no route %s %s in the Inference Endpoints emulator", r.Method, r.URL.Path))
}

func cutSpace(s string) (string, string, bool) { return strings.Cut(s, " ") }

func sortStrings(s []string) { sort.Strings(s) }
