package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/flowline/flowline/pkg/buildinfo"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/lease"
	"github.com/flowline/flowline/pkg/lifecycle"
	"github.com/flowline/flowline/pkg/telemetry"
	"github.com/flowline/flowline/services/aggregator"
	"github.com/flowline/flowline/services/archiver"
	"github.com/flowline/flowline/services/c7fold"
	"github.com/flowline/flowline/services/ingest"
	"github.com/flowline/flowline/services/writer"
	"github.com/flowline/flowline/services/zeebeimport"
)

// printConfigUsage lists the variables of every config section in specs.
func printConfigUsage(w io.Writer, specs []any) error { return config.Usage(w, specs...) }

func specIngest() []any {
	zi := zeebeimport.NewConfig()
	return []any{&config.Runtime{}, &ingest.Config{}, &zi}
}
func specAggregator() []any {
	c, fold := aggregator.NewConfig(), c7fold.NewConfig()
	return []any{&config.Runtime{}, &c, &fold}
}
func specWriter() []any { return []any{&config.Runtime{}, &writer.Config{}} }
func specArchiver() []any {
	c := archiver.NewConfig()
	return []any{&config.Runtime{}, &c}
}

// process is what a service process sets up before running services:
// logger, tracer provider, metrics registry.
type process struct {
	log      *slog.Logger
	tracer   *sdktrace.TracerProvider
	registry *prometheus.Registry
}

func newProcess(ctx context.Context, rt config.Runtime, name string) (*process, error) {
	log := telemetry.NewLogger(os.Stderr, rt.SlogLevel())
	tcfg, err := config.LoadTelemetry()
	if err != nil {
		return nil, err
	}
	tp, err := telemetry.NewTracerProvider(ctx, tcfg, "flowline-"+name, lease.DefaultReplicaID())
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildinfo.Collector())
	return &process{log: log, tracer: tp, registry: reg}, nil
}

// serve runs services (downstream first) with an admin server until ctx is
// cancelled, then drains them upstream first and flushes traces.
func (p *process) serve(ctx context.Context, rt config.Runtime, services ...lifecycle.Service) error {
	admin, err := lifecycle.NewAdmin(rt.AdminAddr, p.registry, services...)
	if err != nil {
		return err
	}
	if rt.Pprof {
		admin.EnablePprof()
	}
	go func() {
		if err := admin.Serve(); err != nil {
			p.log.Error("admin server failed", "error", err)
		}
	}()
	p.log.Info("admin server listening", "addr", admin.Addr())
	runErr := lifecycle.RunAll(ctx, p.log, rt.DrainTime.D(), services...)
	sctx, cancel := context.WithTimeout(context.Background(), rt.DrainTime.D())
	defer cancel()
	_ = admin.Shutdown(sctx)
	if err := p.tracer.Shutdown(sctx); err != nil {
		p.log.Warn("flushing traces failed", "error", err)
	}
	return runErr
}

// runOne loads a single service's config from the environment, starting
// from cfg (its defaults that tags cannot carry), and runs it.
func runOne[C config.Validator](ctx context.Context, args []string, name string, cfg C,
	build func(C, *process) lifecycle.Service) error {
	p, rt, err := startProcess(ctx, args, name, func() error { return loadInto(&cfg) })
	if err != nil {
		return err
	}
	return p.serve(ctx, rt, build(cfg, p))
}

// startProcess starts a service command (which takes no flags or
// arguments): it loads the runtime section and then the command's own
// configs (load), and sets up the process.
func startProcess(ctx context.Context, args []string, name string, load func() error) (*process, config.Runtime, error) {
	var rt config.Runtime
	if err := parseFlags(flag.NewFlagSet(name, flag.ContinueOnError), args); err != nil {
		return nil, rt, err
	}
	if err := config.Load(&rt); err != nil {
		return nil, rt, err
	}
	if err := load(); err != nil {
		return nil, rt, err
	}
	p, err := newProcess(ctx, rt, name)
	return p, rt, err
}

// loadInto loads a service config through a pointer (C is a value type).
func loadInto[C config.Validator](cfg *C) error {
	if err := config.Process(cfg); err != nil {
		return err
	}
	return (*cfg).Validate()
}

// runIngest runs the push API, and beside it the Zeebe import when
// FLOWLINE_ZEEBE_IMPORT_URL is set (as a companion: it neither gates the
// process's readiness nor stops the push API if it fails).
func runIngest(ctx context.Context, args []string, _ io.Writer) error {
	var cfg ingest.Config
	imp := zeebeimport.NewConfig()
	p, rt, err := startProcess(ctx, args, "ingest", func() error {
		if err := config.Load(&cfg); err != nil {
			return err
		}
		if err := config.Process(&imp); err != nil {
			return err
		}
		if imp.Enabled() {
			return imp.Validate()
		}
		return nil
	})
	if err != nil {
		return err
	}
	_, services := ingestServices(cfg, imp, p)
	return p.serve(ctx, rt, services...)
}

// ingestServices are the services of an ingest process, downstream first:
// the push API (also returned on its own), and the Zeebe import as its
// companion when it is configured.
func ingestServices(cfg ingest.Config, imp zeebeimport.Config, p *process) (*ingest.Service, []lifecycle.Service) {
	api := ingest.New(cfg, ingest.Deps{Log: p.log, Tracer: p.tracer, Registry: p.registry})
	services := []lifecycle.Service{api}
	if imp.Enabled() {
		importer := zeebeimport.New(imp, zeebeimport.Deps{Log: p.log, Tracer: p.tracer, Registry: p.registry})
		services = append(services, lifecycle.Companion(importer, p.log))
	}
	return api, services
}

// runAggregator runs the aggregator and, beside it, its sibling the
// Camunda 7 fold: both gate the process's readiness, and either failing
// stops the process. The fold idles while FLOWLINE_C7 holds no pages.
func runAggregator(ctx context.Context, args []string, _ io.Writer) error {
	cfg, fold := aggregator.NewConfig(), c7fold.NewConfig()
	p, rt, err := startProcess(ctx, args, "aggregator", func() error {
		if err := loadInto(&cfg); err != nil {
			return err
		}
		return loadInto(&fold)
	})
	if err != nil {
		return err
	}
	return p.serve(ctx, rt, aggregatorServices(cfg, fold, p)...)
}

// aggregatorServices are the services of an aggregator process: the
// aggregator (Zeebe records) and the c7 fold (Camunda 7 pages), both
// building documents for the writers.
func aggregatorServices(cfg aggregator.Config, fold c7fold.Config, p *process) []lifecycle.Service {
	return []lifecycle.Service{
		aggregator.New(cfg, aggregator.Deps{Log: p.log, Tracer: p.tracer, Registry: p.registry}),
		c7fold.New(fold, c7fold.Deps{Log: p.log, Tracer: p.tracer, Registry: p.registry}),
	}
}

func runWriter(ctx context.Context, args []string, _ io.Writer) error {
	return runOne(ctx, args, "writer", writer.Config{}, func(c writer.Config, p *process) lifecycle.Service {
		return writer.New(c, writer.Deps{Log: p.log, Tracer: p.tracer, Registry: p.registry})
	})
}

func runArchiver(ctx context.Context, args []string, _ io.Writer) error {
	return runOne(ctx, args, "archiver", archiver.NewConfig(), func(c archiver.Config, p *process) lifecycle.Service {
		return archiver.New(c, archiver.Deps{Log: p.log, Tracer: p.tracer, Registry: p.registry})
	})
}
