package archiver

import "github.com/prometheus/client_golang/prometheus"

// metrics of one archiver; registered once in New.
type metrics struct {
	instances      prometheus.Counter
	documents      *prometheus.CounterVec // by family
	batchSeconds   prometheus.Histogram
	backlog        *prometheus.GaugeVec // by partition
	errors         prometheus.Counter
	indicesDeleted prometheus.Counter
	swept          prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		instances: prometheus.NewCounter(prometheus.CounterOpts{Name: "flowline_archiver_instances_total", Help: "Process instances archived (moved with all their documents)."}),
		documents: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowline_archiver_documents_total", Help: "Documents moved from runtime to dated indices, by family."}, []string{"family"}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "flowline_archiver_batch_seconds", Help: "Duration of archiving batches.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}),
		backlog:        prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "flowline_archiver_backlog", Help: "Process instances that ended longer than the wait period ago and are still in the runtime index, per partition."}, []string{"partition"}),
		errors:         prometheus.NewCounter(prometheus.CounterOpts{Name: "flowline_archiver_errors_total", Help: "Archiving batches that failed (they are redone) and documents Elasticsearch refused to archive."}),
		indicesDeleted: prometheus.NewCounter(prometheus.CounterOpts{Name: "flowline_archiver_retention_deleted_indices_total", Help: "Dated indices deleted after FLOWLINE_RETENTION."}),
		swept: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flowline_archiver_swept_instances_total",
			Help: "Already archived process instances whose runtime documents, recreated by late documents, the sweep moved to the archive.",
		}),
	}
	reg.MustRegister(m.instances, m.documents, m.batchSeconds, m.backlog, m.errors, m.indicesDeleted, m.swept)
	return m
}
