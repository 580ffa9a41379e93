package ingest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/stream"
	"github.com/flowline/flowline/pkg/telemetry"
)

// errConflict: another ingest replica stored records of the partition
// between our read of its last message and our publish.
var errConflict = errors.New("concurrent append to partition")

// partitions maps partition ids to their logs; safe for concurrent use.
type partitions struct {
	mu   sync.Mutex
	logs map[int32]*partitionLog
}

func (ps *partitions) get(p int32) *partitionLog {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	l, ok := ps.logs[p]
	if !ok {
		l = &partitionLog{partition: p}
		ps.logs[p] = l
	}
	return l
}

// partitionLog appends one partition's records to its subject. Appends are
// serialized by mu, and each publish expects the subject's last stream
// sequence to be the one we saw: with several ingest replicas, a replica that
// lost a race re-reads the subject's last message, drops what is now stored,
// and tries again. So "at or below the highest stored position is a
// duplicate" holds across replicas, not just within one.
type partitionLog struct {
	partition int32

	mu      sync.Mutex
	known   bool   // lastSeq and lastPos reflect the stream
	lastSeq uint64 // stream sequence of the subject's last message, 0 if none
	lastPos int64  // highest stored position, -1 if none
}

// appendResult counts what an append did.
type appendResult struct{ accepted, duplicates int }

// append stores records (in position order, positions strictly increasing)
// after the highest stored position; records at or below it are duplicates.
// It returns only after JetStream acknowledged every message.
func (l *partitionLog) append(ctx context.Context, s *Service, records []wireRecord) (appendResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var res appendResult
	for attempt := 0; len(records) > 0; attempt++ {
		if !l.known {
			if err := l.load(ctx, s.js); err != nil {
				return res, err
			}
		}
		i := 0
		for i < len(records) && records[i].position <= l.lastPos {
			i++
		}
		res.duplicates += i
		records = records[i:]
		if len(records) == 0 {
			break
		}
		n, err := l.publishChunk(ctx, s, records)
		if errors.Is(err, errConflict) && attempt < 20 {
			l.known = false
			continue
		}
		if err != nil {
			l.known = false // the publish may or may not have been stored
			return res, err
		}
		res.accepted += n
		records = records[n:]
	}
	return res, nil
}

// load reads the subject's last message to learn the highest stored position.
func (l *partitionLog) load(ctx context.Context, js jetstream.JetStream) error {
	st, err := js.Stream(ctx, stream.RecordsStream)
	if err != nil {
		return fmt.Errorf("partition %d: %w", l.partition, err)
	}
	m, err := st.GetLastMsgForSubject(ctx, stream.RecordsSubject(l.partition))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		l.lastSeq, l.lastPos = 0, -1
	case err != nil:
		return fmt.Errorf("partition %d: read last stored record: %w", l.partition, err)
	default:
		pos, perr := strconv.ParseInt(m.Header.Get(stream.HeaderLastPosition), 10, 64)
		if perr != nil {
			return fmt.Errorf("partition %d: last message (seq %d) has no valid %s header", l.partition, m.Sequence, stream.HeaderLastPosition)
		}
		l.lastSeq, l.lastPos = m.Sequence, pos
	}
	l.known = true
	return nil
}

// publishChunk publishes the longest prefix of records that fits one message
// and returns how many records it stored.
func (l *partitionLog) publishChunk(ctx context.Context, s *Service, records []wireRecord) (int, error) {
	n, size := 0, 0
	for n < len(records) {
		rs := batchEntrySize(records[n])
		if n > 0 && (n >= s.cfg.BatchRecords || size+rs > s.cfg.BatchBytes) {
			break
		}
		size += rs
		n++
	}
	data := appendBatch(s.bufs.get(size), records[:n])
	defer s.bufs.put(data) // the client has copied it once PublishMsg returns
	first, last := records[0].position, records[n-1].position
	msg := &nats.Msg{Subject: stream.RecordsSubject(l.partition), Data: data, Header: nats.Header{}}
	msg.Header.Set(nats.MsgIdHdr, fmt.Sprintf("rec-%d-%d-%d", l.partition, first, last))
	msg.Header.Set(stream.HeaderFirstPosition, strconv.FormatInt(first, 10))
	msg.Header.Set(stream.HeaderLastPosition, strconv.FormatInt(last, 10))
	telemetry.Inject(ctx, msg.Header)

	start := time.Now()
	ack, err := s.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(l.lastSeq))
	s.metrics.publish.Observe(time.Since(start).Seconds())
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
			return 0, errConflict
		}
		return 0, fmt.Errorf("partition %d: store positions %d..%d: %w", l.partition, first, last, err)
	}
	if ack.Duplicate {
		// Someone stored this very message moments ago: our view of the
		// subject is stale. Re-read it; the records then count as duplicates.
		return 0, errConflict
	}
	l.lastSeq, l.lastPos = ack.Sequence, last
	return n, nil
}
