// Package ingest is the ingest service: it accepts Zeebe partition records
// over HTTP (NDJSON in Zeebe's JSON record format, or a protobuf
// RecordBatch) and stores them on the partition's JetStream subject
// flowline.records.<partitionId>, each partition in position order and
// without duplicates.
//
// One JetStream message carries a batch of one partition's records (up to
// BatchRecords records or BatchBytes bytes): the broker's cost is per
// message (about 100k messages/s with message ids on 2 cores), so batching a
// request's records lets ingest store far more records per second than one
// message per record would, and costs nothing in ordering because a batch
// holds one partition's consecutive records.
package ingest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/flowline/flowline/pkg/bufpool"
	"github.com/flowline/flowline/pkg/lifecycle"
	"github.com/flowline/flowline/pkg/recordlog"
	"github.com/flowline/flowline/pkg/stream"
)

// Deps are what the ingest service gets from its process.
type Deps = lifecycle.Deps

// Service is the ingest service. Create it with New and run it with Run;
// its HTTP handlers run concurrently, one partition's appends serialized.
type Service struct {
	cfg     Config
	log     *slog.Logger
	tracer  trace.Tracer
	metrics *metrics
	ready   *lifecycle.Readiness
	bufs    bufpool.Pool // request bodies, NDJSON arenas, message bodies
	budget  *budget      // bounds the bytes the requests in flight hold
	// token is the bearer token requests need ("" for none): New sets
	// FLOWLINE_INGEST_TOKEN, Run the content of _TOKEN_FILE; nil until
	// known, and then every request is refused.
	token atomic.Pointer[string]

	records atomic.Pointer[recordlog.Log] // set once connected
	state   *stream.StateCollector        // the streams' state as metrics, bound once connected
	addr    atomic.Value                  // string: the address the API listens on
}

// New returns an ingest service; it does no I/O.
func New(cfg Config, deps Deps) *Service {
	s := &Service{
		cfg:     cfg,
		log:     deps.Log.With("service", "ingest"),
		tracer:  deps.Tracer.Tracer("flowline/ingest"),
		metrics: newMetrics(deps.Registry),
		ready:   lifecycle.NewReadiness("connected to NATS", "listening"),
	}
	s.budget = &budget{limit: cfg.inflightLimit(), gauge: s.metrics.inflight}
	// Ingest reports the streams' state (flowline_stream_*,
	// flowline_consumer_*, flowline_dead_letters): it is the one service
	// every deployment runs; a second replica reports the same series
	// under its own instance.
	s.state = stream.NewStateCollector(5 * time.Second)
	if err := deps.Registry.Register(s.state); err != nil {
		s.log.Warn("stream state metrics not registered", "error", err)
	}
	if cfg.TokenFile == "" {
		s.token.Store(&cfg.Token)
	}
	return s
}

// Name implements lifecycle.Service.
func (s *Service) Name() string { return "ingest" }

// Ready implements lifecycle.Service: ready once connected to JetStream with
// the streams in place and the API listening.
func (s *Service) Ready() error { return s.ready.Err() }

// Addr is the address the push API listens on, once Run listens.
func (s *Service) Addr() string {
	a, _ := s.addr.Load().(string)
	return a
}

// readHeaderTimeout bounds the time to send a request's headers.
const readHeaderTimeout = 10 * time.Second

// loopbackOnly reports whether addr is reachable from this machine only.
func loopbackOnly(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// Run serves the push API until ctx is cancelled, then stops accepting
// requests, lets in-flight requests finish (their records are stored and
// answered) and closes the connection.
func (s *Service) Run(ctx context.Context) error {
	token, err := s.cfg.IngestToken.Resolve()
	if err != nil {
		return fmt.Errorf("ingest: bearer token: %w", err)
	}
	s.token.Store(&token)
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("ingest: listen on %s: %w", s.cfg.Addr, err)
	}
	s.addr.Store(ln.Addr().String())
	if token == "" && !loopbackOnly(ln.Addr()) {
		s.log.Warn("the push API accepts records from anyone who reaches it: no bearer token is configured (FLOWLINE_INGEST_TOKEN or FLOWLINE_INGEST_TOKEN_FILE) and it listens beyond loopback",
			"addr", ln.Addr().String())
	}
	s.ready.Met("listening")
	read, write := s.cfg.timeouts()
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: min(readHeaderTimeout, read),
		ReadTimeout:       read,
		WriteTimeout:      write,
		IdleTimeout:       s.cfg.idleTimeout(),
	}
	served := make(chan error, 1)
	go func() {
		if s.cfg.TLSCert != "" {
			srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			served <- srv.ServeTLS(ln, s.cfg.TLSCert, s.cfg.TLSKey)
			return
		}
		served <- srv.Serve(ln)
	}()
	s.log.Info("push API listening", "addr", ln.Addr().String())

	conn, err := stream.Open(ctx, s.cfg.NATS, s.cfg.Streams, "flowline-ingest", s.log, s.ready.Reporter("connected to NATS"))
	if err == nil {
		s.records.Store(recordlog.New(conn.JS, s.cfg.RecordStore, conn.Payloads, &s.bufs, s.metrics.publish))
		s.state.Bind(conn.JS)
		s.ready.Met("connected to NATS")
	}
	if err != nil && ctx.Err() == nil {
		_ = srv.Close()
		return fmt.Errorf("ingest: %w", err)
	}

	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("ingest: serve: %w", err)
	}
	s.ready.Unmet("listening", "shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if conn != nil {
		conn.Close()
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("ingest: shutdown: %w", err)
	}
	return nil
}
