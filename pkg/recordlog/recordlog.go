// Package recordlog stores Zeebe records on their partition's subject of
// the records stream (flowline.records.<P>): in position order, each
// position once, batched into messages of at most RecordStore.BatchRecords
// records and BatchBytes bytes. Ingest's push API and the Zeebe import both
// store through it, so the duplicate rule (a record at or below the highest
// stored position of its partition is a duplicate) holds for every source
// and across replicas.
package recordlog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowline/flowline/pkg/bufpool"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/pkg/telemetry"
	"github.com/flowline/flowline/pkg/wire"
)

// errConflict: another replica stored records of the partition between our
// read of its last message and our publish.
var errConflict = errors.New("concurrent append to partition")

// Sentinel errors of Check (and of Append, which stores nothing of a call
// that holds such a record): the record can never be stored as it is, so
// sending it again cannot help.
var (
	// ErrRecordTooLarge: the encoded record is larger than
	// FLOWLINE_INGEST_MAX_RECORD_BYTES.
	ErrRecordTooLarge = errors.New("record too large")
	// ErrPartitionOutOfRange: the partition id is above
	// FLOWLINE_INGEST_MAX_PARTITION_ID.
	ErrPartitionOutOfRange = errors.New("partition id out of range")
)

// Result counts what an append did.
type Result struct{ Accepted, Duplicates int }

// Log appends records to the records stream. Create it with New once
// connected; safe for concurrent use: appends to one partition are
// serialized, different partitions proceed in parallel.
type Log struct {
	js       jetstream.JetStream
	cfg      config.RecordStore
	payloads *stream.Payloads // bodies over the server's max_payload
	bufs     *bufpool.Pool
	publish  prometheus.Observer // seconds per stored message; may be nil

	mu    sync.Mutex
	parts map[int32]*partition
}

// New returns a Log publishing through js. A message body larger than the
// server takes inline (a record up to MaxRecordBytes goes alone in its
// message) is stored through payloads (stream.OpenPayloads), so any
// accepted record can be stored whatever the server's max_payload. Message
// bodies come from bufs (shared with the caller's other buffers);
// publishSeconds, if not nil, observes how long each message took to be
// stored.
func New(js jetstream.JetStream, cfg config.RecordStore, payloads *stream.Payloads, bufs *bufpool.Pool, publishSeconds prometheus.Observer) *Log {
	return &Log{js: js, cfg: cfg, payloads: payloads, bufs: bufs, publish: publishSeconds, parts: map[int32]*partition{}}
}

// Check tells whether a record of partition p whose encoding is size bytes
// may be stored: an error wrapping ErrPartitionOutOfRange or
// ErrRecordTooLarge says why not, naming the limit and its variable.
// Ingest and the Zeebe import check every record with it before storing.
func Check(cfg config.RecordStore, p int32, size int) error {
	if limit := cfg.PartitionLimit(); p > limit {
		return fmt.Errorf("%w: partition %d is above the highest accepted partition id %d (FLOWLINE_INGEST_MAX_PARTITION_ID)", ErrPartitionOutOfRange, p, limit)
	}
	if limit := cfg.RecordLimit(); size > limit {
		return fmt.Errorf("%w: the record is %d bytes encoded, more than the limit of %d bytes (FLOWLINE_INGEST_MAX_RECORD_BYTES)", ErrRecordTooLarge, size, limit)
	}
	return nil
}

func (l *Log) partition(p int32) *partition {
	l.mu.Lock()
	defer l.mu.Unlock()
	pl, ok := l.parts[p]
	if !ok {
		pl = &partition{log: l, p: p}
		l.parts[p] = pl
	}
	return pl
}

// Append stores partition p's records (positions strictly increasing)
// after the highest stored position; records at or below it are
// duplicates. It returns only after JetStream acknowledged every message;
// on an error some of the records may be stored (a retry counts them as
// duplicates).
//
// A record Check refuses fails the whole call before anything is stored,
// with Check's error (naming the record's position).
func (l *Log) Append(ctx context.Context, p int32, records []wire.Record) (Result, error) {
	for _, r := range records {
		if err := Check(l.cfg, p, len(r.Data)); err != nil {
			return Result{}, fmt.Errorf("partition %d, position %d: %w", p, r.Position, err)
		}
	}
	return l.partition(p).append(ctx, records)
}

