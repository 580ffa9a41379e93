// Package stack assembles Flowline's services in one test process, on an
// embedded NATS JetStream server and the shared Elasticsearch of testenv,
// with an index prefix of their own. It is the one place the multi-service
// tests (test/e2e) get their services and the services' test settings from:
// short checkpoint and lease intervals, small batches, one shard.
//
// A Stack belongs to one test; its services stop at the test's cleanup.
package stack

import (
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/lifecycle"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/services/aggregator"
	"github.com/flowline/flowline/services/archiver"
	"github.com/flowline/flowline/services/c7fold"
	"github.com/flowline/flowline/services/c7import"
	"github.com/flowline/flowline/services/ingest"
	"github.com/flowline/flowline/services/writer"
)

// Options choose the services of a stack; the zero value runs ingest, the
// aggregator and the writer.
type Options struct {
	// WithoutAggregator leaves the aggregator out; Stack.NewAggregator
	// builds one when the test wants it.
	WithoutAggregator bool
	// ArchiveAfter runs an archiver with this wait period; zero runs none.
	ArchiveAfter time.Duration
	// Ingest adjusts ingest's settings (IngestConfig) before it starts.
	Ingest func(*ingest.Config)
	// NATS adjusts the stack's NATS server (e.g. natsserver.WithMaxPayload).
	NATS []natsserver.Option
	// C7 runs a Camunda 7 import of that engine and the c7 fold.
	C7 *C7
	// WithoutIngest leaves ingest out: the test runs `flowline ingest` as
	// a child process configured by IngestEnv (to kill and restart it).
	WithoutIngest bool
	// Engine is the search engine the writer and archiver use (the
	// tests' shared node of it); empty: Elasticsearch.
	Engine config.Engine
	// Schema is the schema the aggregator, writer and archiver write
	// (FLOWLINE_SCHEMA); empty: Flowline's.
	Schema config.Schema
}

// C7 is the Camunda 7 engine a stack imports.
type C7 struct {
	URL      string // the engine's REST base
	Source   string // FLOWLINE_C7_SOURCE
	PageSize int    // 0: 3, so that pages are cut often
	// WithoutImport runs the c7 fold only: the test runs the import
	// itself, e.g. `flowline c7-import` as a child process configured by
	// C7ImportEnv.
	WithoutImport bool
}

// Stack is a running set of services and what a test needs to reach them.
type Stack struct {
	// Env is the broker, the Elasticsearch and the index prefix the
	// services share.
	*testenv.Env
	// Spans records every span the services end.
	Spans *tracetest.SpanRecorder

	ingest *ingest.Service
	schema config.Schema
	tracer *sdktrace.TracerProvider
	t      testing.TB   // the test the stack belongs to
	client *stream.Conn // the test's client of NATS (conn), nil until used
}

// Start starts the services of opts (downstream first) and waits until
// they are ready.
func Start(t testing.TB, opts Options) *Stack {
	t.Helper()
	engine := opts.Engine
	if engine == "" {
		engine = config.EngineElasticsearch
	}
	env := testenv.NewEnvOn(t, engine, opts.NATS...)
	ns, esCfg, prefix := env.NATS, env.ESConfig, env.Prefix
	spans := tracetest.NewSpanRecorder()
	s := &Stack{Env: env, Spans: spans, schema: opts.Schema,
		tracer: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)), t: t}

	wCfg := WriterConfig(ns, esCfg, prefix)
	wCfg.Schema = opts.Schema
	services := []lifecycle.Service{
		writer.New(wCfg, s.deps()),
	}
	if opts.ArchiveAfter > 0 {
		arCfg := ArchiverConfig(t, ns, esCfg, prefix)
		arCfg.WaitPeriod, arCfg.Schema = config.Duration(opts.ArchiveAfter), opts.Schema
		services = append(services, archiver.New(arCfg, s.deps()))
	}
	if !opts.WithoutAggregator {
		services = append(services, s.NewAggregator())
	}
	if opts.C7 != nil {
		services = append(services, c7fold.New(C7FoldConfig(ns), s.deps()))
		if !opts.C7.WithoutImport {
			services = append(services, c7import.New(C7ImportConfig(t, ns, *opts.C7), s.deps()))
		}
	}
	if !opts.WithoutIngest {
		inCfg := IngestConfig(ns)
		if opts.Ingest != nil {
			opts.Ingest(&inCfg)
		}
		s.ingest = ingest.New(inCfg, s.deps())
		services = append(services, s.ingest)
	}
	testenv.Run(t, services...)
	return s
}

// deps are a service's collaborators in this stack: the test log, the
// stack's tracer (spans recorded in Spans), a registry of its own.
func (s *Stack) deps() lifecycle.Deps {
	return lifecycle.Deps{Log: testenv.Logger(s.t), Tracer: s.tracer, Registry: prometheus.NewRegistry()}
}

