package stream

import (
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Embedded is a NATS server with JetStream running inside this process (the
// real nats-server, for `flowline dev` and tests). The caller owns it and
// stops it with Shutdown.
type Embedded struct{ *server.Server }

// StartEmbedded starts a JetStream-enabled server storing under dir, on
// host:port (port 0 picks a free one).
func StartEmbedded(dir, host string, port int) (*Embedded, error) {
	if port == 0 {
		port = -1 // nats-server: random port
	}
	s, err := server.NewServer(&server.Options{
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		MaxPayload: 8 << 20,
		NoSigs:     true,
	})
	if err != nil {
		return nil, fmt.Errorf("stream: embedded nats-server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("stream: embedded nats-server did not start within 30s")
	}
	return &Embedded{s}, nil
}

// URL is the client URL of the server.
func (e *Embedded) URL() string { return e.ClientURL() }

// Shutdown stops the server and waits for it.
func (e *Embedded) Shutdown() {
	e.Server.Shutdown()
	e.Server.WaitForShutdown()
}
