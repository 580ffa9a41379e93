package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/flowline/flowline/services/ingest/replay"
)

// replayFlags are `flowline replay`'s flags; FLOWLINE_INGEST_URL and
// FLOWLINE_INGEST_TOKEN give the defaults of --ingest and --token.
func replayFlags() (*flag.FlagSet, *replay.Options) {
	o := &replay.Options{}
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	ingestURL := os.Getenv("FLOWLINE_INGEST_URL")
	if ingestURL == "" {
		ingestURL = "http://127.0.0.1:8080/v1/records"
	}
	fs.StringVar(&o.Ingest, "ingest", ingestURL, "ingest's push URL (default from FLOWLINE_INGEST_URL)")
	fs.StringVar(&o.Token, "token", "", "bearer token of ingest (default: FLOWLINE_INGEST_TOKEN; never printed)")
	fs.IntVar(&o.Batch, "batch", 5000, "most records per request")
	fs.Int64Var(&o.FromLine, "from-line", 0, "start every file at this line (1-based), ignoring checkpoints")
	fs.StringVar(&o.CheckpointDir, "checkpoint-dir", "", "directory of the checkpoints <file>.replay-checkpoint (default: beside each file)")
	fs.BoolVar(&o.NoCheckpoint, "no-checkpoint", false, "keep no checkpoint")
	fs.BoolVar(&o.SkipInvalid, "skip-invalid", false, "write invalid lines to --reject-file (reasons to <reject-file>.reasons) and go on")
	fs.StringVar(&o.RejectFile, "reject-file", "replay-rejects.ndjson", "where --skip-invalid writes invalid lines")
	return fs, o
}

// runReplay streams NDJSON files (plain or gzip) to ingest.
func runReplay(ctx context.Context, args []string, stdout io.Writer) error {
	fs, opts := replayFlags()
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if opts.Token == "" {
		opts.Token = os.Getenv("FLOWLINE_INGEST_TOKEN")
	}
	if fs.NArg() == 0 {
		return usageError{fmt.Errorf("no file to replay: flowline replay --ingest URL [--token T] FILE...")}
	}
	opts.Progress, opts.Terminal = os.Stderr, isTerminal(os.Stderr)
	opts.Log = slog.New(slog.NewJSONHandler(io.Discard, nil)) // the progress output says it all
	st, err := replay.Run(ctx, *opts, fs.Args()...)
	fmt.Fprintf(stdout, "replayed %d lines: %d records sent, %d accepted, %d duplicates, %d dropped (not events), %d rejected\n",
		st.Lines, st.Sent, st.Accepted, st.Duplicates, st.Dropped, st.Rejected)
	return err
}
