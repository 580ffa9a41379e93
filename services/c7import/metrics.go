package c7import

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Camunda 7 import's metrics, all by kind; registered once,
// in New. Safe for concurrent use.
type metrics struct {
	fetchedEntities *prometheus.CounterVec // returned by the engine
	storedEntities  *prometheus.CounterVec // stored on the C7 stream, index moved past them
	pages           *prometheus.CounterVec // stored page messages
	deadLetters     *prometheus.CounterVec
	indexTime       *prometheus.GaugeVec // the stored index's timestamp
	cutAtHorizon    *prometheus.CounterVec
	errors          prometheus.Counter // failed rounds (lease.RunnerConfig.Errors)
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		fetchedEntities: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowline_c7_import_fetched_entities_total", Help: "Entities the Camunda 7 engine returned, by kind (entities at the index's timestamp fetched again count again).",
		}, []string{"kind"}),
		storedEntities: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowline_c7_import_stored_entities_total", Help: "Entities stored on the FLOWLINE_C7 stream with the import index moved past them, by kind.",
		}, []string{"kind"}),
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowline_c7_import_page_messages_total", Help: "Page messages stored on the FLOWLINE_C7 stream, by kind.",
		}, []string{"kind"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowline_c7_import_dead_letters_total", Help: "Entities without an id or timestamp, dead-lettered to flowline.dlq.c7-import, by kind.",
		}, []string{"kind"}),
		indexTime: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flowline_c7_import_index_timestamp_seconds", Help: "Timestamp of the newest entity stored, by kind (Unix seconds): time() minus it is the import's lag while entities are waiting.",
		}, []string{"kind"}),
		cutAtHorizon: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowline_c7_import_settle_cuts_total", Help: "Pages cut short because their newer entities were younger than FLOWLINE_C7_SETTLE, by kind.",
		}, []string{"kind"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flowline_c7_import_errors_total", Help: "Import rounds that failed (the engine or the broker): redone after a backoff.",
		}),
	}
	reg.MustRegister(m.fetchedEntities, m.storedEntities, m.pages, m.deadLetters, m.indexTime, m.cutAtHorizon, m.errors)
	return m
}

// fetched counts a page of n entities the engine returned; cut says the
// settle horizon cut it.
func (m *metrics) fetched(kind string, n int, cut bool) {
	m.fetchedEntities.WithLabelValues(kind).Add(float64(n))
	if cut {
		m.cutAtHorizon.WithLabelValues(kind).Inc()
	}
}

// stored counts a run of jobs whose index was stored.
func (m *metrics) stored(kind string, run []*job) {
	for _, j := range run {
		m.storedEntities.WithLabelValues(kind).Add(float64(j.entities))
		m.pages.WithLabelValues(kind).Add(float64(len(j.msgs)))
	}
	if t := run[len(run)-1].next.Time; t >= 0 {
		m.indexTime.WithLabelValues(kind).Set(float64(t) / float64(time.Second/time.Millisecond))
	}
}
