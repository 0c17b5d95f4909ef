//go:build compat

package compat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/emulator"
	"github.com/hf-endpoints-mcp/hf-endpoints-mcp/hfapi"
)

// jsDir holds the pinned @huggingface/inference install and check.mjs.
const jsDir = "js"

// installHint is how to install the JS client, from the repository root.
const installHint = "npm ci --prefix compat/js"

// maxNewTokens is below the emulated model's earliest EOS, so every text call yields exactly this many tokens.
const maxNewTokens = 12

const prompt = "The emulated endpoint answers"

// jsResult is what check.mjs prints.
type jsResult struct {
	Client struct {
		Name, Version string
	} `json:"client"`
	TextGeneration struct {
		GeneratedText string `json:"generated_text"`
	} `json:"textGeneration"`
	TextGenerationStream struct {
		Events      int      `json:"events"`
		Text        string   `json:"text"`
		EventShapes []string `json:"event_shapes"`
	} `json:"textGenerationStream"`
	ChatCompletion struct {
		Content      string          `json:"content"`
		Role         string          `json:"role"`
		FinishReason string          `json:"finish_reason"`
		Usage        hfapi.ChatUsage `json:"usage"`
	} `json:"chatCompletion"`
	ChatCompletionStream struct {
		Chunks       int    `json:"chunks"`
		Content      string `json:"content"`
		FinishReason string `json:"finish_reason"`
	} `json:"chatCompletionStream"`
	FeatureExtraction struct {
		Shape []int `json:"shape"`
		Dims  int   `json:"dims"`
	} `json:"featureExtraction"`
	TextToImage struct {
		Type   string `json:"type"`
		Bytes  int    `json:"bytes"`
		SHA256 string `json:"sha256"`
	} `json:"textToImage"`
}

// TestJSClientAgainstEmulator runs the official JS client (@huggingface/inference, pinned in
// js/package-lock.json) against emulated endpoints and compares each answer with the same call made
// through hfapi: the emulated models are deterministic, so both clients must see the same output.
func TestJSClientAgainstEmulator(t *testing.T) {
	node := requireJSClient(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	srv, err := emulator.Start("127.0.0.1:0", emulator.Options{Seed: 11, Timings: emulator.Timings{
		Deploy: 60 * time.Millisecond, Update: 30 * time.Millisecond, ScaleUp: 30 * time.Millisecond, IdleMinute: time.Hour}})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })
	c, err := hfapi.New(hfapi.Config{Token: srv.Token(), APIBase: srv.APIBase(), HubBase: srv.HubBase(), CatalogBase: srv.CatalogBase()})
	require.NoError(t, err)

	gen := runningEndpoint(ctx, t, c, "js-textgen", "openai-community/gpt2", "text-generation")
	emb := runningEndpoint(ctx, t, c, "js-embed", "sentence-transformers/all-MiniLM-L6-v2", "feature-extraction")
	img := runningEndpoint(ctx, t, c, "js-image", "stabilityai/stable-diffusion-xl-base-1.0", "text-to-image")

	full, stop, stopped := textExpectations(ctx, t, c, gen)
	chat, err := c.ChatCompletion(ctx, gen, hfapi.ChatCompletionRequest{Messages: []hfapi.ChatMessage{{Role: "user", Content: prompt}},
		MaxTokens: ptr(maxNewTokens), Temperature: ptr(0.0)}, hfapi.CallOptions{})
	require.NoError(t, err)
	require.Len(t, chat.Choices, 1)
	vecs, err := c.FeatureExtraction(ctx, emb, hfapi.FeatureExtractionRequest{Inputs: []string{prompt}}, hfapi.CallOptions{})
	require.NoError(t, err)
	require.Len(t, vecs, 1)
	image, err := c.TextToImage(ctx, img, hfapi.TextToImageRequest{Inputs: prompt}, hfapi.CallOptions{})
	require.NoError(t, err)

	imageFile := filepath.Join(t.TempDir(), "image")
	got := runCheck(ctx, t, node, map[string]string{
		"HF_TOKEN":                  srv.Token(),
		"HF_TEXT_GENERATION_URL":    gen.URL(),
		"HF_FEATURE_EXTRACTION_URL": emb.URL(),
		"HF_TEXT_TO_IMAGE_URL":      img.URL(),
		"COMPAT_PROMPT":             prompt,
		"COMPAT_MAX_NEW_TOKENS":     "12",
		"COMPAT_STOP":               stop,
		"COMPAT_IMAGE_OUT":          imageFile,
	})
	t.Logf("client %s %s", got.Client.Name, got.Client.Version)

	t.Run("textGeneration with max_new_tokens and stop", func(t *testing.T) {
		assert.Equal(t, stopped, got.TextGeneration.GeneratedText)
	})
	t.Run("textGenerationStream", func(t *testing.T) {
		assert.Equal(t, full, got.TextGenerationStream.Text)
		assert.Equal(t, maxNewTokens, got.TextGenerationStream.Events, "one event per token")
		// For an endpoint URL the client streams from /v1/completions (OpenAI chunks), as TGI serves them.
		assert.Equal(t, []string{"openai-completion-chunk"}, got.TextGenerationStream.EventShapes)
	})
	t.Run("chatCompletion", func(t *testing.T) {
		want := chat.Choices[0]
		assert.Equal(t, want.Message.Content, got.ChatCompletion.Content)
		assert.Equal(t, "assistant", got.ChatCompletion.Role)
		assert.Equal(t, want.FinishReason, got.ChatCompletion.FinishReason)
		assert.Equal(t, maxNewTokens, got.ChatCompletion.Usage.CompletionTokens)
	})
	t.Run("chatCompletionStream", func(t *testing.T) {
		assert.Equal(t, chat.Choices[0].Message.Content, got.ChatCompletionStream.Content)
		assert.Equal(t, maxNewTokens, got.ChatCompletionStream.Chunks, "one chunk per token")
		assert.Equal(t, chat.Choices[0].FinishReason, got.ChatCompletionStream.FinishReason)
	})
	t.Run("featureExtraction", func(t *testing.T) {
		assert.Equal(t, len(vecs[0]), got.FeatureExtraction.Dims)
		assert.Equal(t, []int{1, len(vecs[0])}, got.FeatureExtraction.Shape)
	})
	t.Run("textToImage", func(t *testing.T) {
		assertSameImage(t, image, imageFile, got)
	})
}

