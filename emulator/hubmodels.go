package emulator

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
)

// modelCard is what the Hub knows of a catalog model: its safetensors size and how it is tagged.
type modelCard struct {
	dtype    string // safetensors dtype of the weights: BF16, F16, F32
	params   int64  // safetensors parameter count
	library  string // library_name
	arch     string // model_type tag (llama, bert, …)
	chatable bool   // has a chat template ("conversational" tag)
}

// dtypeBytes is the size of one parameter of each safetensors dtype the catalog uses.
var dtypeBytes = map[string]int64{"F32": 4, "BF16": 2, "F16": 2, "F8_E4M3": 1, "I8": 1, "U8": 1}

// modelWeights returns the parameter count of a catalog model and the bytes its weights take in
// their stored dtype. ok is false for a repository the catalog does not know: its size is unknown.
func modelWeights(repo string) (params, weightBytes int64, ok bool) {
	m := findCatalogModel(repo)
	if m == nil {
		return 0, 0, false
	}
	return m.card.params, m.card.params * dtypeBytes[m.card.dtype], true
}

// hubModel answers the Hub's GET /api/models/{repo} for catalog models, in the Hub's shape (the fields
// clients read: id, pipeline_tag, library_name, tags, safetensors). Like the Hub, public model
// information needs no token, but a token that is sent must be valid; an unknown repository is a 404
// {"error":"Repository not found"}.
func (e *Emulator) hubModel(w http.ResponseWriter, r *http.Request) {
	if bearer(r) != "" {
		if _, msg, ok := e.caller(r); !ok {
			apiError(w, http.StatusUnauthorized, msg)
			return
		}
	}
	m := findCatalogModel(r.PathValue("repo"))
	if m == nil {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		apiError(w, http.StatusNotFound, "Repository not found")
		return
	}
	writeJSON(w, http.StatusOK, m.hubInfo())
}

// hubInfo is the model's GET /api/models/{repo} document.
func (m *catalogModel) hubInfo() map[string]any {
	author, _, _ := strings.Cut(m.repo, "/")
	sum := sha256.Sum256([]byte("model/" + m.repo))
	c := m.card
	tags := []string{c.library, "safetensors", c.arch, m.task}
	if c.chatable {
		tags = append(tags, "conversational")
	}
	if m.task == "text-generation" {
		tags = append(tags, "text-generation-inference")
	}
	tags = append(tags, "endpoints_compatible", "region:us")
	var gated any = false
	if author == "meta-llama" {
		gated = "manual" // Llama licences are accepted by hand on the Hub
	}
	return map[string]any{
		"_id": hubID("model", m.repo), "id": m.repo, "modelId": m.repo, "author": author,
		"sha": hex.EncodeToString(sum[:20]), "private": false, "disabled": false,
		"gated":        gated,
		"pipeline_tag": m.task, "library_name": c.library, "tags": tags,
		"createdAt": "2024-09-18T15:03:14.000Z", "lastModified": "2024-12-06T10:00:00.000Z",
		"safetensors": map[string]any{
			"parameters": map[string]int64{c.dtype: c.params},
			"total":      c.params,
		},
	}
}
