package aggregator

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowline/flowline/pkg/stream"
)

// metrics of one aggregator; registered once in New.
type metrics struct {
	records     *prometheus.CounterVec // by partition
	documents   *prometheus.CounterVec // by partition
	deadLetters *prometheus.CounterVec // by reason: a stream.Class* name
	ignored     *prometheus.CounterVec // by value type (and intent for PROCESS_INSTANCE)
	checkpoint  prometheus.Histogram
	givenUp     prometheus.Counter
	errors      prometheus.Counter // failed partition rounds (lease.RunnerConfig.Errors)

	labelsMu sync.Mutex
	labels   map[string]bool // ignored's value_type labels in use
}

// Bounds of the ignored counter's labels: value types and intents come
// from clients, and every distinct label would be a series for ever.
const (
	maxIgnoredLabels   = 256 // distinct labels; later ones count as otherLabel
	maxIgnoredLabelLen = 64  // longer labels count as otherLabel
	otherLabel         = "other"
)

// countIgnored adds n records not aggregated under label (a value type, or
// TYPE.INTENT), keeping the label set bounded. Safe for concurrent use.
func (m *metrics) countIgnored(label string, n int) {
	m.labelsMu.Lock()
	if !m.labels[label] {
		if len(m.labels) >= maxIgnoredLabels || len(label) > maxIgnoredLabelLen {
			label = otherLabel
		} else {
			label = strings.Clone(label) // kept for good: never a view into a record message's body
			m.labels[label] = true
		}
	}
	m.labelsMu.Unlock()
	m.ignored.WithLabelValues(label).Add(float64(n))
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		labels: map[string]bool{},
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowline_aggregator_records_total", Help: "Records consumed, by partition.",
		}, []string{"partition"}),
		documents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowline_aggregator_documents_total", Help: "Documents published, by partition.",
		}, []string{"partition"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flowline_aggregator_errors_total", Help: "Partition rounds that failed: redone from the checkpoint after a backoff, or the partition given up.",
		}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowline_aggregator_dead_letters_total", Help: "Record messages, records or documents dead-lettered, by reason (undecodable, body_missing, record, unrenderable, too_large).",
		}, []string{"reason"}),
		ignored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowline_aggregator_ignored_records_total", Help: "Records not aggregated, by value type.",
		}, []string{"value_type"}),
		checkpoint: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "flowline_aggregator_checkpoint_seconds", Help: "Time to save a partition checkpoint.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	m.givenUp = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "flowline_aggregator_partitions_given_up_total", Help: "Partitions given up because the broker did not confirm within FLOWLINE_AGGREGATOR_PUBLISH_TIMEOUT.",
	})
	reg.MustRegister(m.records, m.documents, m.deadLetters, m.ignored, m.checkpoint, m.givenUp, m.errors)
	// Every reason exists from the start, at 0, so that rates are defined
	// before the first dead letter.
	for _, class := range []string{stream.ClassUndecodable, stream.ClassBodyMissing, stream.ClassRecord, stream.ClassUnrenderable, stream.ClassTooLarge} {
		m.deadLetters.WithLabelValues(class)
	}
	return m
}
