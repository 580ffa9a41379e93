package writer

import "github.com/prometheus/client_golang/prometheus"

// metrics of one writer; registered once in New.
type metrics struct {
	bulkRequests prometheus.Counter
	bulkBytes    prometheus.Counter
	bulkSeconds  prometheus.Histogram
	items        *prometheus.CounterVec // by outcome
	retries      prometheus.Counter
	deadLetters  prometheus.Counter
	inFlight     prometheus.Gauge
	lag          *prometheus.HistogramVec // by partition
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		bulkRequests: prometheus.NewCounter(prometheus.CounterOpts{Name: "flowline_writer_bulk_requests_total", Help: "Bulk requests sent."}),
		bulkBytes:    prometheus.NewCounter(prometheus.CounterOpts{Name: "flowline_writer_bulk_bytes_total", Help: "Bytes of bulk request bodies sent."}),
		bulkSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "flowline_writer_bulk_seconds", Help: "Bulk request latency.", Buckets: prometheus.ExponentialBuckets(0.002, 2, 14),
		}),
		items:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowline_writer_items_total", Help: "Bulk items by outcome (done, stale, retry, rejected)."}, []string{"outcome"}),
		retries:     prometheus.NewCounter(prometheus.CounterOpts{Name: "flowline_writer_retries_total", Help: "Bulk requests retried after a backoff."}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{Name: "flowline_writer_dead_letters_total", Help: "Documents or messages dead-lettered."}),
		inFlight:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "flowline_writer_in_flight_bytes", Help: "Bytes of document messages being written."}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "flowline_writer_lag_seconds", Help: "Record timestamp to indexed, per partition (\"c7\": documents of Camunda 7 sources, from the newest entity's timestamp).",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}, []string{"partition"}),
	}
	reg.MustRegister(m.bulkRequests, m.bulkBytes, m.bulkSeconds, m.items, m.retries, m.deadLetters, m.inFlight, m.lag)
	return m
}
