package main

import (
	"context"
	"io"

	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/lifecycle"
	"github.com/flowline/flowline/services/zeebeimport"
)

// specZeebeImport is the config of `flowline zeebe-import`.
func specZeebeImport() []any {
	c := zeebeimport.NewConfig()
	return []any{&config.Runtime{}, &c}
}

// runZeebeImport imports the Zeebe Elasticsearch exporter's indices
// (FLOWLINE_ZEEBE_IMPORT_URL) into JetStream, without the push API. An
// ingest process runs the same import when that variable is set; this
// command runs it on its own, e.g. next to an ingest that has no access to
// the old cluster.
func runZeebeImport(ctx context.Context, args []string, _ io.Writer) error {
	return runOne(ctx, args, "zeebe-import", zeebeimport.NewConfig(), func(c zeebeimport.Config, p *process) lifecycle.Service {
		return zeebeimport.New(c, zeebeimport.Deps{Log: p.log, Tracer: p.tracer, Registry: p.registry})
	})
}
