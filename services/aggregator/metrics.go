package aggregator

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of one aggregator; registered once in New.
type metrics struct {
	records     prometheus.Counter
	documents   prometheus.Counter
	deadLetters prometheus.Counter
	ignored     *prometheus.CounterVec // by value type (and intent for PROCESS_INSTANCE)
	checkpoint  prometheus.Histogram
	givenUp     prometheus.Counter

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
			m.labels[label] = true
		}
	}
	m.labelsMu.Unlock()
	m.ignored.WithLabelValues(label).Add(float64(n))
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		labels:      map[string]bool{},
		records:     prometheus.NewCounter(prometheus.CounterOpts{Name: "flowline_aggregator_records_total", Help: "Records consumed."}),
		documents:   prometheus.NewCounter(prometheus.CounterOpts{Name: "flowline_aggregator_documents_total", Help: "Documents published."}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{Name: "flowline_aggregator_dead_letters_total", Help: "Record messages, records or documents dead-lettered."}),
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
	reg.MustRegister(m.records, m.documents, m.deadLetters, m.ignored, m.checkpoint, m.givenUp)
	return m
}
