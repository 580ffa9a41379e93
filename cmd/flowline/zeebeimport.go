package main

import (
	"context"
	"io"

	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/lifecycle"
	"github.com/flowline/flowline/services/ingest"
)

// specZeebeImport is the config of `flowline zeebe-import`.
func specZeebeImport() []any { return []any{&config.Runtime{}, &ingest.ImportConfig{}} }

// runZeebeImport imports the Zeebe Elasticsearch exporter's indices
// (FLOWLINE_ZEEBE_IMPORT_URL) into JetStream, without the push API. The
// ingest service does the same when that variable is set; this command
// runs the import on its own, e.g. next to an ingest that has no access to
// the old cluster.
func runZeebeImport(ctx context.Context, args []string, _ io.Writer) error {
	return runOne(ctx, args, "zeebe-import", func(c ingest.ImportConfig, p *process) lifecycle.Service {
		return ingest.NewImporter(c, ingest.Deps{Log: p.log, Tracer: p.tracer, Registry: p.registry})
	})
}
