// Package hfapi is the one client for Hugging Face Inference Endpoints: management API, Hub whoami,
// inference over endpoint URLs, waiting, token discovery, typed errors and retries.
package hfapi
