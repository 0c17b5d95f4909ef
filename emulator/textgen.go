package emulator

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// The text generator is an emulation, not a model: each token is drawn from a fixed word list by a
// PRNG seeded from a hash of the prompt and the sampling parameters (and the seed when sampling), so
// the same request always yields the same text, and a longer max_new_tokens extends the same text.

// Limits reported by /info and enforced by validation, like a small TGI deployment.
const (
	maxInputTokens   = 4095
	maxTotalTokens   = 4096
	maxStopSequences = 4
	maxBestOf        = 2
	maxTopNTokens    = 5
	// defaultMaxNewTokens applies when a request sets neither max_new_tokens nor max_tokens. TGI's
	// historical default is 20 (recent versions fill the context); 20 keeps answers short and cheap.
	defaultMaxNewTokens = 20
	// eosAfter is the first step at which the emulated model may end with its EOS token, so requests
	// for up to eosAfter tokens always get exactly that many.
	eosAfter = 24
	eosID    = 2
	eosText  = "</s>"
)

// vocabulary is the emulated model's word list, split on first use (nothing is built at package init).
var vocabulary = sync.OnceValue(func() []string { return strings.Fields(vocabularyText) })

const vocabularyText = `the of and to in is that for it as with was on be by this are from at or an
have not which but all they has were their one can more also its new other some time when there been
what may would about only into than these first could people two after most very any where between
such made over well many through like before used because while both each those same system data model
models endpoint endpoints inference learning language text token tokens training network answer question
simple small large fast slow good better best open source hugging face cloud server request response
value values result results example examples function method process output input word words sentence
sentences image images vector vectors space point points number numbers list set group test tests way
world water light sound music story history science research study paper idea ideas plan plans team
work works user users code design build run runs ready state states change changes update scale zero
replica replicas machine machines memory compute hardware region vendor price cost hour hours day days
week year years city river mountain forest garden house window door road bridge morning evening night
bright quiet gentle careful clear deep warm cold green blue red golden silver ancient modern curious
happy calm brave kind quick steady`

// punctuation tokens appear now and then to make the text read less like a word list.
var punctuation = []string{",", ".", ";", ":"}

// genToken is one generated token, in TGI's Token shape.
type genToken struct {
	ID      int     `json:"id"`
	Text    string  `json:"text"`
	Logprob float64 `json:"logprob"`
	Special bool    `json:"special"`
}

// prefillToken is TGI's PrefillToken (the first has no logprob).
type prefillToken struct {
	ID      int      `json:"id"`
	Text    string   `json:"text"`
	Logprob *float64 `json:"logprob"`
}

// genRequest is the generator's input, built from TGI, completions or chat parameters.
type genRequest struct {
	prompt       string
	maxNewTokens int
	stop         []string
	sampling     bool
	seed         uint64 // used when sampling
	temperature  float64
	topP, topK   float64
	repetition   float64
}

// genResult is the generated continuation.
type genResult struct {
	tokens      []genToken
	text        string // without special tokens
	finish      string // length | eos_token | stop_sequence
	inputTokens int
}

type splitmix uint64

func (s *splitmix) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (s *splitmix) float() float64 { return float64(s.next()>>11) / (1 << 53) }

// key hashes what determines the output: the prompt, and when sampling the seed and sampling parameters.
func (g *genRequest) key() uint64 {
	h := fnv.New64a()
	h.Write([]byte(g.prompt))
	var b [8]byte
	put := func(f float64) {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(f))
		h.Write(b[:])
	}
	put(g.repetition)
	if g.sampling {
		binary.LittleEndian.PutUint64(b[:], g.seed)
		h.Write([]byte{1})
		h.Write(b[:])
		put(g.temperature)
		put(g.topP)
		put(g.topK)
	}
	return h.Sum64()
}

// tokenID gives a word a stable id in a 32k vocabulary, away from the special ids 0..2.
func tokenID(s string) int {
	h := fnv.New32a()
	h.Write([]byte(s))
	return 3 + int(h.Sum32()%31997)
}

// generate runs the emulated model. It stops at max_new_tokens, at a stop sequence (kept in the
// text, as TGI does) or at the emulated EOS token.
func generate(g genRequest) genResult {
	res := genResult{inputTokens: countTokens(g.prompt)}
	rng := splitmix(g.key())
	var text strings.Builder
	capital := true
	for step := 0; step < g.maxNewTokens; step++ {
		r := rng.next()
		logprob := -math.Round(rng.float()*4*1e7) / 1e7
		if step >= eosAfter && r%13 == 0 {
			res.tokens = append(res.tokens, genToken{ID: eosID, Text: eosText, Logprob: logprob, Special: true})
			res.finish = "eos_token"
			break
		}
		var tok string
		if step > 0 && r%7 == 0 && !strings.ContainsAny(lastToken(res.tokens), ",.;:") {
			tok = punctuation[(r>>8)%uint64(len(punctuation))]
			capital = tok == "."
		} else {
			words := vocabulary()
			w := words[(r>>16)%uint64(len(words))]
			if capital {
				w = strings.ToUpper(w[:1]) + w[1:]
				capital = false
			}
			tok = " " + w
		}
		res.tokens = append(res.tokens, genToken{ID: tokenID(tok), Text: tok, Logprob: logprob})
		text.WriteString(tok)
		if hasStop(text.String(), g.stop) {
			res.finish = "stop_sequence"
			break
		}
	}
	if res.finish == "" {
		res.finish = "length"
	}
	res.text = text.String()
	return res
}

func lastToken(t []genToken) string {
	if len(t) == 0 {
		return ""
	}
	return t[len(t)-1].Text
}

func hasStop(text string, stop []string) bool {
	for _, s := range stop {
		if s != "" && strings.HasSuffix(text, s) {
			return true
		}
	}
	return false
}

// splitTokens splits text into word and punctuation tokens, the emulated tokenizer.
func splitTokens(s string) []string {
	var out []string
	start := -1
	for i, r := range s {
		word := unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_'
		if word {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, s[start:i])
			start = -1
		}
		if !unicode.IsSpace(r) {
			out = append(out, string(r))
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

func countTokens(s string) int { return len(splitTokens(s)) }

// prefill returns the prompt's tokens as TGI reports them with decoder_input_details.
func prefill(prompt string, key uint64) []prefillToken {
	rng := splitmix(key ^ 0x5bd1e995)
	words := splitTokens(prompt)
	out := make([]prefillToken, 0, len(words))
	for i, w := range words {
		pt := prefillToken{ID: tokenID(w), Text: w}
		if i > 0 {
			lp := -math.Round(rng.float()*8*1e7) / 1e7
			pt.Logprob = &lp
		}
		out = append(out, pt)
	}
	return out
}

// derivedSeed gives sampling without an explicit seed a reproducible one (TGI would pick a random
// seed; the emulator stays deterministic and reports the seed it used).
func derivedSeed(prompt string, n int) uint64 {
	h := fnv.New64a()
	h.Write([]byte(prompt))
	h.Write([]byte(strconv.Itoa(n)))
	return h.Sum64() >> 1
}
