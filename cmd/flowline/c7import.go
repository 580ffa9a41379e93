package main

import (
	"context"
	"io"

	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/lifecycle"
	"github.com/flowline/flowline/services/c7import"
)

// specC7Import is the config of `flowline c7-import`.
func specC7Import() []any {
	c := c7import.NewConfig()
	return []any{&config.Runtime{}, &c}
}

// runC7Import imports a Camunda 7 engine's history (FLOWLINE_C7_URL)
// through its Optimize REST API onto the FLOWLINE_C7 stream, following new
// data, until interrupted. The aggregator process's c7 fold turns the pages
// into documents. `flowline dev` runs the same import when FLOWLINE_C7_URL
// is set.
func runC7Import(ctx context.Context, args []string, _ io.Writer) error {
	return runOne(ctx, args, "c7-import", c7import.NewConfig(), func(c c7import.Config, p *process) lifecycle.Service {
		return c7ImportService(c, p)
	})
}

// c7ImportService is the Camunda 7 import of a process.
func c7ImportService(cfg c7import.Config, p *process) *c7import.Service {
	return c7import.New(cfg, c7import.Deps{Log: p.log, Tracer: p.tracer, Registry: p.registry})
}
