package emulator

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// whoami answers the Hub's GET /api/whoami-v2 like the real one, minus anything secret.
func (e *Emulator) whoami(w http.ResponseWriter, r *http.Request) {
	a, msg, ok := e.caller(r)
	if !ok {
		apiError(w, http.StatusUnauthorized, msg)
		return
	}
	orgs := make([]map[string]any, 0, len(a.orgs))
	for _, o := range a.orgs {
		orgs = append(orgs, map[string]any{
			"type": "org", "id": hubID("org", o), "name": o, "fullname": o,
			"email": nil, "canPay": true, "periodEnd": nil, "avatarUrl": "",
			"roleInOrg": "admin", "isEnterprise": false,
		})
	}
	auth := map[string]any{
		"type": "access_token",
		"accessToken": map[string]any{
			"displayName": "emulator token", "role": "write",
			"createdAt": "2025-01-01T00:00:00.000Z",
		},
	}
	if g := e.oauth.accessGrant(bearer(r)); g != nil {
		// An OAuth access token says when it expires and what it was granted.
		auth = map[string]any{"type": "oauth", "expiresAt": g.exp.UTC().Format(time.RFC3339), "scope": g.scope}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"type": "user", "id": a.id, "name": a.name, "fullname": a.name,
		"email": a.name + "@emulator.invalid", "emailVerified": true, "canPay": true,
		"periodEnd": nil, "isPro": false, "avatarUrl": "", "orgs": orgs, "auth": auth,
	})
}

// catalogRepoList answers GET /api/catalog/repo-list.
func (e *Emulator) catalogRepoList(w http.ResponseWriter, r *http.Request) {
	if _, ok := e.authorize(w, r, ""); !ok {
		return
	}
	models := make([]string, 0, len(catalogModels()))
	for _, m := range catalogModels() {
		models = append(models, m.repo)
	}
	writeJSON(w, http.StatusOK, map[string]any{"models": models})
}

// catalogDeploy answers POST /api/catalog/deploy {"namespace","repoId","endpointName"?,"accelerator"?}
// by creating the endpoint with the catalog's configuration for that model.
func (e *Emulator) catalogDeploy(w http.ResponseWriter, r *http.Request) {
	who, msg, ok := e.caller(r)
	if !ok {
		apiError(w, http.StatusUnauthorized, msg)
		return
	}
	body, err := decodeObject(r)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	ns, repo, name, accel := str(body["namespace"]), str(body["repoId"]), str(body["endpointName"]), str(body["accelerator"])
	if ns == "" {
		ns = who.name
	}
	if _, ok := e.authorize(w, r, ns); !ok {
		return
	}
	if repo == "" {
		apiError(w, http.StatusBadRequest, "repoId is required (a model of GET /api/catalog/repo-list)")
		return
	}
	m := findCatalogModel(repo)
	if m == nil {
		apiError(w, http.StatusNotFound, fmt.Sprintf("model %q is not in the catalog; list it with GET /api/catalog/repo-list", repo))
		return
	}
	if accel == "" {
		accel = m.defaultAccel
	}
	hw, ok := m.hw[accel]
	if !ok {
		apiError(w, http.StatusBadRequest, fmt.Sprintf("model %q has no %q configuration in the catalog; valid accelerators: %s", repo, accel, strings.Join(mapKeys(m.hw), ", ")))
		return
	}
	if name == "" {
		name = catalogEndpointName(repo, e.rng.id(3))
	}
	doc := m.endpointDoc(name, accel, hw)
	ep, code, err := e.create(ns, doc, who)
	if err != nil {
		apiError(w, code, err.Error())
		return
	}
	e.store.mu.RLock()
	data := ep.render(baseURL(r))
	e.store.mu.RUnlock()
	out := make([]byte, 0, len(data)+14)
	out = append(append(append(out, `{"endpoint":`...), data...), '}')
	writeRaw(w, http.StatusOK, "application/json", out)
}

// endpointDoc is the create request the catalog makes for m on hardware hw.
func (m *catalogModel) endpointDoc(name, accel string, hw [3]string) map[string]any {
	typ, size, _ := strings.Cut(hw[2], " ")
	return map[string]any{
		"name": name, "type": "authenticated",
		"provider": map[string]any{"vendor": hw[0], "region": hw[1]},
		"compute": map[string]any{"accelerator": accel, "instanceType": typ, "instanceSize": size,
			"scaling": map[string]any{"minReplica": 0, "maxReplica": 1, "scaleToZeroTimeout": 15}},
		"model": map[string]any{"repository": m.repo, "framework": m.framework, "task": m.task,
			"image": m.image(), "env": map[string]any{}, "secrets": map[string]any{}},
	}
}

// catalogEndpointName derives a name the way the catalog does: the repo name, lowercased, with a
// short random suffix, within the 32-character limit.
func catalogEndpointName(repo, suffix string) string {
	_, n, found := strings.Cut(repo, "/")
	if !found {
		n = repo
	}
	var b strings.Builder
	for _, c := range strings.ToLower(n) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	base := strings.Trim(b.String(), "-")
	if len(base) > 28 {
		base = strings.Trim(base[:28], "-")
	}
	if base == "" {
		base = "endpoint"
	}
	return base + "-" + suffix
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}
