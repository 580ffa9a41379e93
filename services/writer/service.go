// Package writer is the writer service: it consumes entity documents from
// flowline.docs.> and bulk-indexes them into Elasticsearch, each family into
// its runtime index, as full documents with external versions (the record
// position), so re-deliveries and reordering never regress a document.
//
// Replicas share one durable consumer. In each replica one fetcher fetches
// document messages by count and bytes, keeps the newest version of each
// document of a fetch and cuts the documents into bulks by count and bytes,
// for Workers senders: Elasticsearch always has Workers bulk requests to
// work on while the next ones are prepared. The bytes of fetched messages
// not yet acked are bounded (MaxInFlightBytes); beyond that the backlog
// stays in JetStream. A document message is acked only once all of its
// documents are written, already applied (409), or dead-lettered (rejected
// by Elasticsearch, with its index and reason). 429 and 5xx are retried with
// jittered backoff for as long as it takes.
package writer

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowline/flowline/pkg/backoff"
	"github.com/flowline/flowline/pkg/lifecycle"
	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
)

// Deps are what the writer gets from its process.
type Deps = lifecycle.Deps

// Service is the writer: one fetcher and Workers senders sharing the
// consumer, the client, the in-flight budget and the metrics.
type Service struct {
	cfg     Config
	log     *slog.Logger
	tracer  trace.Tracer
	traces  trace.TracerProvider // the Elasticsearch client's spans
	metrics *metrics
	ready   *lifecycle.Readiness
	// refusals are Elasticsearch's refusals for conditions of the cluster,
	// reported by the client and every sender's executor; they keep
	// conditions of ready unmet while they last.
	refusals *search.Refusals

	es       *search.Client
	js       jetstream.JetStream
	cons     jetstream.Consumer
	payloads *stream.Payloads // document bodies inline or in objects

	families   *families
	fetchBytes int     // byte budget of one fetch
	budget     *budget // in-flight bytes of fetched messages
}

// New returns a writer; it does no I/O.
func New(cfg Config, deps Deps) *Service {
	log := deps.Log.With("service", "writer")
	ready := lifecycle.NewReadiness("connected to NATS", "index templates installed", "caught up")
	return &Service{
		cfg:      cfg,
		log:      log,
		tracer:   deps.Tracer.Tracer("flowline/writer"),
		traces:   deps.Tracer,
		metrics:  newMetrics(deps.Registry),
		ready:    ready,
		refusals: search.NewRefusals(log, "FLOWLINE_ES_", cfg.ES, ready),
		families: newFamilies(cfg.Schema, cfg.Index.Prefix),
	}
}

// Name implements lifecycle.Service.
func (s *Service) Name() string { return "writer" }

// Ready implements lifecycle.Service: ready once connected to NATS and
// Elasticsearch, with templates installed and the backlog drained once, and
// not while Elasticsearch refuses the credentials or writes for a condition
// of the cluster.
func (s *Service) Ready() error { return s.ready.Err() }

// Run writes documents until ctx is cancelled; the messages of bulks not
// yet written then are nak'ed for redelivery.
func (s *Service) Run(ctx context.Context) error {
	es, err := search.NewClient(s.cfg.Search, search.ReportTo(s.refusals), search.TraceWith(s.traces))
	if err != nil {
		return fmt.Errorf("writer: %w", err)
	}
	s.es = es
	conn, err := stream.Open(ctx, s.cfg.NATS, s.cfg.Streams, "flowline-writer", s.log, s.ready.Reporter("connected to NATS"))
	if err != nil {
		return fmt.Errorf("writer: %w", err)
	}
	defer conn.Close()
	s.js = conn.JS
	s.payloads = conn.Payloads
	// Past Open, a JetStream error (a leader election) is waited out too.
	err = backoff.Retry(ctx, s.log, backoff.New(100*time.Millisecond, 10*time.Second), "setting up the writers' consumer", func(ctx context.Context) error {
		if s.fetchBytes, err = fetchBytes(ctx, s.js, conn.NC, s.cfg.FetchMaxBytes.Int()); err != nil {
			return err
		}
		s.cons, err = s.js.CreateOrUpdateConsumer(ctx, stream.DocsStream, jetstream.ConsumerConfig{
			Durable:       s.cfg.Consumer,
			Description:   "writers: bulk-index documents into Elasticsearch",
			FilterSubject: stream.AllDocs,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       s.cfg.AckWait.D(),
			MaxAckPending: max(4*s.cfg.Workers*s.cfg.FetchMessages, 1000),
			MaxDeliver:    -1,
		})
		if err != nil {
			return fmt.Errorf("consumer %s: %w", s.cfg.Consumer, err)
		}
		return nil
	})
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("writer: %w", err)
	}
	s.ready.Met("connected to NATS")

	// Elasticsearch may still be starting: wait for it at WARN, not ERROR.
	if err := search.InstallSchema(ctx, s.es, s.cfg.Schema, s.cfg.Index, s.log); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("writer: %w", err)
	}
	s.ready.Met("index templates installed")
	s.log.Info("index templates installed", "prefix", s.cfg.Index.Prefix)

	// One fetcher keeps Workers senders busy, so that Elasticsearch always
	// has Workers bulk requests to work on while the next are prepared.
	s.budget = newBudget(max(s.cfg.MaxInFlightBytes.Int(), 2*s.fetchBytes))
	bulks := make(chan bulk, s.cfg.Workers)
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Go(func() { s.send(ctx, bulks) })
	}
	s.fetch(ctx, bulks)
	wg.Wait()
	return nil
}

// fetchBytes is the byte budget of one fetch: configured, but never below
// the largest message the document stream can hold plus its headers, for a
// message larger than the budget would never be delivered.
func fetchBytes(ctx context.Context, js jetstream.JetStream, nc *nats.Conn, configured int) (int, error) {
	st, err := js.Stream(ctx, stream.DocsStream)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", stream.DocsStream, err)
	}
	largest := int(st.CachedInfo().Config.MaxMsgSize)
	if largest <= 0 {
		largest = int(nc.MaxPayload())
	}
	return max(configured, largest+64<<10), nil
}
