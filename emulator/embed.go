package emulator

import (
	"cmp"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Embeddings are emulated by feature hashing: each lowercase word adds ±1 to one of embedDims
// dimensions (chosen by its hash), plus a small constant bias so no text maps to the zero vector.
// Identical texts get identical vectors (cosine 1) and texts sharing words are closer than unrelated ones.

const (
	embedDims          = 384 // as sentence-transformers/all-MiniLM-L6-v2
	maxClientBatchSize = 32
	embedBias          = 0.25
)

func embed(text string, normalize bool, dims int) []float32 {
	v := make([]float64, embedDims)
	v[0] = embedBias
	for _, w := range splitTokens(strings.ToLower(text)) {
		h := fnv.New64a()
		h.Write([]byte(w))
		x := h.Sum64()
		sign := 1.0
		if x>>63 == 1 {
			sign = -1
		}
		v[1+x%(embedDims-1)] += sign
	}
	v = v[:dims]
	if normalize {
		var n float64
		for _, x := range v {
			n += x * x
		}
		if n = math.Sqrt(n); n > 0 {
			for i := range v {
				v[i] /= n
			}
		}
	}
	out := make([]float32, dims)
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// teiRequest is TEI's EmbedRequest (parameters at the root).
type teiRequest struct {
	Inputs              json.RawMessage `json:"inputs"`
	Normalize           *bool           `json:"normalize"`
	Truncate            *bool           `json:"truncate"`
	TruncationDirection *string         `json:"truncation_direction"`
	PromptName          *string         `json:"prompt_name"`
	Dimensions          *int            `json:"dimensions"`
}

// texts accepts a string or a list of strings.
func texts(raw json.RawMessage) ([]string, bool, string) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, true, ""
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, false, "Failed to deserialize the JSON body into the target type: inputs: data did not match any variant of untagged enum Input at line 1 column 1"
	}
	return many, false, ""
}

// embedTexts validates a TEI request and embeds its inputs; it answers errors itself.
func embedTexts(w http.ResponseWriter, r *http.Request, t *target) ([][]float32, bool, bool) {
	var req teiRequest
	if !readJSONBody(w, r, &req) {
		return nil, false, false
	}
	if len(req.Inputs) == 0 {
		writeRaw(w, http.StatusUnprocessableEntity, "text/plain; charset=utf-8",
			[]byte("Failed to deserialize the JSON body into the target type: missing field `inputs` at line 1 column 1"))
		return nil, false, false
	}
	in, single, msg := texts(req.Inputs)
	if msg != "" {
		writeRaw(w, http.StatusUnprocessableEntity, "text/plain; charset=utf-8", []byte(msg))
		return nil, false, false
	}
	dims := derefOr(req.Dimensions, embedDims)
	switch {
	case len(in) == 0:
		tgiError(w, http.StatusBadRequest, "empty", "Batch is empty")
		return nil, false, false
	case len(in) > maxClientBatchSize:
		tgiError(w, http.StatusRequestEntityTooLarge, "validation",
			fmt.Sprintf("batch size %d > maximum allowed batch size %d", len(in), maxClientBatchSize))
		return nil, false, false
	case dims < 1 || dims > embedDims:
		tgiError(w, http.StatusBadRequest, "validation", fmt.Sprintf("`dimensions` must be between 1 and %d. Given: %d", embedDims, dims))
		return nil, false, false
	}
	out := make([][]float32, len(in))
	for i, s := range in {
		out[i] = embed(s, derefOr(req.Normalize, true), dims)
		t.countIn(countTokens(s))
	}
	return out, single, true
}

// teiEmbed serves TEI's POST /embed: always [[f…], …].
func teiEmbed(e *Emulator, w http.ResponseWriter, r *http.Request, t *target) {
	if vecs, _, ok := embedTexts(w, r, t); ok {
		writeJSON(w, http.StatusOK, vecs)
	}
}

// teiRoot serves POST / of an embedding endpoint: TEI's [[f…]], a sentence-similarity pipeline's
// scores for {"source_sentence", "sentences"}, or the toolkit's flat vector for a single string of a
// sentence-embeddings endpoint without the TEI image.
func teiRoot(e *Emulator, w http.ResponseWriter, r *http.Request, t *target) {
	if t.task == "sentence-similarity" {
		if sentenceSimilarity(w, r, t) {
			return
		}
	}
	vecs, single, ok := embedTexts(w, r, t)
	if !ok {
		return
	}
	if single && t.task == "sentence-embeddings" && t.imageKind != "tei" {
		writeJSON(w, http.StatusOK, vecs[0])
		return
	}
	writeJSON(w, http.StatusOK, vecs)
}

