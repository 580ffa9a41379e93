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
)

// printConfigUsage lists the variables of every config section in specs.
func printConfigUsage(w io.Writer, specs []any) error { return config.Usage(w, specs...) }

func specIngest() []any     { return []any{&config.Runtime{}, &ingest.Config{}} }
func specAggregator() []any { return []any{&config.Runtime{}, &aggregator.Config{}} }
func specWriter() []any     { return []any{&config.Runtime{}, &writer.Config{}} }
func specArchiver() []any   { return []any{&config.Runtime{}, &archiver.Config{}} }

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

// runOne loads a single service's config from the environment and runs it.
func runOne[C config.Validator](ctx context.Context, args []string, name string,
	build func(C, *process) lifecycle.Service) error {
	if err := parseFlags(flag.NewFlagSet(name, flag.ContinueOnError), args); err != nil {
		return err
	}
	var rt config.Runtime
	var cfg C
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

func runIngest(ctx context.Context, args []string, _ io.Writer) error {
	return runOne(ctx, args, "ingest", func(c ingest.Config, p *process) lifecycle.Service {
		return ingest.New(c, ingest.Deps{Log: p.log, Tracer: p.tracer, Registry: p.registry})
	})
}

func runAggregator(ctx context.Context, args []string, _ io.Writer) error {
	return runOne(ctx, args, "aggregator", func(c aggregator.Config, p *process) lifecycle.Service {
		return aggregator.New(c, aggregator.Deps{Log: p.log, Tracer: p.tracer, Registry: p.registry})
	})
}

func runWriter(ctx context.Context, args []string, _ io.Writer) error {
	return runOne(ctx, args, "writer", func(c writer.Config, p *process) lifecycle.Service {
		return writer.New(c, writer.Deps{Log: p.log, Tracer: p.tracer, Registry: p.registry})
	})
}

func runArchiver(ctx context.Context, args []string, _ io.Writer) error {
	return runOne(ctx, args, "archiver", func(c archiver.Config, p *process) lifecycle.Service {
		return archiver.New(c, archiver.Deps{Log: p.log, Tracer: p.tracer, Registry: p.registry})
	})
}
