package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/deadletter"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/nats-io/nats.go/jetstream"
)

// dlqConfig is where `flowline dlq` finds the dead-letter stream
// (FLOWLINE_NATS_*, as the services).
type dlqConfig struct {
	NATS config.NATS `envconfig:"NATS"`
}

// Validate implements config.Validator.
func (c dlqConfig) Validate() error { return c.NATS.Validate() }

func specDLQ() []any { return []any{&dlqConfig{}} }

const dlqSummary = "see and re-drive dead letters: flowline dlq list [filters] [--json] | show SEQ | redrive (SEQ... | filters | --all) [--dry-run]; " +
	"filters: --service S --reason SUBSTR --since T --until T --limit N (T: RFC 3339 or a duration ago)"

// dlqOptions are the flags of `flowline dlq`; each subcommand takes the
// ones that apply to it (dlqFlags).
type dlqOptions struct {
	service, reason, since, until string
	limit                         int
	json, dryRun, all             bool
}

// dlqFlags are the flags of subcommand sub ("" for --help: all of them).
func dlqFlags(sub string) (*flag.FlagSet, *dlqOptions) {
	o := &dlqOptions{}
	fs := flag.NewFlagSet("dlq "+sub, flag.ContinueOnError)
	if sub == "list" || sub == "redrive" || sub == "" {
		fs.StringVar(&o.service, "service", "", "list/redrive: only dead letters of this service (ingest, aggregator, writer, ...)")
		fs.StringVar(&o.reason, "reason", "", "list/redrive: only dead letters whose reason contains this (case-insensitive)")
		fs.StringVar(&o.since, "since", "", "list/redrive: only dead letters stored at or after this RFC 3339 time, or this long ago (e.g. 24h)")
		fs.StringVar(&o.until, "until", "", "list/redrive: only dead letters stored at or before this RFC 3339 time, or this long ago")
		fs.IntVar(&o.limit, "limit", 0, "list/redrive: at most this many dead letters, oldest first (0: all)")
	}
	if sub == "list" || sub == "" {
		fs.BoolVar(&o.json, "json", false, "list: one JSON object per line instead of tab-separated columns")
	}
	if sub == "redrive" || sub == "" {
		fs.BoolVar(&o.dryRun, "dry-run", false, "redrive: say what would be sent where, change nothing")
		fs.BoolVar(&o.all, "all", false, "redrive: every dead letter (without SEQs or filters nothing is selected)")
	}
	return fs, o
}

// filter is the deadletter.Filter of the options, times relative to now.
func (o *dlqOptions) filter(now time.Time) (deadletter.Filter, error) {
	f := deadletter.Filter{Service: o.service, Reason: o.reason, Limit: o.limit}
	if o.limit < 0 {
		return f, usageError{fmt.Errorf("--limit must not be negative, got %d", o.limit)}
	}
	var err error
	if o.since != "" {
		if f.Since, err = deadletter.ParseTime(o.since, now); err != nil {
			return f, usageError{fmt.Errorf("--since: %w", err)}
		}
	}
	if o.until != "" {
		if f.Until, err = deadletter.ParseTime(o.until, now); err != nil {
			return f, usageError{fmt.Errorf("--until: %w", err)}
		}
	}
	return f, nil
}

