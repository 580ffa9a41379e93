package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"time"

	"github.com/flowline/flowline/internal/dev/esnode"
	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/lifecycle"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/schema/operate"
	"github.com/flowline/flowline/services/aggregator"
	"github.com/flowline/flowline/services/archiver"
	"github.com/flowline/flowline/services/c7fold"
	"github.com/flowline/flowline/services/c7import"
	"github.com/flowline/flowline/services/ingest"
	"github.com/flowline/flowline/services/writer"
	"github.com/flowline/flowline/services/zeebeimport"
)

// devConfig is what `flowline dev` reads besides the services' own configs
// and the local node's (esnode.Config). Its FLOWLINE_ES_URL stands before
// the writer's in --help: unset, dev provisions a local node.
type devConfig struct {
	DataDir  string `envconfig:"DATA_DIR" default:"./.flowline" desc:"where the embedded NATS server keeps its data"`
	NATSPort int    `envconfig:"DEV_NATS_PORT" default:"4222" desc:"port of the embedded NATS server (0: any free port)"`
	ESURL    string `envconfig:"ES_URL" desc:"Elasticsearch or OpenSearch URL(s), comma separated (unset: a local node of FLOWLINE_ES_VERSION or FLOWLINE_OPENSEARCH_VERSION is provisioned)"`
}

func (c devConfig) Validate() error {
	if c.DataDir == "" {
		return fmt.Errorf("%w: FLOWLINE_DATA_DIR must not be empty", config.ErrInvalid)
	}
	if c.ESURL != "" {
		return config.Elasticsearch{URL: c.ESURL}.Validate()
	}
	return nil
}

func specDev() []any {
	s := newDevServices()
	return []any{&devConfig{}, esnode.NewConfig(), &config.Runtime{}, &s.ingest, &s.zeebeImport, &s.c7Import, &s.aggregator, &s.c7Fold, &s.writer, &s.archiver}
}

// devServices is the configuration of every service in a dev process.
type devServices struct {
	ingest      ingest.Config
	zeebeImport zeebeimport.Config // runs beside ingest when its URL is set
	c7Import    c7import.Config    // runs when FLOWLINE_C7_URL is set
	aggregator  aggregator.Config
	c7Fold      c7fold.Config // runs beside the aggregator, always
	writer      writer.Config
	archiver    archiver.Config
}

// newDevServices holds every service's defaults that tags cannot carry.
func newDevServices() devServices {
	return devServices{zeebeImport: zeebeimport.NewConfig(), c7Import: c7import.NewConfig(),
		aggregator: aggregator.NewConfig(), c7Fold: c7fold.NewConfig(), archiver: archiver.NewConfig()}
}

// loadDevServices loads every service's config from the environment,
// points them all at dev's NATS (natsURL) and the writer and archiver at its
// Elasticsearch (esURL), and validates them; the imports only when their
// URL is set.
func loadDevServices(natsURL, esURL string, engine config.Engine, schemaMode config.Schema) (devServices, error) {
	s := newDevServices()
	for _, c := range []any{&s.ingest, &s.zeebeImport, &s.c7Import, &s.aggregator, &s.c7Fold, &s.writer, &s.archiver} {
		if err := config.Process(c); err != nil {
			return s, err
		}
	}
	for _, u := range []*string{&s.ingest.NATS.URL, &s.zeebeImport.NATS.URL, &s.c7Import.NATS.URL, &s.aggregator.NATS.URL, &s.c7Fold.NATS.URL, &s.writer.NATS.URL, &s.archiver.NATS.URL} {
		*u = natsURL
	}
	s.writer.ES.URL, s.archiver.ES.URL = esURL, esURL
	if engine != "" {
		s.writer.Search.Engine, s.archiver.Search.Engine = engine, engine
	}
	if schemaMode != "" {
		s.aggregator.Schema, s.writer.Schema, s.archiver.Schema = schemaMode, schemaMode, schemaMode
	}
	s.writer.Resolve()
	s.archiver.Resolve()
	if s.writer.Schema == config.SchemaOperate && s.c7Import.Enabled() {
		return s, fmt.Errorf("%w: the Camunda 7 import writes Flowline's schema only: unset FLOWLINE_C7_URL or FLOWLINE_SCHEMA=operate", config.ErrInvalid)
	}
	checks := []config.Validator{s.ingest, s.aggregator, s.c7Fold, s.writer, s.archiver}
	if s.zeebeImport.Enabled() {
		checks = append(checks, s.zeebeImport)
	}
	if s.c7Import.Enabled() {
		checks = append(checks, s.c7Import)
	}
	return s, config.ValidateAll(checks...)
}

// devFlags are the flags of `flowline dev`.
func devFlags() (fs *flag.FlagSet, workload *string, instances *int, engine, schemaMode *string) {
	fs = flag.NewFlagSet("dev", flag.ContinueOnError)
	workload = fs.String("workload", "realistic", "workload to run once ready: realistic (alias demo), typical or none")
	instances = fs.Int("instances", 120, "process instances of the workload")
	engine = fs.String("engine", "", "search engine: elasticsearch or opensearch (default: FLOWLINE_SEARCH_ENGINE, else elasticsearch); without FLOWLINE_ES_URL a local node of it is provisioned")
	schemaMode = fs.String("schema", "", "documents and indices: flowline or operate (Camunda 8.8's Operate and Tasklist indices; default: FLOWLINE_SCHEMA, else flowline)")
	return fs, workload, instances, engine, schemaMode
}

