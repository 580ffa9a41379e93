package aggregator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowline/flowline/pkg/stream"
)

// lagWatch measures how far behind the aggregation of each partition is,
// against the records stream's max age: JetStream deletes a record message
// after FLOWLINE_STREAM_RECORDS_MAX_AGE whether it was aggregated or not, so
// a partition stalled that long would silently skip ahead. Every
// LagInterval it exports, per partition with records, the age of the
// oldest record message its consumer has not acknowledged (its records are
// in no checkpoint yet) as flowline_aggregator_lag_seconds, and logs ERROR
// once when that age passes LagAlert × the max age (and INFO when it is
// back under). A message it saw unaggregated that is gone at the next
// measure without ever being delivered to the partition's consumer aged
// out: that is logged at ERROR and counted in
// flowline_aggregator_skipped_messages_total.
//
// It measures every partition of the stream, owned by this replica or not,
// so replicas report the same values (alert on the maximum per partition).
// Its state is owned by the goroutine start runs; the metrics are safe for
// concurrent use.
type lagWatch struct {
	prefix   string        // consumer name prefix (Config.ConsumerPrefix)
	maxAge   time.Duration // the records stream's max age
	alert    time.Duration // lag above which it logs ERROR
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time

	lag     *prometheus.GaugeVec
	behindN *prometheus.GaugeVec // messages the partition's consumer has not had acknowledged
	skipped *prometheus.CounterVec

	oldest map[int32]uint64 // per partition: sequence of the oldest unaggregated message at the last measure
	behind map[int32]bool   // partitions whose lag is above alert
}

func newLagWatch(cfg Config, reg prometheus.Registerer, log *slog.Logger) *lagWatch {
	lc := cfg.AggregatorLag.WithDefaults()
	l := &lagWatch{
		prefix: cfg.ConsumerPrefix, maxAge: cfg.Streams.RecordsMaxAge.D(), interval: lc.LagInterval.D(),
		alert: time.Duration(lc.LagAlert * float64(cfg.Streams.RecordsMaxAge)),
		log:   log, now: time.Now,
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flowline_aggregator_lag_seconds",
			Help: "Age of the partition's oldest record message not yet aggregated (0: none); records are deleted at FLOWLINE_STREAM_RECORDS_MAX_AGE whether aggregated or not.",
		}, []string{"partition"}),
		behindN: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flowline_aggregator_messages_behind",
			Help: "Record messages of the partition not yet aggregated into a saved checkpoint: not delivered yet, or delivered and not acknowledged (a message holds up to FLOWLINE_INGEST_BATCH_RECORDS records).",
		}, []string{"partition"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowline_aggregator_skipped_messages_total",
			Help: "Record messages deleted by the records stream's max age before they were aggregated: their records are missing from the documents.",
		}, []string{"partition"}),
		oldest: map[int32]uint64{},
		behind: map[int32]bool{},
	}
	reg.MustRegister(l.lag, l.behindN, l.skipped)
	return l
}

// start measures now and then every interval, in its own goroutine, until
// ctx is done or stop is called; stop waits for the goroutine to end.
func (l *lagWatch) start(ctx context.Context, js jetstream.JetStream) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(l.interval)
		defer t.Stop()
		for {
			if err := l.measure(ctx, js); err != nil && ctx.Err() == nil {
				l.log.Warn("measuring the partitions' lag failed; trying again at the next interval", "error", err, "interval", l.interval)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

// measure measures every partition of the records stream, and those seen
// before whose messages have all gone since.
func (l *lagWatch) measure(ctx context.Context, js jetstream.JetStream) error {
	st, err := js.Stream(ctx, stream.RecordsStream)
	if err != nil {
		return fmt.Errorf("records stream: %w", err)
	}
	parts, err := stream.Partitions(ctx, js, stream.RecordsStream, stream.AllRecords)
	if err != nil {
		return err
	}
	for p := range l.oldest {
		if !slices.Contains(parts, p) {
			parts = append(parts, p)
		}
	}
	var errs []error
	for _, p := range parts {
		if err := l.measurePartition(ctx, st, p); err != nil {
			errs = append(errs, fmt.Errorf("partition %d: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

func (l *lagWatch) measurePartition(ctx context.Context, st jetstream.Stream, p int32) error {
	label := strconv.Itoa(int(p))
	// The consumer's ack floor: the worker acknowledges only what a saved
	// checkpoint holds. No consumer yet: nothing of p is aggregated.
	var floor, delivered uint64
	name := (&worker{p: p, cfg: Config{ConsumerPrefix: l.prefix}}).consumerName()
	c, err := st.Consumer(ctx, name)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
	case err != nil:
		return fmt.Errorf("consumer %s: %w", name, err)
	default:
		info := c.CachedInfo()
		floor, delivered = info.AckFloor.Stream, info.Delivered.Stream
		l.behindN.WithLabelValues(label).Set(float64(info.NumPending + uint64(info.NumAckPending)))
	}

	if seen, ok := l.oldest[p]; ok && delivered < seen {
		_, err := st.GetMsg(ctx, seen)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			l.skipped.WithLabelValues(label).Inc()
			l.log.Error("a record message of the partition was deleted (FLOWLINE_STREAM_RECORDS_MAX_AGE) before it was aggregated: its records are missing from the documents; replay them from their source",
				"partition", p, "sequence", seen, "records_max_age", l.maxAge.String())
		case err != nil:
			return fmt.Errorf("message %d: %w", seen, err)
		}
	}

	msg, err := st.GetMsg(ctx, floor+1, jetstream.WithGetMsgSubject(stream.RecordsSubject(p)))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		delete(l.oldest, p)
		l.report(p, label, 0, 0)
		return nil
	}
	if err != nil {
		return fmt.Errorf("oldest unaggregated message: %w", err)
	}
	l.oldest[p] = msg.Sequence
	l.report(p, label, max(l.now().Sub(msg.Time), 0), msg.Sequence)
	return nil
}

// report exports p's lag and logs when it crosses the alert threshold.
func (l *lagWatch) report(p int32, label string, lag time.Duration, seq uint64) {
	l.lag.WithLabelValues(label).Set(lag.Seconds())
	switch {
	case lag > l.alert && !l.behind[p]:
		l.behind[p] = true
		l.log.Error("partition is falling behind: its oldest unaggregated record is old, and records are deleted at the records stream's max age whether aggregated or not",
			"partition", p, "lag", lag.Round(time.Second).String(), "alert_at", l.alert.String(), "records_max_age", l.maxAge.String(), "sequence", seq)
	case lag <= l.alert && l.behind[p]:
		delete(l.behind, p)
		l.log.Info("partition is no longer falling behind", "partition", p, "lag", lag.Round(time.Second).String())
	}
}
