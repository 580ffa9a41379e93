// Package replay streams NDJSON files of Zeebe records (plain or gzip, for
// example a dump of Zeebe's zeebe-record indices) to ingest's push API:
// `flowline replay`. It validates every line as ingest does before sending
// (zeebejson.DecodeLenient and wire.CheckRecord), so a bad line stops the
// replay with its file, line number and reason (or, with SkipInvalid, goes
// to a reject file); a record ingest cannot store (413: over
// FLOWLINE_INGEST_MAX_RECORD_BYTES or the request size limit) is treated
// the same, never retried. It sends the rest in gzip batches,
// retries while ingest or its broker is unavailable, and checkpoints the
// last line ingest acknowledged, so an interrupted replay resumes where it
// stopped. Re-sent records are harmless: ingest counts them as duplicates.
package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"

	"github.com/flowline/flowline/pkg/wire"
	"github.com/flowline/flowline/pkg/zeebejson"
)

// ErrInvalidLine is returned when a line is not a valid record (and
// SkipInvalid is off); the error names the file, the line and the reason.
var ErrInvalidLine = errors.New("invalid record")

// Options configure a replay.
type Options struct {
	Ingest     string // URL of POST /v1/records
	Token      string // bearer token (FLOWLINE_INGEST_TOKEN or _TOKEN_FILE of the server)
	Batch      int    // most records per request
	BatchBytes int    // most bytes per request body (before gzip)
	// FromLine starts every file at this line (1-based), ignoring
	// checkpoints; 0 resumes from the checkpoint, if any.
	FromLine int64
	// CheckpointDir holds the checkpoints, <file name>.replay-checkpoint
	// ("" : beside each file); NoCheckpoint keeps none.
	CheckpointDir string
	NoCheckpoint  bool
	// SkipInvalid writes invalid lines to RejectFile (and their reasons to
	// RejectFile.reasons) and goes on.
	SkipInvalid bool
	RejectFile  string
	Progress    io.Writer // nil: no progress
	Terminal    bool      // Progress is a terminal: redraw one line
	HTTP        *http.Client
	Log         *slog.Logger
}

// Stats count what a replay did.
type Stats struct {
	Lines      int64 // lines read, skipped ones included
	Sent       int64 // records sent
	Accepted   int64
	Duplicates int64
	Dropped    int64 // not events, dropped by ingest
	Rejected   int64 // invalid lines written to the reject file
}

// Run replays files in order until all are sent, a line is invalid (without
// SkipInvalid), ingest refuses a request, or ctx ends.
func Run(ctx context.Context, opts Options, files ...string) (Stats, error) {
	if opts.Batch <= 0 {
		opts.Batch = 5000
	}
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = 8 << 20
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.SkipInvalid && opts.RejectFile == "" {
		opts.RejectFile = "replay-rejects.ndjson"
	}
	r := &run{opts: opts, log: opts.Log}
	r.client = newClient(opts.Ingest, opts.Token, opts.HTTP, func(msg string, args ...any) {
		r.progress.note(msg, args...)
		r.log.Warn(msg, args...)
	})
	defer r.closeRejects()
	for _, f := range files {
		if err := r.file(ctx, f); err != nil {
			return r.stats, err
		}
	}
	return r.stats, nil
}

type run struct {
	opts     Options
	name     string // the file being replayed
	log      *slog.Logger
	client   *client
	stats    Stats
	progress *replayProgress
	rejects  *os.File
	reasons  *os.File
}

// pending is the batch being filled: its body and the file line of each
// record in it.
type pending struct {
	body  []byte
	lines []int64
	ends  []int // end offset in body of each record's line
}

func (r *run) file(ctx context.Context, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	r.name = name
	cp := checkpointPath(r.opts, name)
	skip := int64(0)
	switch {
	case r.opts.FromLine > 0:
		skip = r.opts.FromLine - 1
	case cp != "":
		if skip, err = loadCheckpoint(cp); err != nil {
			return err
		}
		if skip > 0 {
			r.log.Info("resuming from checkpoint", "file", name, "after_line", skip, "checkpoint", cp)
		}
	}

	counted := &countingReader{r: f}
	var in io.Reader = bufio.NewReaderSize(counted, 1<<20)
	if gz, err := isGzip(in.(*bufio.Reader)); err != nil {
		return fmt.Errorf("replay: %s: %w", name, err)
	} else if gz {
		zr, err := gzip.NewReader(in)
		if err != nil {
			return fmt.Errorf("replay: %s: %w", name, err)
		}
		defer zr.Close()
		in = zr
	}
	br := bufio.NewReaderSize(in, 1<<20)

	r.progress = startProgress(r.opts.Progress, r.opts.Terminal, name, info.Size(), &counted.n, &r.stats)
	defer r.progress.finish()

	last := map[int32][2]int64{} // partition -> position, line
	var p pending
	var lineNo int64
	for {
		line, readErr := br.ReadBytes('\n')
		if len(line) > 0 {
			lineNo++
			atomic.AddInt64(&r.stats.Lines, 1)
			if lineNo > skip {
				if err := r.line(ctx, name, lineNo, line, last, &p, cp); err != nil {
					return err
				}
			}
		}
		if readErr == io.EOF {
			break
		}
		if readErr != nil {
			return fmt.Errorf("replay: %s: reading after line %d: %w", name, lineNo, readErr)
		}
	}
	if err := r.flush(ctx, &p, cp); err != nil {
		return err
	}
	if cp != "" && lineNo > skip {
		if err := saveCheckpoint(cp, name, lineNo); err != nil {
			return err
		}
	}
	return nil
}

