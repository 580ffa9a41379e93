package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"

	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/services/ingest/replay"
)

// ingestURLConfig is where replay pushes unless --ingest says
// (FLOWLINE_INGEST_URL).
type ingestURLConfig struct {
	URL string `envconfig:"INGEST_URL" default:"http://127.0.0.1:8080/v1/records" desc:"ingest's push URL: the default of --ingest"`
}

// Validate implements config.Validator.
func (c ingestURLConfig) Validate() error {
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: FLOWLINE_INGEST_URL: %q must be an http(s) URL with a host", config.ErrInvalid, config.Redact(c.URL))
	}
	return nil
}

// ingestTokenConfig is the bearer token replay and generate send to ingest
// unless --token says (FLOWLINE_INGEST_TOKEN, the variable ingest checks it
// against).
type ingestTokenConfig struct {
	Token string `envconfig:"INGEST_TOKEN" desc:"bearer token of ingest: the default of --token (never printed)"`
}

// Validate implements config.Validator: any token will do.
func (ingestTokenConfig) Validate() error { return nil }

func specReplay() []any { return []any{&ingestURLConfig{}, &ingestTokenConfig{}} }

// ingestToken is the token to send: --token, else FLOWLINE_INGEST_TOKEN.
func ingestToken(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	var c ingestTokenConfig
	err := config.Load(&c)
	return c.Token, err
}

// replayFlags are `flowline replay`'s flags; FLOWLINE_INGEST_URL and
// FLOWLINE_INGEST_TOKEN stand in for --ingest and --token when not given.
func replayFlags() (*flag.FlagSet, *replay.Options) {
	o := &replay.Options{}
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.StringVar(&o.Ingest, "ingest", "", "ingest's push URL (default: FLOWLINE_INGEST_URL)")
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
	if fs.NArg() == 0 {
		return usageError{fmt.Errorf("no file to replay: flowline replay --ingest URL [--token T] FILE...")}
	}
	if opts.Ingest == "" { // the variable is checked only when it is used
		var c ingestURLConfig
		if err := config.Load(&c); err != nil {
			return err
		}
		opts.Ingest = c.URL
	}
	var err error
	if opts.Token, err = ingestToken(opts.Token); err != nil {
		return err
	}
	opts.Progress, opts.Terminal = os.Stderr, isTerminal(os.Stderr)
	opts.Log = slog.New(slog.NewJSONHandler(io.Discard, nil)) // the progress output says it all
	st, err := replay.Run(ctx, *opts, fs.Args()...)
	fmt.Fprintf(stdout, "replayed %d lines: %d records sent, %d accepted, %d duplicates, %d dropped (not events), %d rejected\n",
		st.Lines, st.Sent, st.Accepted, st.Duplicates, st.Dropped, st.Rejected)
	return err
}
