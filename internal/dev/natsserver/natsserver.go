// Package natsserver runs the real nats-server with JetStream inside this
// process, for `flowline dev`, `flowline nats`, the benchmark harness and
// tests. It is development tooling: no production service links it (a test
// in cmd/flowline checks that).
package natsserver

import (
	"fmt"
	"strings"
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

// WithCluster makes the server a node of a JetStream cluster: its own
// name, the cluster's name, the port other nodes route to on host, and the
// routes to the cluster's nodes (nats-route://host:port; its own is
// ignored). A JetStream cluster node needs its routes configured, so the
// ports are chosen before the nodes start; replicated streams need at
// least three nodes, each with its own store directory.
func WithCluster(serverName, clusterName string, clusterPort int, routes []string) Option {
	return func(o *server.Options) {
		o.ServerName = serverName
		o.Cluster.Name = clusterName
		o.Cluster.Host = o.Host
		o.Cluster.Port = clusterPort
		if clusterPort == 0 {
			o.Cluster.Port = -1
		}
		if len(routes) > 0 {
			o.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		}
	}
}

// RouteURLs are the route URLs (nats-route://host:port) of cluster nodes
// listening for routes on host at ports, for WithCluster and `flowline
// nats --routes`.
func RouteURLs(host string, ports []int) []string {
	out := make([]string, len(ports))
	for i, p := range ports {
		out[i] = fmt.Sprintf("nats-route://%s:%d", host, p)
	}
	return out
}

// ClusterURL is the route URL other nodes of the cluster dial.
func (s *Server) ClusterURL() string {
	addr := s.ClusterAddr()
	if addr == nil {
		return ""
	}
	return "nats-route://" + addr.String()
}

// Start starts a JetStream-enabled server storing under dir, on host:port
// (port 0 picks a free one), and returns once it accepts clients; a
// cluster node (WithCluster) once it listens for routes (see WaitReady).
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
	if o.Cluster.Name != "" {
		// A cluster node serves clients once JetStream has its cluster
		// (its peers started too): wait here only until it listens for
		// routes; the caller starts the others, then WaitReady.
		deadline := time.Now().Add(60 * time.Second)
		for s.ClusterAddr() == nil {
			if time.Now().After(deadline) {
				s.Shutdown()
				return nil, fmt.Errorf("natsserver: cluster node %s did not listen for routes within 60s", o.ServerName)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return &Server{s}, nil
	}
	if !s.ReadyForConnections(60 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("natsserver: nats-server did not start within 60s")
	}
	return &Server{s}, nil
}

// WaitReady waits until the server accepts clients (a cluster node: once
// its JetStream has formed the cluster with its peers).
func (s *Server) WaitReady(d time.Duration) error {
	if !s.ReadyForConnections(d) {
		return fmt.Errorf("natsserver: %s not ready for clients within %s", s.Name(), d)
	}
	return nil
}

// URL is the client URL of the server.
func (s *Server) URL() string { return s.ClientURL() }

// Shutdown stops the server and waits for it.
func (s *Server) Shutdown() {
	s.Server.Shutdown()
	s.Server.WaitForShutdown()
}
