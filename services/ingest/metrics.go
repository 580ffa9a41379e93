package ingest

import "github.com/prometheus/client_golang/prometheus"

// metrics of one ingest service; registered once in New.
type metrics struct {
	records  *prometheus.CounterVec   // by result: accepted, duplicate, dropped, invalid
	requests *prometheus.CounterVec   // by HTTP status code
	duration *prometheus.HistogramVec // by HTTP status code
	errors   prometheus.Counter       // requests answered 5xx
	publish  prometheus.Histogram
	inflight prometheus.Gauge // bytes held by the requests in flight
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowline_ingest_records_total", Help: "Records received, by result.",
		}, []string{"result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowline_ingest_requests_total", Help: "Push API requests, by HTTP status.",
		}, []string{"code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "flowline_ingest_request_duration_seconds", Help: "Push API request duration, body read to answer written, by HTTP status.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"code"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flowline_ingest_errors_total", Help: "Push API requests that failed on Flowline's side (answered 5xx: the broker did not store them); clients retry them.",
		}),
		publish: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "flowline_ingest_publish_seconds", Help: "Time to store one JetStream message.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "flowline_ingest_inflight_bytes", Help: "Bytes of request bodies and encoded records held by the requests in flight (limit FLOWLINE_INGEST_MAX_INFLIGHT_BYTES).",
		}),
	}
	reg.MustRegister(m.records, m.requests, m.duration, m.errors, m.publish, m.inflight)
	for _, result := range []string{"accepted", "duplicate", "dropped", "invalid"} { // from the start, at 0
		m.records.WithLabelValues(result)
	}
	return m
}