// parseInterleaved parses fs from args, allowing flags after positional
// arguments (`redrive 12 13 --dry-run`), and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError{err}
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// runDLQ runs `flowline dlq list|show|redrive`; the logic is in
// pkg/deadletter, this wires flags and output.
func runDLQ(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("which one: flowline dlq list|show|redrive (flowline dlq --help)")}
	}
	sub := args[0]
	if sub != "list" && sub != "show" && sub != "redrive" {
		return usageError{fmt.Errorf("unknown subcommand %q: flowline dlq list|show|redrive", sub)}
	}
	fs, o := dlqFlags(sub)
	positional, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	f, err := o.filter(time.Now())
	if err != nil {
		return err
	}
	var seqs []uint64
	switch {
	case sub == "list" && len(positional) > 0:
		return usageError{fmt.Errorf("list takes no arguments, got %v (flowline dlq show SEQ shows one)", positional)}
	case sub == "show" && len(positional) != 1:
		return usageError{errors.New("show takes one dead-letter sequence: flowline dlq show SEQ")}
	case sub == "show" || sub == "redrive":
		if seqs, err = deadletter.ParseSeqs(positional); err != nil {
			return usageError{err}
		}
	}
	if sub == "redrive" {
		switch {
		case len(seqs) > 0 && (!f.IsZero() || o.all):
			return usageError{errors.New("redrive takes either dead-letter sequences or filters (--all: every dead letter), not both")}
		case len(seqs) == 0 && f.IsZero() && !o.all:
			return usageError{errors.New("redrive what? give dead-letter sequences, filters, or --all")}
		}
	}

	var cfg dlqConfig
	if err := config.Load(&cfg); err != nil {
		return err
	}
	store, closeConn, err := dlqConnect(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeConn()

	switch sub {
	case "list":
		letters, err := store.List(ctx, f)
		if err != nil {
			return err
		}
		return deadletter.WriteList(stdout, letters, o.json)
	case "show":
		l, err := store.Get(ctx, seqs[0])
		if err != nil {
			return err
		}
		return deadletter.WriteShow(stdout, l)
	default:
		return dlqRedrive(ctx, store, f, seqs, o.dryRun, stdout)
	}
}

// dlqConnect connects to NATS, giving up after three connect timeouts
// (a command, unlike a service, should not wait for ever).
func dlqConnect(ctx context.Context, cfg dlqConfig) (*deadletter.Store, func(), error) {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cctx, cancel := context.WithTimeout(ctx, (3 * cfg.NATS.ConnectTimeout).D())
	defer cancel()
	conn, err := stream.Connect(cctx, cfg.NATS, "flowline-dlq", log)
	if err != nil {
		return nil, nil, err
	}
	payloads, err := stream.BindPayloads(cctx, conn.JS)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		payloads, err = nil, nil // no service stored a large body yet: no dead letter references one
	}
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return deadletter.New(conn.JS, payloads), conn.Close, nil
}

// dlqRedrive redrives the dead letters seqs names, or else those f
// selects, one by one, printing a line for each; a dead letter that
// cannot be redriven is reported and the others go on. It fails if any
// could not be.
func dlqRedrive(ctx context.Context, store *deadletter.Store, f deadletter.Filter, seqs []uint64, dryRun bool, stdout io.Writer) error {
	var letters []deadletter.Letter
	if len(seqs) > 0 {
		for _, seq := range seqs {
			l, err := store.Get(ctx, seq)
			if errors.Is(err, deadletter.ErrNotFound) {
				fmt.Fprintf(stdout, "%d: nothing to redrive: %v\n", seq, err)
				continue
			}
			if err != nil {
				return err
			}
			letters = append(letters, l)
		}
	} else {
		var err error
		if letters, err = store.List(ctx, f); err != nil {
			return err
		}
	}
	var done, failed int
	for _, l := range letters {
		out, err := store.Redrive(ctx, l, dryRun)
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(stdout, "%d: not redriven: %v\n", l.Seq, err)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		case out.DryRun:
			done++
			fmt.Fprintf(stdout, "%d: would redrive (%s, %s) to %s\n", l.Seq, l.Service, l.Kind, out.Target)
		default:
			done++
			note := ""
			if out.Duplicate {
				note = " (it was already there: an earlier redrive of it was interrupted)"
			}
			fmt.Fprintf(stdout, "%d: redriven (%s, %s) to %s%s\n", l.Seq, l.Service, l.Kind, out.Target, note)
		}
	}
	verb := "redriven"
	if dryRun {
		verb = "to redrive"
	}
	fmt.Fprintf(stdout, "%d dead letters %s, %d not\n", done, verb, failed)
	if failed > 0 {
		return fmt.Errorf("%d of %d dead letters could not be redriven", failed, len(letters))
	}
	return nil
}
