package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/flowline/flowline/internal/dev/simulate"
	"github.com/flowline/flowline/internal/progress"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/services/ingest/replay"
)

// recordSink takes NDJSON batches of generated records. Used by one
// goroutine.
type recordSink interface {
	write(ctx context.Context, body []byte, records int) error
	close() error
	name() string
	answer() *replay.Answer // what ingest answered, nil for files
}

// fileSink writes NDJSON to a file, gzip-compressed when its name ends in
// .gz; "-" is stdout.
type fileSink struct {
	path string
	f    *os.File
	w    *bufio.Writer
	gz   *gzip.Writer
}

func newFileSink(path string, stdout io.Writer) (*fileSink, error) {
	s := &fileSink{path: path}
	var dst io.Writer = stdout
	if path != "-" {
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		s.f, dst = f, f
	}
	if strings.HasSuffix(path, ".gz") {
		s.gz = gzip.NewWriter(dst)
		dst = s.gz
	}
	s.w = bufio.NewWriterSize(dst, 1<<20)
	return s, nil
}

func (s *fileSink) write(_ context.Context, body []byte, _ int) error {
	_, err := s.w.Write(body)
	return err
}

func (s *fileSink) close() error {
	err := s.w.Flush()
	if s.gz != nil {
		if cerr := s.gz.Close(); err == nil {
			err = cerr
		}
	}
	if s.f != nil {
		if cerr := s.f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	return nil
}

func (s *fileSink) name() string           { return s.path }
func (s *fileSink) answer() *replay.Answer { return nil }

// ingestSink posts batches to ingest with replay's client (retries,
// Retry-After, 413 halving).
type ingestSink struct {
	url string
	p   *replay.Pusher
	ans replay.Answer
}

// newIngestSink posts to url; retries are noted on notes.
func newIngestSink(url, token string, notes *progress.Line) *ingestSink {
	return &ingestSink{url: url, p: replay.NewPusher(url, token, nil, func(msg string, args ...any) {
		notes.Note(strings.TrimSuffix(fmt.Sprintln(append([]any{"flowline generate:", msg}, args...)...), "\n"))
	})}
}

func (s *ingestSink) write(ctx context.Context, body []byte, _ int) error {
	a, err := s.p.Push(ctx, body)
	s.ans.Accepted += a.Accepted
	s.ans.Duplicates += a.Duplicates
	s.ans.Dropped += a.Dropped
	return err
}

func (s *ingestSink) close() error           { return nil }
func (s *ingestSink) name() string           { return config.Redact(s.url) }
func (s *ingestSink) answer() *replay.Answer { return &s.ans }

// pacer holds a producer to a rate (records per second; 0: unlimited).
type pacer struct {
	rate  float64
	start time.Time
	sent  int64
}

// wait blocks until n more records are due.
func (p *pacer) wait(ctx context.Context, n int) error {
	p.sent += int64(n)
	if p.rate <= 0 {
		return ctx.Err()
	}
	due := p.start.Add(time.Duration(float64(p.sent) / p.rate * float64(time.Second)))
	d := time.Until(due)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// summary is what a generate run did.
type summary struct {
	stats  simulate.Stats
	took   time.Duration
	answer *replay.Answer
}

func (s summary) line(workload, dest string) string {
	st := s.stats
	line := fmt.Sprintf("generated %s workload: %d process instances (%d completed, %d canceled, %d left running; %d called instances, %d incidents, %d decisions): %d records to %s in %s (%.0f records/s)",
		workload, st.Instances, st.Completed, st.Canceled, st.Running, st.ChildInstances, st.Incidents, st.Decisions,
		st.Records, dest, s.took.Round(time.Millisecond), float64(st.Records)/max(s.took.Seconds(), 1e-9))
	if s.answer != nil {
		line += fmt.Sprintf(", %d accepted, %d duplicates", s.answer.Accepted, s.answer.Duplicates)
	}
	return line
}

// pumpProgress shows a pump's progress on a progress.Line: records
// written, root instances finished (by the generator, a batch ahead of the
// writes) of all, rate and ETA.
type pumpProgress struct {
	line      *progress.Line
	dest      string
	instances int
}

func (p *pumpProgress) show(st simulate.Stats, written int64, took time.Duration) {
	finished := st.Completed + st.Canceled + st.Running
	p.line.Show(fmt.Sprintf("generate: %d records to %s, %d/%d instances finished, %.0f records/s, %s elapsed, ETA %s",
		written, p.dest, finished, p.instances, progress.Rate(written, took), took.Round(time.Second),
		progress.ETA(took, float64(finished)/float64(max(p.instances, 1)))))
}

// pump renders the generator's records into NDJSON batches of at most
// batch records and writes them to sink at rate records/s (0: as fast as
// possible), showing its progress after every batch on pp (nil: none).
// With stamp set, every record's timestamp is stamp()'s value when its
// batch is sent instead of the generator's simulated clock, as records of
// a live engine carry the time they happened.
func pump(ctx context.Context, gen *simulate.Generator, sink recordSink, rate float64, batch int, stamp func() int64, pp *pumpProgress) (summary, error) {
	if rate > 0 { // smaller batches keep a low rate smooth: about 20 a second
		batch = min(batch, max(1, int(rate/20)))
	}
	pc := &pacer{rate: rate, start: time.Now()}
	var body []byte
	var held []simulate.Record // with stamp: the batch, encoded when sent
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		if err := pc.wait(ctx, n); err != nil {
			return err
		}
		if stamp != nil {
			now := stamp()
			for i := range held {
				held[i].Timestamp = now
				body = append(held[i].AppendJSON(body), '\n')
			}
			held = held[:0]
		}
		err := sink.write(ctx, body, n)
		if pp != nil {
			pp.show(gen.Stats(), pc.sent, time.Since(pc.start))
		}
		body, n = body[:0], 0
		return err
	}
	var err error
	for recs := gen.Next(); recs != nil && err == nil; recs = gen.Next() {
		for i := range recs {
			if stamp != nil {
				held = append(held, recs[i])
			} else {
				body = append(recs[i].AppendJSON(body), '\n')
			}
			if n++; n >= batch {
				if err = flush(); err != nil {
					break
				}
			}
		}
	}
	if err == nil {
		err = flush()
	}
	return summary{stats: gen.Stats(), took: time.Since(pc.start), answer: sink.answer()}, err
}
