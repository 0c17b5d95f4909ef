// Runs the official @huggingface/inference client, unchanged, against Inference Endpoints
// (the emulator's, in the compat test) and prints one JSON object with what each call returned.
//
// Environment:
//   HF_TOKEN                   bearer token for the endpoints (never printed)
//   HF_TEXT_GENERATION_URL     status.url of a text-generation (TGI) endpoint
//   HF_FEATURE_EXTRACTION_URL  status.url of a feature-extraction (TEI) endpoint
//   HF_TEXT_TO_IMAGE_URL       status.url of a text-to-image endpoint
//   COMPAT_PROMPT              prompt for the text calls (default below)
//   COMPAT_MAX_NEW_TOKENS      max_new_tokens / max_tokens (default 12)
//   COMPAT_STOP                optional stop sequence for textGeneration
//   COMPAT_TIMEOUT_MS          whole-run limit (default 60000): the client retries 503s forever
//   COMPAT_IMAGE_OUT           optional file to write the generated image to
//
// Exit status: 0 with the JSON on stdout; 1 when a client call fails; 2 on a usage error.

import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { InferenceClient } from "@huggingface/inference";

const clientVersion = createRequire(import.meta.url)("@huggingface/inference/package.json").version;

function fail(code, message) {
  process.stderr.write(`compat/js/check.mjs: ${message}\n`);
  process.exit(code);
}

function required(name) {
  const v = process.env[name];
  if (!v) {
    fail(2, `${name} is not set; set HF_TOKEN, HF_TEXT_GENERATION_URL, HF_FEATURE_EXTRACTION_URL and HF_TEXT_TO_IMAGE_URL`);
  }
  return v;
}

function positiveInt(name, def) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) fail(2, `${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

const token = required("HF_TOKEN");
const urls = {
  textGeneration: required("HF_TEXT_GENERATION_URL"),
  featureExtraction: required("HF_FEATURE_EXTRACTION_URL"),
  textToImage: required("HF_TEXT_TO_IMAGE_URL"),
};
const prompt = process.env.COMPAT_PROMPT || "The emulated endpoint answers";
const maxNewTokens = positiveInt("COMPAT_MAX_NEW_TOKENS", 12);
const stop = process.env.COMPAT_STOP || undefined;
const timeoutMs = positiveInt("COMPAT_TIMEOUT_MS", 60000);
const imageOut = process.env.COMPAT_IMAGE_OUT || undefined;

// The client resends a request at once on every 503, with no limit: bound the whole run.
setTimeout(() => fail(1, `timed out after ${timeoutMs} ms (is every endpoint running?)`), timeoutMs).unref();

// describe turns a client error into one line: the call, the message, and the HTTP exchange when
// there was one (the client redacts the Authorization header; only url, status and body are kept).
function describe(step, err) {
  let line = `${step} failed: ${err?.name ?? "Error"}: ${err?.message ?? String(err)}`;
  if (err?.httpRequest) line += ` [${err.httpRequest.method} ${err.httpRequest.url}]`;
  if (err?.httpResponse) line += ` -> HTTP ${err.httpResponse.status} ${JSON.stringify(err.httpResponse.body)}`;
  return line;
}

async function step(name, fn) {
  try {
    return await fn();
  } catch (err) {
    fail(1, describe(name, err));
  }
}

// streamedText joins the text of a textGenerationStream's events. The client types them as TGI
// token events ({token: {text}}), but for an endpoint URL it calls /v1/completions, whose events
// are OpenAI completion chunks ({choices: [{text}]}); both shapes are accepted and counted.
function streamedText(events) {
  let text = "";
  const shapes = new Set();
  for (const ev of events) {
    if (typeof ev?.token?.text === "string") {
      shapes.add("tgi-token");
      if (!ev.token.special) text += ev.token.text;
    } else if (typeof ev?.choices?.[0]?.text === "string") {
      shapes.add("openai-completion-chunk");
      text += ev.choices[0].text;
    } else {
      throw new Error(`unexpected stream event ${JSON.stringify(ev).slice(0, 200)}`);
    }
  }
  return { text, shapes: [...shapes].sort() };
}

async function collect(iterable) {
  const out = [];
  for await (const x of iterable) out.push(x);
  return out;
}

function shape(value) {
  const dims = [];
  for (let v = value; Array.isArray(v); v = v[0]) dims.push(v.length);
  return dims;
}

const hf = new InferenceClient(token);
const textClient = hf.endpoint(urls.textGeneration);
const messages = [{ role: "user", content: prompt }];
const result = { client: { name: "@huggingface/inference", version: clientVersion, node: process.version } };

{
  const parameters = { max_new_tokens: maxNewTokens, temperature: 0, ...(stop ? { stop: [stop] } : {}) };
  const out = await step("textGeneration", () => textClient.textGeneration({ inputs: prompt, parameters }));
  result.textGeneration = { inputs: prompt, parameters, generated_text: out.generated_text };
}
{
  const parameters = { max_new_tokens: maxNewTokens, temperature: 0 };
  const events = await step("textGenerationStream", () =>
    collect(textClient.textGenerationStream({ inputs: prompt, parameters })),
  );
  const joined = await step("textGenerationStream", () => streamedText(events));
  result.textGenerationStream = { inputs: prompt, parameters, events: events.length, text: joined.text, event_shapes: joined.shapes };
}
{
  const out = await step("chatCompletion", () =>
    textClient.chatCompletion({ messages, max_tokens: maxNewTokens, temperature: 0 }),
  );
  const choice = out.choices?.[0];
  result.chatCompletion = {
    content: choice?.message?.content,
    role: choice?.message?.role,
    finish_reason: choice?.finish_reason,
    usage: out.usage,
    object: out.object,
  };
}
{
  const chunks = await step("chatCompletionStream", () =>
    collect(textClient.chatCompletionStream({ messages, max_tokens: maxNewTokens, temperature: 0 })),
  );
  const content = chunks.map((c) => c.choices?.[0]?.delta?.content ?? "").join("");
  const finish = chunks.map((c) => c.choices?.[0]?.finish_reason).filter(Boolean);
  result.chatCompletionStream = { chunks: chunks.length, content, finish_reason: finish[finish.length - 1] ?? null };
}
{
  const out = await step("featureExtraction", () =>
    hf.endpoint(urls.featureExtraction).featureExtraction({ inputs: prompt }),
  );
  const dims = shape(out);
  result.featureExtraction = { inputs: prompt, shape: dims, dims: dims[dims.length - 1] ?? 0 };
}
{
  const blob = await step("textToImage", () => hf.endpoint(urls.textToImage).textToImage({ inputs: prompt }));
  if (!(blob instanceof Blob)) fail(1, `textToImage returned ${typeof blob}, expected a Blob`);
  const bytes = new Uint8Array(await blob.arrayBuffer());
  if (imageOut) await step("writing the image", () => writeFile(imageOut, bytes));
  result.textToImage = {
    type: blob.type,
    bytes: bytes.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    ...(imageOut ? { file: imageOut } : {}),
  };
}

process.stdout.write(JSON.stringify(result) + "\n");