// sentenceSimilarity answers {"inputs": {"source_sentence", "sentences"}} with cosine scores. It
// returns false, having read nothing, when the body is not of that shape (r.Body is re-readable).
func sentenceSimilarity(w http.ResponseWriter, r *http.Request, t *target) bool {
	body, err := peekBody(r)
	if err != nil {
		return false
	}
	var req struct {
		Inputs *struct {
			Source    *string  `json:"source_sentence"`
			Sentences []string `json:"sentences"`
		} `json:"inputs"`
	}
	if json.Unmarshal(body, &req) != nil || req.Inputs == nil || req.Inputs.Source == nil {
		return false
	}
	src := embed(*req.Inputs.Source, true, embedDims)
	scores := make([]float64, len(req.Inputs.Sentences))
	for i, s := range req.Inputs.Sentences {
		scores[i] = math.Round(cosine(src, embed(s, true, embedDims))*1e6) / 1e6
	}
	writeJSON(w, http.StatusOK, scores)
	return true
}

type oaiEmbedding struct {
	Object    string    `json:"object"`
	Embedding []float32 `json:"embedding"`
	Index     int       `json:"index"`
}

// v1Embeddings serves TEI's OpenAI-compatible POST /v1/embeddings.
func v1Embeddings(e *Emulator, w http.ResponseWriter, r *http.Request, t *target) {
	body, err := peekBody(r)
	if err != nil {
		writeRaw(w, http.StatusBadRequest, "text/plain; charset=utf-8", []byte(err.Error()))
		return
	}
	var req struct {
		Input json.RawMessage `json:"input"`
	}
	if msg := decodeStrict(body, &req); msg != "" || len(req.Input) == 0 {
		if msg == "" {
			msg = "Failed to deserialize the JSON body into the target type: missing field `input` at line 1 column 1"
		}
		writeRaw(w, http.StatusUnprocessableEntity, "text/plain; charset=utf-8", []byte(msg))
		return
	}
	in, _, msg := texts(req.Input)
	if msg != "" {
		writeRaw(w, http.StatusUnprocessableEntity, "text/plain; charset=utf-8", []byte(msg))
		return
	}
	if len(in) == 0 {
		tgiError(w, http.StatusBadRequest, "empty", "Batch is empty")
		return
	}
	data := make([]oaiEmbedding, len(in))
	tokens := 0
	for i, s := range in {
		data[i] = oaiEmbedding{Object: "embedding", Embedding: embed(s, true, embedDims), Index: i}
		tokens += countTokens(s)
	}
	t.countIn(tokens)
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "model": t.repo,
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens}})
}

// teiInfo is TEI's GET /info, stating that it is an emulator.
func teiInfo(t *target) map[string]any {
	return map[string]any{
		"model_id": t.repo, "model_sha": t.revision, "model_dtype": "emulated",
		"model_type":              map[string]any{"embedding": map[string]any{"pooling": "mean"}},
		"max_concurrent_requests": 512, "max_input_length": 512, "max_batch_tokens": 16384,
		"max_client_batch_size": maxClientBatchSize, "tokenization_workers": 2,
		"version": "0.0.0-emulated", "sha": nil, "docker_label": systemFingerprint,
		"started_at": time.Now().UTC().Format(time.RFC3339),
	}
}

// rerankTasks are the tasks of re-ranker models, which TEI serves at POST /rerank.
var rerankTasks = []string{"text-ranking", "sentence-ranking"}

// teiRerank serves TEI's POST /rerank {"query", "texts", "return_text"?}: [{"index", "score",
// "text"?}], best first, the score being the cosine of the hashed embeddings mapped to [0, 1]. Like
// TEI, an endpoint whose model is not a re-ranker refuses with 424.
func teiRerank(e *Emulator, w http.ResponseWriter, r *http.Request, t *target) {
	if !slices.Contains(rerankTasks, t.task) {
		writeJSON(w, http.StatusFailedDependency, map[string]string{"error": fmt.Sprintf(
			"`rerank` is not available: the model of this endpoint (task %q) is not a re-ranker", t.task), "error_type": "Backend"})
		return
	}
	body, err := peekBody(r)
	var req struct {
		Query      *string  `json:"query"`
		Texts      []string `json:"texts"`
		ReturnText bool     `json:"return_text"`
	}
	if err != nil || json.Unmarshal(body, &req) != nil || req.Query == nil || len(req.Texts) == 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{
			"error": `expected {"query": "…", "texts": ["…", …]} with at least one text`, "error_type": "Validation"})
		return
	}
	q := embed(*req.Query, true, embedDims)
	out := make([]map[string]any, len(req.Texts))
	for i, s := range req.Texts {
		t.ep.metrics.inTokens.Add(int64(countTokens(s)))
		out[i] = map[string]any{"index": i, "score": math.Round((cosine(q, embed(s, true, embedDims))+1)/2*1e6) / 1e6}
		if req.ReturnText {
			out[i]["text"] = s
		}
	}
	slices.SortStableFunc(out, func(a, b map[string]any) int { return cmp.Compare(b["score"].(float64), a["score"].(float64)) })
	writeJSON(w, http.StatusOK, out)
}