// IngestAddr is the host:port of the stack's ingest.
func (s *Stack) IngestAddr() string { return s.ingest.Addr() }

// IngestURL is the stack's POST /v1/records endpoint.
func (s *Stack) IngestURL() string { return "http://" + s.ingest.Addr() + "/v1/records" }

// NewAggregator builds (does not start) an aggregator on the stack's
// broker, sharing its tracer; tests start further ones to restart or scale.
func (s *Stack) NewAggregator() *aggregator.Service {
	cfg := AggregatorConfig(s.NATS)
	cfg.Schema = s.schema
	return aggregator.New(cfg, s.deps())
}

// Index is the index settings of test prefix: one shard, no replica.
func Index(prefix string) config.Index {
	return config.Index{Prefix: prefix, Shards: 1, Replicas: 0, RefreshInterval: "1s"}
}

// IngestConfig is ingest's test setting on ns: small record messages (7
// records), so a few records already span several messages.
func IngestConfig(ns *natsserver.Server) ingest.Config {
	return ingest.Config{
		Addr: "127.0.0.1:0", MaxBodyBytes: 1 << 20, MaxRecords: 10_000,
		RecordStore: config.RecordStore{EventsOnly: true, BatchRecords: 7, BatchBytes: 64 << 10},
		NATS:        testenv.NATSConfig(ns), Streams: testenv.Streams(),
	}
}

// AggregatorConfig is the aggregator's test setting on ns: frequent
// checkpoints and a short lease.
func AggregatorConfig(ns *natsserver.Server) aggregator.Config {
	return aggregator.Config{
		ConsumerPrefix: "aggregator", AggregatorState: config.AggregatorState{StateBucket: "flowline-aggregator"},
		DefinitionsBucket: "flowline-definitions", DefinitionCache: 100,
		Lease:              config.Lease{Bucket: "flowline-aggregator-leases", TTL: config.Duration(2 * time.Second)},
		CheckpointInterval: config.Duration(200 * time.Millisecond), CheckpointMessages: 100, FetchBatch: 16, AckWait: config.Duration(30 * time.Second),
		PublishTimeout: config.Duration(10 * time.Second), MaxDocumentBytes: 32 << 20,
		NATS: testenv.NATSConfig(ns), Streams: testenv.Streams(),
	}
}

// C7FoldConfig is the c7 fold's test setting on ns: small batches, a
// short lease.
func C7FoldConfig(ns *natsserver.Server) c7fold.Config {
	return c7fold.Config{
		StateBucket: "flowline-c7-state", CacheInstances: 1000, FetchBatch: 4, AckWait: config.Duration(30 * time.Second), PublishTimeout: config.Duration(10 * time.Second),
		Lease: config.Lease{Bucket: "flowline-c7-fold-leases", TTL: config.Duration(2 * time.Second)},
		NATS:  testenv.NATSConfig(ns), Streams: testenv.Streams(),
	}
}

// C7ImportConfig is the c7 import's defaults for engine c on ns, with
// quick pacing, no settle time and a short lease.
func C7ImportConfig(t testing.TB, ns *natsserver.Server, c C7) c7import.Config {
	t.Helper()
	cfg := c7import.NewConfig()
	if err := config.Process(&cfg); err != nil { // the defaults
		t.Fatal(err)
	}
	cfg.NATS, cfg.Streams = testenv.NATSConfig(ns), testenv.Streams()
	cfg.Engine.URL, cfg.Engine.Source, cfg.Engine.PageSize, cfg.Engine.Settle = c.URL, c.Source, c.PageSize, 0
	if cfg.Engine.PageSize == 0 {
		cfg.Engine.PageSize = 3
	}
	cfg.Engine.BackoffInterval, cfg.Engine.BackoffMax, cfg.Lease.TTL = config.Duration(50*time.Millisecond), config.Duration(300*time.Millisecond), config.Duration(2*time.Second)
	return cfg
}

