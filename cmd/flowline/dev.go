package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/flowline/flowline/internal/dev/esnode"
	"github.com/flowline/flowline/internal/dev/natsserver"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/lifecycle"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/services/aggregator"
	"github.com/flowline/flowline/services/archiver"
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
	ESURL    string `envconfig:"ES_URL" desc:"Elasticsearch URL(s), comma separated (unset: a local node of FLOWLINE_ES_VERSION is provisioned)"`
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
	return []any{&devConfig{}, esnode.NewConfig(), &config.Runtime{}, &s.ingest, &s.zeebeImport, &s.aggregator, &s.writer, &s.archiver}
}

// devServices is the configuration of every service in a dev process.
type devServices struct {
	ingest      ingest.Config
	zeebeImport zeebeimport.Config // runs beside ingest when its URL is set
	aggregator  aggregator.Config
	writer      writer.Config
	archiver    archiver.Config
}

// newDevServices holds every service's defaults that tags cannot carry.
func newDevServices() devServices {
	return devServices{zeebeImport: zeebeimport.NewConfig(), aggregator: aggregator.NewConfig(), archiver: archiver.NewConfig()}
}

func loadDevServices(natsURL, esURL string) (devServices, error) {
	s := newDevServices()
	for _, c := range []any{&s.ingest, &s.zeebeImport, &s.aggregator, &s.writer, &s.archiver} {
		if err := config.Process(c); err != nil {
			return s, err
		}
	}
	s.ingest.NATS.URL, s.zeebeImport.NATS.URL, s.aggregator.NATS.URL, s.writer.NATS.URL, s.archiver.NATS.URL = natsURL, natsURL, natsURL, natsURL, natsURL
	s.writer.ES.URL, s.archiver.ES.URL = esURL, esURL
	checks := []config.Validator{s.ingest, s.aggregator, s.writer, s.archiver}
	if s.zeebeImport.Enabled() {
		checks = append(checks, s.zeebeImport)
	}
	return s, config.ValidateAll(checks...)
}

func runDev(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	workload := fs.String("workload", "realistic", "workload to run once ready: realistic (alias demo), typical or none")
	instances := fs.Int("instances", 120, "process instances of the workload")
	if err := parseFlags(fs, args); err != nil {
		return err
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
		p.log.Info("starting a local Elasticsearch (the first run fetches it from Maven Central)", "version", local.Version)
		node, err := esnode.Start(ctx, esnode.Options{Version: local.Version})
		if err != nil {
			return fmt.Errorf("local Elasticsearch: %w", err)
		}
		defer node.Stop()
		esURL = node.URL()
		p.log.Info("local Elasticsearch started", "url", esURL)
	}

	cfgs, err := loadDevServices(ns.URL(), esURL)
	if err != nil {
		return err
	}
	in, ingestion := ingestServices(cfgs.ingest, cfgs.zeebeImport, p)
	services := append([]lifecycle.Service{ // downstream first
		writer.New(cfgs.writer, writer.Deps{Log: p.log, Tracer: p.tracer, Registry: p.registry}),
		archiver.New(cfgs.archiver, archiver.Deps{Log: p.log, Tracer: p.tracer, Registry: p.registry}),
		aggregator.New(cfgs.aggregator, aggregator.Deps{Log: p.log, Tracer: p.tracer, Registry: p.registry}),
	}, ingestion...)

	go func() {
		if !waitReady(ctx, services) {
			return
		}
		prefix := cfgs.writer.Index.Prefix
		fmt.Fprintf(stdout, "flowline dev ready: push records to http://%s/v1/records; search %s/%s/_search and %s/%s/_search; NATS %s; admin http://%s/readyz\n",
			in.Addr(), config.Redact(esURL), schema.Alias(prefix, schema.ListView), config.Redact(esURL), schema.Alias(prefix, schema.FlowNodeInstance), ns.URL(), rt.AdminAddr)
		if *workload != "none" {
			if err := runDemo(ctx, "http://"+in.Addr()+"/v1/records", wl, *instances, stdout); err != nil && !errors.Is(err, context.Canceled) {
				p.log.Error("demo workload failed", "error", err)
			}
		}
	}()
	return p.serve(ctx, rt, services...)
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