// line handles one line of a file.
func (r *run) line(ctx context.Context, name string, n int64, line []byte, last map[int32][2]int64, p *pending, cp string) error {
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 {
		return nil
	}
	rec, err := zeebejson.DecodeLenient(trimmed)
	if err == nil {
		// The checks ingest applies to a decoded record: JSON-text fields
		// hold JSON, no negative position.
		_, err = wire.CheckDecoded(rec)
	}
	reason := ""
	if err != nil {
		reason = err.Error()
	} else if prev, ok := last[rec.PartitionId]; ok && rec.Position <= prev[0] {
		reason = fmt.Sprintf("partition %d goes backwards: position %d is not after position %d (line %d)", rec.PartitionId, rec.Position, prev[0], prev[1])
	}
	if reason != "" {
		if !r.opts.SkipInvalid {
			// Everything before the bad line is sent and checkpointed, so
			// a fixed file resumes at it.
			if err := r.flush(ctx, p, cp); err != nil {
				return err
			}
			return fmt.Errorf("replay: %w: %s:%d: %s (use --skip-invalid to write such lines to a reject file and go on)", ErrInvalidLine, name, n, reason)
		}
		return r.reject(name, n, trimmed, reason)
	}
	last[rec.PartitionId] = [2]int64{rec.Position, n}
	p.body = append(append(p.body, trimmed...), '\n')
	p.lines = append(p.lines, n)
	p.ends = append(p.ends, len(p.body))
	if len(p.lines) >= r.opts.Batch || len(p.body) >= r.opts.BatchBytes {
		return r.flush(ctx, p, cp)
	}
	return nil
}

// flush sends the pending batch (halving it while ingest says it is too
// large) and checkpoints its last line.
func (r *run) flush(ctx context.Context, p *pending, cp string) error {
	if len(p.lines) == 0 {
		return nil
	}
	if err := r.send(ctx, p.body, p.lines, p.ends, 0); err != nil {
		return err
	}
	if cp != "" {
		if err := saveCheckpoint(cp, "", p.lines[len(p.lines)-1]); err != nil {
			return err
		}
	}
	p.body, p.lines, p.ends = p.body[:0], p.lines[:0], p.ends[:0]
	return nil
}

// send posts records [0, len(lines)) of body, whose record i ends at
// ends[i]-base.
func (r *run) send(ctx context.Context, body []byte, lines []int64, ends []int, base int) error {
	ans, err := r.client.post(ctx, body)
	if errors.Is(err, ErrTooLarge) && len(lines) == 1 {
		// One record ingest can never store: an invalid line, not a retry.
		reason := "ingest cannot store this record: " + err.Error()
		if r.opts.SkipInvalid {
			return r.reject(r.name, lines[0], bytes.TrimSpace(body), reason)
		}
		return fmt.Errorf("replay: %w: %s:%d: %s (use --skip-invalid to write such lines to a reject file and go on)", ErrInvalidLine, r.name, lines[0], reason)
	}
	if errors.Is(err, ErrTooLarge) && len(lines) > 1 {
		half := len(lines) / 2
		cut := ends[half-1] - base
		if err := r.send(ctx, body[:cut], lines[:half], ends[:half], base); err != nil {
			return err
		}
		return r.send(ctx, body[cut:], lines[half:], ends[half:], base+cut)
	}
	if err != nil {
		return fmt.Errorf("replay: lines %d-%d: %w", lines[0], lines[len(lines)-1], err)
	}
	atomic.AddInt64(&r.stats.Sent, int64(len(lines)))
	atomic.AddInt64(&r.stats.Accepted, int64(ans.Accepted))
	atomic.AddInt64(&r.stats.Duplicates, int64(ans.Duplicates))
	atomic.AddInt64(&r.stats.Dropped, int64(ans.Dropped))
	return nil
}

// reject writes an invalid line to the reject file and its reason to the
// reasons file.
func (r *run) reject(name string, n int64, line []byte, reason string) error {
	if r.rejects == nil {
		var err error
		if r.rejects, err = os.OpenFile(r.opts.RejectFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
			return fmt.Errorf("replay: reject file: %w", err)
		}
		if r.reasons, err = os.OpenFile(r.opts.RejectFile+".reasons", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
			return fmt.Errorf("replay: reject file: %w", err)
		}
	}
	if _, err := r.rejects.Write(append(append([]byte{}, line...), '\n')); err != nil {
		return fmt.Errorf("replay: reject file: %w", err)
	}
	if _, err := fmt.Fprintf(r.reasons, "%s:%d: %s\n", name, n, reason); err != nil {
		return fmt.Errorf("replay: reject file: %w", err)
	}
	atomic.AddInt64(&r.stats.Rejected, 1)
	r.log.Warn("invalid line written to the reject file", "file", name, "line", n, "reason", reason, "reject_file", r.opts.RejectFile)
	return nil
}

func (r *run) closeRejects() {
	if r.rejects != nil {
		r.rejects.Close()
		r.reasons.Close()
	}
}

// isGzip reports whether the stream starts with the gzip magic bytes.
func isGzip(br *bufio.Reader) (bool, error) {
	b, err := br.Peek(2)
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return b[0] == 0x1f && b[1] == 0x8b, nil
}

// countingReader counts the bytes read from the file, for progress.
type countingReader struct {
	r io.Reader
	n int64 // atomic
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	atomic.AddInt64(&c.n, int64(n))
	return n, err
}
