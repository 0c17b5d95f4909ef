package httpsec

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// ResourceMetadataPath is where OAuth 2.0 protected resource metadata is served (RFC 9728 §3); a
// resource at a path has its own document at this path followed by the resource's path.
const ResourceMetadataPath = "/.well-known/oauth-protected-resource"

// ProtectedResource describes the server as an OAuth 2.0 protected resource, as the MCP authorization
// spec wants: a client that gets 401 reads the metadata named in the challenge, signs in with one of
// AuthorizationServers and retries with the access token.
type ProtectedResource struct {
	// AuthorizationServers are the issuer URLs whose access tokens the server accepts, e.g.
	// https://huggingface.co.
	AuthorizationServers []string
	// Scopes are the scopes a token needs: announced in the metadata and in every challenge, and
	// checked against Grant.Scopes when the validator knows them.
	Scopes []string
	// Paths are the endpoints that are resources of their own (e.g. "/mcp"): each has metadata at
	// ResourceMetadataPath+path naming base URL+path as the resource, and challenges on it point there.
	// The document at ResourceMetadataPath itself names the base URL.
	Paths []string
	// Name is the human-readable resource_name.
	Name string
}

// baseURL is the URL the request reached the server at. The Host has passed the allowlist by then;
// X-Forwarded-Proto tells a server behind a TLS-terminating proxy that its clients use https.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// MetadataURL is the metadata document for the resource r asked for.
func (p *ProtectedResource) MetadataURL(r *http.Request) string {
	if slices.Contains(p.Paths, r.URL.Path) {
		return baseURL(r) + ResourceMetadataPath + r.URL.Path
	}
	return baseURL(r) + ResourceMetadataPath
}

// serveMetadata answers r if it asks for a metadata document, and reports whether it did.
func (p *ProtectedResource) serveMetadata(w http.ResponseWriter, r *http.Request) bool {
	if p == nil {
		return false
	}
	sub, ok := strings.CutPrefix(r.URL.Path, ResourceMetadataPath)
	if !ok || sub != "" && !slices.Contains(p.Paths, sub) {
		return false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "protected resource metadata is read with GET")
		return true
	}
	doc := map[string]any{
		"resource":                 baseURL(r) + sub,
		"authorization_servers":    p.AuthorizationServers,
		"bearer_methods_supported": []string{"header"},
	}
	if len(p.Scopes) > 0 {
		doc["scopes_supported"] = p.Scopes
	}
	if p.Name != "" {
		doc["resource_name"] = p.Name
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_ = json.NewEncoder(w).Encode(doc)
	return true
}

// missingScopes are the scopes the resource needs that g does not have; none when the grant's scopes
// are not known.
func (p *ProtectedResource) missingScopes(g Grant) []string {
	if p == nil || g.Scopes == nil {
		return nil
	}
	var missing []string
	for _, s := range p.Scopes {
		if !slices.Contains(g.Scopes, s) {
			missing = append(missing, s)
		}
	}
	return missing
}