func runDev(ctx context.Context, args []string, stdout io.Writer) error {
	fs, workload, instances, engineFlag, schemaFlag := devFlags()
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	engine := config.Engine(*engineFlag)
	switch engine {
	case "", config.EngineElasticsearch, config.EngineOpenSearch:
	default:
		return usageError{fmt.Errorf("--engine must be elasticsearch or opensearch, got %q", *engineFlag)}
	}
	schemaMode := config.Schema(*schemaFlag)
	switch schemaMode {
	case "", config.SchemaFlowline, config.SchemaOperate:
	default:
		return usageError{fmt.Errorf("--schema must be flowline or operate, got %q", *schemaFlag)}
	}
	wl, ok := devWorkloads[*workload]
	if !ok && *workload != "none" {
		return usageError{fmt.Errorf("--workload must be realistic, typical, demo or none, got %q", *workload)}
	}
	if *instances < 1 {
		return usageError{fmt.Errorf("--instances must be at least 1, got %d", *instances)}
	}
	var dc devConfig
	var rt config.Runtime
	if err := config.Load(&dc); err != nil {
		return err
	}
	local, err := esnode.LoadConfig()
	if err != nil {
		return err
	}
	if err := config.Load(&rt); err != nil {
		return err
	}
	// Check every service's settings before starting anything, with
	// stand-ins for the URLs filled in once NATS and Elasticsearch run.
	stand, err := loadDevServices("nats://127.0.0.1:4222", "http://127.0.0.1:9200", engine, schemaMode)
	if err != nil {
		return err
	}
	if engine == "" {
		engine = stand.writer.Search.Engine // FLOWLINE_SEARCH_ENGINE
	}
	p, err := newProcess(ctx, rt, "dev")
	if err != nil {
		return err
	}

	dataDir, err := filepath.Abs(dc.DataDir)
	if err != nil {
		return err
	}
	ns, err := natsserver.Start(filepath.Join(dataDir, "nats"), "127.0.0.1", dc.NATSPort)
	if err != nil {
		return err
	}
	defer ns.Shutdown()
	p.log.Info("embedded NATS JetStream started", "url", ns.URL(), "store", filepath.Join(dataDir, "nats"))

	esURL := dc.ESURL
	if esURL == "" {
		if engine == "" {
			engine = config.EngineElasticsearch
		}
		product, version := productName(string(engine)), local.VersionOf(string(engine))
		p.log.Info("starting a local "+product+" (the first run fetches it from Maven Central)", "version", version)
		node, err := esnode.Start(ctx, esnode.Options{Engine: string(engine), Version: version})
		if err != nil {
			return fmt.Errorf("local %s: %w", product, err)
		}
		defer node.Stop()
		esURL = node.URL()
		p.log.Info("local "+product+" started", "url", esURL)
	}

	cfgs, err := loadDevServices(ns.URL(), esURL, engine, schemaMode)
	if err != nil {
		return err
	}
	in, ingestion := ingestServices(cfgs.ingest, cfgs.zeebeImport, p)
	services := slices.Concat([]lifecycle.Service{ // downstream first
		writer.New(cfgs.writer, writer.Deps{Log: p.log, Tracer: p.tracer, Registry: p.registry}),
		archiver.New(cfgs.archiver, archiver.Deps{Log: p.log, Tracer: p.tracer, Registry: p.registry}),
	}, aggregatorServices(cfgs.aggregator, cfgs.c7Fold, p), ingestion)
	if cfgs.c7Import.Enabled() {
		// A companion, like the Zeebe import: an engine that does not
		// answer (yet) neither holds back the ready line nor stops dev.
		services = append(services, lifecycle.Companion(c7ImportService(cfgs.c7Import, p), p.log))
	}

	go func() {
		if !waitReady(ctx, services) {
			return
		}
		fmt.Fprintln(stdout, devReadyLine(in.Addr(), esURL, ns.URL(), rt.AdminAddr, cfgs))
		if *workload != "none" {
			if err := runDemo(ctx, "http://"+in.Addr()+"/v1/records", wl, *instances, stdout); err != nil && !errors.Is(err, context.Canceled) {
				p.log.Error("demo workload failed", "error", err)
			}
		}
	}()
	return p.serve(ctx, rt, services...)
}

// devReadyLine is what dev prints once every service is ready: where to
// push records, what to search (the Camunda 7 list view too when the
// import is on), NATS and the admin server.
func devReadyLine(ingestAddr, esURL, natsURL, adminAddr string, cfgs devServices) string {
	prefix := cfgs.writer.Index.Prefix
	search := func(f schema.Family) string { return config.Redact(esURL) + "/" + schema.Alias(prefix, f) + "/_search" }
	searches := search(schema.ListView) + " and " + search(schema.FlowNodeInstance)
	if cfgs.writer.Schema == config.SchemaOperate {
		searches = config.Redact(esURL) + "/" + operate.ListView.Alias(prefix) + "/_search and " +
			config.Redact(esURL) + "/" + operate.FlowNodeInstance.Alias(prefix) + "/_search (Camunda 8.8's Operate schema)"
	}
	if imp := cfgs.c7Import; imp.Enabled() {
		searches = search(schema.ListView) + ", " + search(schema.FlowNodeInstance) + " and " + search(schema.C7ListView) +
			" (Camunda 7 engine " + config.Redact(imp.Engine.URL) + ", source " + imp.Engine.Source + ")"
	}
	return fmt.Sprintf("flowline dev ready: push records to http://%s/v1/records; search %s; NATS %s; admin http://%s/readyz",
		ingestAddr, searches, natsURL, adminAddr)
}

// waitReady polls until every service is ready or ctx ends.
func waitReady(ctx context.Context, services []lifecycle.Service) bool {
	for {
		ready := true
		for _, s := range services {
			if s.Ready() != nil {
				ready = false
			}
		}
		if ready {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(200 * time.Millisecond):
		}
	}
}
