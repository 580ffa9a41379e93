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

	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/lifecycle"
	"github.com/flowline/flowline/pkg/telemetry"
	"github.com/flowline/flowline/services/aggregator"
	"github.com/flowline/flowline/services/archiver"
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
	c := aggregator.NewConfig()
	return []any{&config.Runtime{}, &c}
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
	tp, err := telemetry.NewTracerProvider(ctx, "flowline-"+name)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
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
	runErr := lifecycle.RunAll(ctx, p.log, rt.DrainTime, services...)
	sctx, cancel := context.WithTimeout(context.Background(), rt.DrainTime)
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
	if err := parseFlags(flag.NewFlagSet(name, flag.ContinueOnError), args); err != nil {
		return err
	}
	var rt config.Runtime
	if err := config.Load(&rt); err != nil {
		return err
	}
	if err := loadInto(&cfg); err != nil {
		return err
	}
	p, err := newProcess(ctx, rt, name)
	if err != nil {
		return err
	}
	return p.serve(ctx, rt, build(cfg, p))
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
	if err := parseFlags(flag.NewFlagSet("ingest", flag.ContinueOnError), args); err != nil {
		return err
	}
	var rt config.Runtime
	var cfg ingest.Config
	imp := zeebeimport.NewConfig()
	if err := config.Load(&rt); err != nil {
		return err
	}
	if err := config.Load(&cfg); err != nil {
		return err
	}
	if err := config.Process(&imp); err != nil {
		return err
	}
	if imp.Enabled() {
		if err := imp.Validate(); err != nil {
			return err
		}
	}
	p, err := newProcess(ctx, rt, "ingest")
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

func runAggregator(ctx context.Context, args []string, _ io.Writer) error {
	return runOne(ctx, args, "aggregator", aggregator.NewConfig(), func(c aggregator.Config, p *process) lifecycle.Service {
		return aggregator.New(c, aggregator.Deps{Log: p.log, Tracer: p.tracer, Registry: p.registry})
	})
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