// AppendAll appends every partition's records, partitions in parallel, and
// returns the sums and every partition's error.
func (l *Log) AppendAll(ctx context.Context, groups map[int32][]wire.Record) (Result, error) {
	var (
		mu    sync.Mutex
		total Result
		errs  []error
		wg    sync.WaitGroup
	)
	for p, recs := range groups {
		wg.Go(func() {
			res, err := l.Append(ctx, p, recs)
			mu.Lock()
			defer mu.Unlock()
			total.Accepted += res.Accepted
			total.Duplicates += res.Duplicates
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	return total, errors.Join(errs...)
}

// partition appends one partition's records to its subject. Appends are
// serialized by mu, and each publish expects the subject's last stream
// sequence to be the one we saw: with several replicas, a replica that lost
// a race re-reads the subject's last message, drops what is now stored, and
// tries again. So "at or below the highest stored position is a duplicate"
// holds across replicas, not just within one.
type partition struct {
	log *Log
	p   int32

	mu      sync.Mutex
	known   bool   // lastSeq and lastPos reflect the stream
	lastSeq uint64 // stream sequence of the subject's last message, 0 if none
	lastPos int64  // highest stored position, -1 if none
}

func (pl *partition) append(ctx context.Context, records []wire.Record) (Result, error) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	var res Result
	for attempt := 0; len(records) > 0; attempt++ {
		if !pl.known {
			if err := pl.load(ctx); err != nil {
				return res, err
			}
		}
		i := 0
		for i < len(records) && records[i].Position <= pl.lastPos {
			i++
		}
		res.Duplicates += i
		records = records[i:]
		if len(records) == 0 {
			break
		}
		n, err := pl.publishChunk(ctx, records)
		if errors.Is(err, errConflict) && attempt < 20 {
			pl.known = false
			continue
		}
		if err != nil {
			pl.known = false // the publish may or may not have been stored
			return res, err
		}
		res.Accepted += n
		records = records[n:]
	}
	return res, nil
}

// load reads the subject's last message to learn the highest stored position.
func (pl *partition) load(ctx context.Context) error {
	st, err := pl.log.js.Stream(ctx, stream.RecordsStream)
	if err != nil {
		return fmt.Errorf("partition %d: %w", pl.p, err)
	}
	m, err := st.GetLastMsgForSubject(ctx, stream.RecordsSubject(pl.p))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		pl.lastSeq, pl.lastPos = 0, -1
	case err != nil:
		return fmt.Errorf("partition %d: read last stored record: %w", pl.p, err)
	default:
		pos, perr := strconv.ParseInt(m.Header.Get(stream.HeaderLastPosition), 10, 64)
		if perr != nil {
			return fmt.Errorf("partition %d: last message (seq %d) has no valid %s header", pl.p, m.Sequence, stream.HeaderLastPosition)
		}
		pl.lastSeq, pl.lastPos = m.Sequence, pos
	}
	pl.known = true
	return nil
}

// publishChunk publishes the longest prefix of records that fits one message
// and returns how many records it stored.
func (pl *partition) publishChunk(ctx context.Context, records []wire.Record) (int, error) {
	cfg := pl.log.cfg
	n, size := 0, 0
	for n < len(records) {
		rs := wire.BatchEntrySize(records[n])
		if n > 0 && (n >= cfg.BatchRecords || size+rs > cfg.BatchBytes.Int()) {
			break
		}
		size += rs
		n++
	}
	data := wire.AppendBatch(pl.log.bufs.Get(size), records[:n])
	defer pl.log.bufs.Put(data) // the client has copied it once PublishMsg returns
	first, last := records[0].Position, records[n-1].Position
	msg := stream.RecordsMsg(pl.p, first, last, data)
	telemetry.Inject(ctx, msg.Header)

	start := time.Now()
	if err := pl.log.payloads.Prepare(ctx, msg); err != nil {
		return 0, fmt.Errorf("partition %d: store positions %d..%d: %w", pl.p, first, last, err)
	}
	ack, err := pl.log.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(pl.lastSeq))
	if pl.log.publish != nil {
		pl.log.publish.Observe(time.Since(start).Seconds())
	}
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
			return 0, errConflict
		}
		return 0, fmt.Errorf("partition %d: store positions %d..%d: %w", pl.p, first, last, err)
	}
	if ack.Duplicate {
		// Someone stored this very message moments ago: our view of the
		// subject is stale. Re-read it; the records then count as duplicates.
		return 0, errConflict
	}
	pl.lastSeq, pl.lastPos = ack.Sequence, last
	return n, nil
}
