package c7fold

import "github.com/prometheus/client_golang/prometheus"

// metrics are the fold's metrics; registered once, in New. Safe for
// concurrent use.
type metrics struct {
	entities  *prometheus.CounterVec // by kind and result: folded, ignored, dead_lettered
	documents *prometheus.CounterVec // by family
	messages  prometheus.Counter
	states    prometheus.Counter
	errors    prometheus.Counter // failed rounds (lease.RunnerConfig.Errors)
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		entities: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowline_c7_fold_entities_total",
			Help: "Camunda 7 entities folded, by kind and result: folded, ignored (of no process instance, or a variable of a type not imported), dead_lettered (does not decode).",
		}, []string{"kind", "result"}),
		documents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowline_c7_fold_documents_total", Help: "Documents published from Camunda 7 pages, by family.",
		}, []string{"family"}),
		messages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flowline_c7_fold_messages_total", Help: "Page messages folded and acked.",
		}),
		states: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flowline_c7_fold_state_writes_total", Help: "Instance states stored in the state bucket.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flowline_c7_fold_errors_total", Help: "Fold rounds that failed: their pages are folded again after a backoff.",
		}),
	}
	reg.MustRegister(m.entities, m.documents, m.messages, m.states, m.errors)
	return m
}
