package zeebeimport

import "github.com/prometheus/client_golang/prometheus"

// metrics are the Zeebe import's metrics; registered once, in New.
type metrics struct {
	records *prometheus.CounterVec // by result: imported, duplicate, dropped, invalid, late
	pages   prometheus.Counter
	rounds  *prometheus.CounterVec // by outcome: full, partial, idle, error
	lag     *prometheus.GaugeVec   // by partition
	errors  prometheus.Counter
	gaps    prometheus.Counter
	publish prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowline_zeebe_import_records_total",
			Help: "Documents read from the Zeebe exporter's indices, by result: imported, duplicate (already stored), dropped (not an event), invalid and late (both dead-lettered); a late record that could still be stored in order counts as imported.",
		}, []string{"result"}),
		pages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flowline_zeebe_import_pages_total", Help: "Non-empty pages read from the Zeebe exporter's indices.",
		}),
		rounds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowline_zeebe_import_rounds_total", Help: "Import rounds, by outcome: full (a page was full), partial, idle (nothing new), error.",
		}, []string{"outcome"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flowline_zeebe_import_lag_seconds",
			Help: "Age of the newest imported record while more is waiting (0 once caught up), by partition.",
		}, []string{"partition"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flowline_zeebe_import_errors_total", Help: "Import rounds that failed and are redone.",
		}),
		gaps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flowline_zeebe_import_sequence_gaps_total",
			Help: "Gaps in a value type's exporter sequence the import waited the settle time for in vain and went past (a record arriving in one later is dead-lettered as late).",
		}),
		publish: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "flowline_zeebe_import_publish_seconds", Help: "Time to store one JetStream message of imported records.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	reg.MustRegister(m.records, m.pages, m.rounds, m.lag, m.errors, m.gaps, m.publish)
	return m
}
