package emulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is an Emulator listening on a TCP address.
type Server struct {
	*Emulator
	// URL is the base URL, e.g. http://127.0.0.1:8765.
	URL string

	srv      *http.Server
	served   chan error
	closeErr error
	once     sync.Once
}

// Start builds an Emulator from opts and serves it on addr ("127.0.0.1:0" picks a free port).
func Start(addr string, opts Options) (*Server, error) {
	em, err := New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		em.Close()
		return nil, fmt.Errorf("emulator: listen on %s: %w", addr, err)
	}
	s := &Server{
		Emulator: em,
		URL:      "http://" + ln.Addr().String(),
		srv:      &http.Server{Handler: em, ReadHeaderTimeout: 10 * time.Second},
		served:   make(chan error, 1),
	}
	go func() { s.served <- s.srv.Serve(ln) }()
	return s, nil
}

// APIBase is the management API base (URL + "/v2").
func (s *Server) APIBase() string { return s.URL + "/v2" }

// HubBase is the Hub base for whoami (URL).
func (s *Server) HubBase() string { return s.URL }

// CatalogBase is the catalog API base (URL + "/api/catalog").
func (s *Server) CatalogBase() string { return s.URL + "/api/catalog" }

// Token is the first token of the default user.
func (s *Server) Token() string { return s.opts.Tokens[0] }

// Close stops the emulator (which releases held and delayed requests), closes the listener, waits
// briefly for requests in flight, closes every connection and waits for the server goroutine to exit.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.Emulator.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := s.srv.Shutdown(ctx)
		cancel()
		if err != nil {
			err = s.srv.Close()
		}
		if serr := <-s.served; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		s.closeErr = err
	})
	return s.closeErr
}
