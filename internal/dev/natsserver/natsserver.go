// Package natsserver runs the real nats-server with JetStream inside this
// process, for `flowline dev`, `flowline nats`, the benchmark harness and
// tests. It is development tooling: no production service links it (a test
// in cmd/flowline checks that).
package natsserver

import (
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is a NATS server with JetStream running inside this process. The
// caller owns it and stops it with Shutdown.
type Server struct{ *server.Server }

// Option adjusts the server's options before it starts.
type Option func(*server.Options)

// WithMaxPayload sets the server's max_payload (8 MiB by default here;
// nats-server's own default is 1 MiB), the largest message a client may
// publish.
func WithMaxPayload(bytes int32) Option {
	return func(o *server.Options) { o.MaxPayload = bytes }
}

// Start starts a JetStream-enabled server storing under dir, on host:port
// (port 0 picks a free one).
//
// Durability: the server keeps nats-server's default sync_interval (its
// file store flushes to disk every 2 minutes) and every stream has one
// replica, so an acknowledged message (ingest's 202) may be only in the
// operating system's page cache for up to 2 minutes: a power loss or kernel
// crash can lose it. That suits `flowline dev`, the benchmark and tests;
// the compose file's server syncs every write (sync_interval: always), and
// docs/operations.md lists what each setting guarantees.
func Start(dir, host string, port int, opts ...Option) (*Server, error) {
	if port == 0 {
		port = -1 // nats-server: random port
	}
	o := &server.Options{
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		MaxPayload: 8 << 20,
		NoSigs:     true,
	}
	for _, opt := range opts {
		opt(o)
	}
	s, err := server.NewServer(o)
	if err != nil {
		return nil, fmt.Errorf("natsserver: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("natsserver: nats-server did not start within 30s")
	}
	return &Server{s}, nil
}

// URL is the client URL of the server.
func (s *Server) URL() string { return s.ClientURL() }

// Shutdown stops the server and waits for it.
func (s *Server) Shutdown() {
	s.Server.Shutdown()
	s.Server.WaitForShutdown()
}
