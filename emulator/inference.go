package emulator

import "net/http"

type inferenceRoute struct {
	method, route string
	serve         func(e *Emulator, w http.ResponseWriter, r *http.Request, t *target)
}

type target struct{}

var inferenceRoutes []inferenceRoute

func (e *Emulator) inference(route string, serve func(e *Emulator, w http.ResponseWriter, r *http.Request, t *target)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {}
}