// textExpectations generates through hfapi (greedy, TGI's POST /): the full text, a stop sequence
// taken from its middle, and the text generation stops at with it.
func textExpectations(ctx context.Context, t *testing.T, c *hfapi.Client, ep *hfapi.Endpoint) (full, stop, stopped string) {
	t.Helper()
	res, err := c.TextGeneration(ctx, ep, hfapi.TextGenerationRequest{Inputs: prompt,
		Parameters: hfapi.TextGenerationParameters{MaxNewTokens: ptr(maxNewTokens), Details: ptr(true)}}, hfapi.CallOptions{})
	require.NoError(t, err)
	require.NotNil(t, res.Details)
	require.Len(t, res.Details.Tokens, maxNewTokens)
	stop = pickStop(res.Details.Tokens)
	require.NotEmpty(t, stop, "no token of %q can serve as a stop sequence", res.GeneratedText)
	short, err := c.TextGeneration(ctx, ep, hfapi.TextGenerationRequest{Inputs: prompt,
		Parameters: hfapi.TextGenerationParameters{MaxNewTokens: ptr(maxNewTokens), Stop: []string{stop}, Details: ptr(true)}}, hfapi.CallOptions{})
	require.NoError(t, err)
	require.Equal(t, "stop_sequence", short.Details.FinishReason)
	require.Less(t, len(short.GeneratedText), len(res.GeneratedText), "the stop sequence must cut the text")
	return res.GeneratedText, stop, short.GeneratedText
}

// pickStop returns the text of a middle token that does not occur earlier in the text, so the
// stop sequence ends generation there.
func pickStop(tokens []hfapi.Token) string {
	var before strings.Builder
	for i, tok := range tokens {
		w := strings.TrimSpace(tok.Text)
		if i >= 3 && i < len(tokens)-2 && len(w) > 2 && !strings.Contains(before.String(), w) {
			return w
		}
		before.WriteString(tok.Text)
	}
	return ""
}

func assertSameImage(t *testing.T, want *hfapi.GeneratedImage, file string, got jsResult) {
	t.Helper()
	sum := sha256.Sum256(want.Data)
	assert.Equal(t, "image/png", want.MIMEType)
	assert.Equal(t, want.MIMEType, got.TextToImage.Type)
	assert.Equal(t, len(want.Data), got.TextToImage.Bytes)
	assert.Equal(t, hex.EncodeToString(sum[:]), got.TextToImage.SHA256, "the same prompt draws the same image")
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	require.NoError(t, err, "the client's image is a PNG")
	assert.Equal(t, 512, cfg.Width)
	assert.Equal(t, 512, cfg.Height)
	_, err = png.Decode(bytes.NewReader(data))
	assert.NoError(t, err)
}

// requireJSClient returns the node binary, failing (not skipping) with the install command when
// node or the pinned client is missing.
func requireJSClient(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH (Node.js 20 or later is needed): %v", err)
	}
	manifest := filepath.Join(jsDir, "node_modules", "@huggingface", "inference", "package.json")
	if _, err := os.Stat(manifest); err != nil {
		t.Fatalf("the JS client is not installed (%s missing): run `%s` from the repository root", manifest, installHint)
	}
	return node
}

func runningEndpoint(ctx context.Context, t *testing.T, c *hfapi.Client, name, repo, task string) *hfapi.Endpoint {
	t.Helper()
	_, err := c.Create(ctx, "", hfapi.CreateSpec{Name: name, Repository: repo, Framework: "pytorch", Task: task,
		Accelerator: "cpu", InstanceSize: "x2", InstanceType: "intel-spr", Region: "us-east-1", Vendor: "aws"})
	require.NoError(t, err)
	ep, err := c.Wait(ctx, "", name, hfapi.WaitOptions{Timeout: 30 * time.Second, Poll: 10 * time.Millisecond})
	require.NoError(t, err)
	require.Equal(t, hfapi.StateRunning, ep.Status.State)
	require.NotEmpty(t, ep.URL())
	return ep
}

// runCheck runs check.mjs with env added to the test's environment and decodes its JSON.
func runCheck(ctx context.Context, t *testing.T, node string, env map[string]string) jsResult {
	t.Helper()
	cmd := exec.CommandContext(ctx, node, "check.mjs")
	cmd.Dir = jsDir
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("the JS client failed against the emulator (exit %d):\n%s", exit.ExitCode(), stderr.String())
	}
	require.NoError(t, err, "running node check.mjs")
	t.Logf("check.mjs printed: %s", stdout.Bytes())
	var out jsResult
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &out), "check.mjs output: %s", stdout.String())
	return out
}

func ptr[T any](v T) *T { return &v }
