package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/services/ingest/replay"
)

// ingestURLConfig is where replay and generate push unless --ingest says
// (FLOWLINE_INGEST_URL).
type ingestURLConfig struct {
	URL string `envconfig:"INGEST_URL" default:"http://127.0.0.1:8080/v1/records" desc:"ingest's base URL (http://host:port) or push URL (.../v1/records): the default of --ingest"`
}

// Validate implements config.Validator.
func (c ingestURLConfig) Validate() error {
	if _, err := pushURL(c.URL); err != nil {
		return fmt.Errorf("%w: FLOWLINE_INGEST_URL: %v", config.ErrInvalid, err)
	}
	return nil
}

// pushURL is ingest's push URL from raw, its base URL (http://host:port,
// the push path added) or its push URL itself.
func pushURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q must be an http(s) URL with a host: ingest's base URL (http://host:port) or push URL (.../v1/records)", config.Redact(raw))
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/records"
	}
	return u.String(), nil
}

// ingestURL is the push URL of --ingest (flag), else of FLOWLINE_INGEST_URL.
func ingestURL(flag string) (string, error) {
	if flag != "" {
		u, err := pushURL(flag)
		if err != nil {
			return "", usageError{fmt.Errorf("--ingest %w", err)}
		}
		return u, nil
	}
	var c ingestURLConfig // the variable is read only when it is used
	if err := config.Load(&c); err != nil {
		return "", err
	}
	return pushURL(c.URL)
}

// ingestTokenConfig is the bearer token replay and generate send to ingest
// unless --token-file says: FLOWLINE_INGEST_TOKEN or
// FLOWLINE_INGEST_TOKEN_FILE, the variables ingest reads it from.
type ingestTokenConfig struct {
	config.IngestToken
}

func specReplay() []any { return []any{&ingestURLConfig{}, &ingestTokenConfig{}} }

// errTokenFlag refuses --token: a token on the command line is visible to
// every user of the machine (ps, /proc, shell history).
var errTokenFlag = errors.New("--token is not accepted, a token on the command line is visible to every user of the machine (ps, shell history): " +
	"use --token-file FILE, FLOWLINE_INGEST_TOKEN or FLOWLINE_INGEST_TOKEN_FILE")

// tokenFlags defines --token-file into file, and --token, which always
// fails with errTokenFlag.
func tokenFlags(fs *flag.FlagSet, file *string) {
	fs.StringVar(file, "token-file", "", "file holding ingest's bearer token (default: FLOWLINE_INGEST_TOKEN_FILE, else FLOWLINE_INGEST_TOKEN)")
	fs.Func("token", "not accepted (visible to other users): use --token-file or FLOWLINE_INGEST_TOKEN", func(string) error { return errTokenFlag })
}

// refuseTokenFlag fails with errTokenFlag when args give --token in any
// form the flag package reads (-token, --token, with = or not), before the
// flags are parsed: the flag package's own error would repeat the token.
func refuseTokenFlag(args []string) error {
	for _, a := range args {
		if a == "--" {
			break
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		if strings.HasPrefix(a, "-") && name == "token" {
			return usageError{errTokenFlag}
		}
	}
	return nil
}

// ingestToken is the token to send: the content of --token-file, else
// FLOWLINE_INGEST_TOKEN or the content of FLOWLINE_INGEST_TOKEN_FILE.
func ingestToken(tokenFile string) (string, error) {
	if tokenFile != "" {
		tok, err := config.IngestToken{TokenFile: tokenFile}.Resolve()
		if err != nil {
			return "", usageError{fmt.Errorf("--token-file: %w", err)}
		}
		return tok, nil
	}
	var c ingestTokenConfig
	if err := config.Load(&c); err != nil {
		return "", err
	}
	return c.Resolve()
}

// replayFlags are `flowline replay`'s flags; FLOWLINE_INGEST_URL and
// FLOWLINE_INGEST_TOKEN (or _TOKEN_FILE) stand in for --ingest and
// --token-file when not given. The token file's name is returned apart.
func replayFlags() (*flag.FlagSet, *replay.Options, *string) {
	o := &replay.Options{}
	tokenFile := new(string)
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.StringVar(&o.Ingest, "ingest", "", "ingest's base URL (http://host:port) or push URL (.../v1/records) (default: FLOWLINE_INGEST_URL)")
	tokenFlags(fs, tokenFile)
	fs.IntVar(&o.Batch, "batch", 5000, "most records per request")
	fs.Int64Var(&o.FromLine, "from-line", 0, "start every file at this line (1-based), ignoring checkpoints")
	fs.StringVar(&o.CheckpointDir, "checkpoint-dir", "", "directory of the checkpoints <file>.replay-checkpoint (default: beside each file)")
	fs.BoolVar(&o.NoCheckpoint, "no-checkpoint", false, "keep no checkpoint")
	fs.BoolVar(&o.SkipInvalid, "skip-invalid", false, "write invalid lines (and records ingest cannot store) to --reject-file (reasons to <reject-file>.reasons) and go on")
	fs.StringVar(&o.RejectFile, "reject-file", "replay-rejects.ndjson", "where --skip-invalid writes invalid lines")
	return fs, o, tokenFile
}

// runReplay streams NDJSON files (plain or gzip) to ingest.
func runReplay(ctx context.Context, args []string, stdout io.Writer) error {
	if err := refuseTokenFlag(args); err != nil {
		return err
	}
	fs, opts, tokenFile := replayFlags()
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() == 0 {
		return usageError{fmt.Errorf("no file to replay: flowline replay --ingest URL [--token-file F] FILE...")}
	}
	var err error
	if opts.Ingest, err = ingestURL(opts.Ingest); err != nil {
		return err
	}
	if opts.Token, err = ingestToken(*tokenFile); err != nil {
		return err
	}
	opts.Progress, opts.Terminal = os.Stderr, isTerminal(os.Stderr)
	opts.Log = slog.New(slog.NewJSONHandler(io.Discard, nil)) // the progress output says it all
	st, err := replay.Run(ctx, *opts, fs.Args()...)
	fmt.Fprintf(stdout, "replayed %d lines: %d records sent, %d accepted, %d duplicates, %d dropped (not events), %d rejected\n",
		st.Lines, st.Sent, st.Accepted, st.Duplicates, st.Dropped, st.Rejected)
	return err
}
