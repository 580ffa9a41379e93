package writer

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowline/flowline/pkg/search"
	"github.com/flowline/flowline/pkg/stream"
)

// metrics of one writer; registered once in New.
type metrics struct {
	bulkRequests prometheus.Counter
	bulkBytes    prometheus.Counter
	bulkSeconds  prometheus.Histogram
	items        *prometheus.CounterVec // by outcome
	retries      prometheus.Counter
	errors       prometheus.Counter     // what made a retry: a failed bulk round, a dead letter not stored
	deadLetters  *prometheus.CounterVec // by reason: a stream.Class* name
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
		items:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowline_writer_items_total", Help: "Bulk items by outcome (done, stale, retry, rejected)."}, []string{"outcome"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "flowline_writer_retries_total", Help: "Bulk requests retried after a backoff."}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flowline_writer_errors_total", Help: "Failures that are retried: bulk rounds (the request failed, or items were answered 429, 5xx or a cluster-side 403/404) and dead letters the broker did not store.",
		}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowline_writer_dead_letters_total", Help: "Documents or messages dead-lettered, by reason (rejected, unknown_family, undecodable, body_missing).",
		}, []string{"reason"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "flowline_writer_in_flight_bytes", Help: "Bytes of document messages being written."}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "flowline_writer_lag_seconds", Help: "Record timestamp to indexed, per partition (\"c7\": documents of Camunda 7 sources, from the newest entity's timestamp).",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}, []string{"partition"}),
	}
	reg.MustRegister(m.bulkRequests, m.bulkBytes, m.bulkSeconds, m.items, m.retries, m.deadLetters, m.inFlight, m.lag, m.errors)
	// Every label a dashboard or an alert selects exists from the start,
	// at 0, so that rates are defined before the first event.
	for o := search.Done; o <= search.Rejected; o++ {
		m.items.WithLabelValues(o.String())
	}
	for _, class := range []string{stream.ClassRejected, stream.ClassUnknownFamily, stream.ClassUndecodable, stream.ClassBodyMissing} {
		m.deadLetters.WithLabelValues(class)
	}
	return m
}