// C7ImportEnv is the environment (FLOWLINE_* variables, to append to
// os.Environ()) of a `flowline c7-import` child process that imports
// engine c into ns with exactly C7ImportConfig's settings, its admin
// server on a free port, logging at info (where it names that port:
// testenv.Child.AdminAddr).
func C7ImportEnv(t testing.TB, ns *natsserver.Server, c C7) []string {
	t.Helper()
	cfg := C7ImportConfig(t, ns, c)
	e, l, n, st := cfg.Engine, cfg.Lease, cfg.NATS, cfg.Streams
	vars := [][2]string{
		{"LOG_LEVEL", "info"}, {"ADMIN_ADDR", "127.0.0.1:0"},
		{"C7_URL", e.URL}, {"C7_ENGINE", e.Name}, {"C7_USERNAME", e.Username}, {"C7_PASSWORD", e.Password},
		{"C7_SOURCE", e.Source}, {"C7_PAGE_SIZE", strconv.Itoa(e.PageSize)},
		{"C7_BACKOFF_INTERVAL", e.BackoffInterval.String()}, {"C7_BACKOFF_MAX", e.BackoffMax.String()},
		{"C7_QUEUE_SIZE", strconv.Itoa(e.QueueSize)}, {"C7_CONCURRENCY", strconv.Itoa(e.Concurrency)},
		{"C7_SETTLE", e.Settle.String()}, {"C7_REQUEST_TIMEOUT", e.RequestTimeout.String()},
		{"C7_PUBLISH_TIMEOUT", e.PublishTimeout.String()}, {"C7_INDEX_BUCKET", e.IndexBucket},
		{"C7_LEASE_BUCKET", l.Bucket}, {"C7_LEASE_TTL", l.TTL.String()}, {"C7_REPLICA_ID", l.ReplicaID},
		{"NATS_URL", n.URL}, {"NATS_CONNECT_TIMEOUT", n.ConnectTimeout.String()},
		{"STREAM_REPLICAS", strconv.Itoa(st.Replicas)}, {"STREAM_RECORDS_MAX_AGE", st.RecordsMaxAge.String()},
		{"STREAM_DLQ_MAX_AGE", st.DLQMaxAge.String()}, {"STREAM_MANAGE", strconv.FormatBool(st.Manage)},
		{"STREAM_COMPRESSION", st.Compression},
	}
	return environ(vars)
}

// environ turns name/value pairs (names without the FLOWLINE_ prefix) into
// FLOWLINE_* environment entries.
func environ(vars [][2]string) []string {
	env := make([]string, 0, len(vars))
	for _, v := range vars {
		env = append(env, config.Prefix+"_"+v[0]+"="+v[1])
	}
	return env
}

// IngestEnv is the environment (FLOWLINE_* variables, to append to
// os.Environ()) of a `flowline ingest` child process on ns with exactly
// IngestConfig's settings, serving the push API at addr (host:port; a
// fixed one, so that a restarted ingest is found where it was), its admin
// server on a free port, logging at info.
func IngestEnv(ns *natsserver.Server, addr string) []string {
	cfg := IngestConfig(ns)
	r, n, st := cfg.RecordStore, cfg.NATS, cfg.Streams
	return environ([][2]string{
		{"LOG_LEVEL", "info"}, {"ADMIN_ADDR", "127.0.0.1:0"}, {"INGEST_ADDR", addr},
		{"INGEST_MAX_BODY_BYTES", strconv.FormatInt(int64(cfg.MaxBodyBytes), 10)}, {"INGEST_MAX_RECORDS", strconv.Itoa(cfg.MaxRecords)},
		{"INGEST_EVENTS_ONLY", strconv.FormatBool(r.EventsOnly)}, {"INGEST_BATCH_RECORDS", strconv.Itoa(r.BatchRecords)},
		{"INGEST_BATCH_BYTES", strconv.Itoa(r.BatchBytes.Int())},
		{"NATS_URL", n.URL}, {"NATS_CONNECT_TIMEOUT", n.ConnectTimeout.String()},
		{"STREAM_REPLICAS", strconv.Itoa(st.Replicas)}, {"STREAM_RECORDS_MAX_AGE", st.RecordsMaxAge.String()},
		{"STREAM_DLQ_MAX_AGE", st.DLQMaxAge.String()}, {"STREAM_MANAGE", strconv.FormatBool(st.Manage)},
		{"STREAM_COMPRESSION", st.Compression},
	})
}

// WriterConfig is the writer's test setting on ns, writing indices of
// prefix: quick flushes.
func WriterConfig(ns *natsserver.Server, es config.Search, prefix string) writer.Config {
	return writer.Config{
		Consumer: "writer", Workers: 2, FetchMessages: 64, BulkMaxDocs: 1000, BulkMaxBytes: 1 << 20,
		FlushInterval: config.Duration(100 * time.Millisecond), AckWait: config.Duration(30 * time.Second),
		NATS: testenv.NATSConfig(ns), Streams: testenv.Streams(), Search: es, Index: Index(prefix),
	}
}

// ArchiverConfig is the archiver's defaults with quick pacing and a short
// lease, on ns, moving indices of prefix.
func ArchiverConfig(t testing.TB, ns *natsserver.Server, es config.Search, prefix string) archiver.Config {
	t.Helper()
	cfg := archiver.NewConfig()
	if err := config.Process(&cfg); err != nil { // the defaults
		t.Fatal(err)
	}
	cfg.NATS, cfg.Streams, cfg.Search, cfg.Index = testenv.NATSConfig(ns), testenv.Streams(), es, Index(prefix)
	cfg.Delay, cfg.MaxDelay, cfg.Lease.TTL = config.Duration(100*time.Millisecond), config.Duration(500*time.Millisecond), config.Duration(2*time.Second)
	return cfg
}
