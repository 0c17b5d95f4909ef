// Package compat checks that official Hugging Face clients work unchanged against the emulator.
// Its tests need the build tag "compat" and the JS client installed (npm ci --prefix compat/js).
package compat
