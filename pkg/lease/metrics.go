package lease

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Lease metrics, read from the Runner at every scrape. The service label
// tells apart the leased services that share a process (the aggregator
// and the Camunda 7 fold; every service in `flowline dev`).
var (
	partitionsOwnedDesc = func(service string) *prometheus.Desc {
		return prometheus.NewDesc("flowline_lease_partitions_owned",
			"Partitions this replica may act for now (lease held and not past its fencing deadline).",
			nil, prometheus.Labels{"service": service})
	}
	partitionsDesc = func(service string) *prometheus.Desc {
		return prometheus.NewDesc("flowline_lease_partitions",
			"Partitions the service's replicas share, as this replica last discovered them: more than the sum of flowline_lease_partitions_owned over the replicas means a partition has no owner.",
			nil, prometheus.Labels{"service": service})
	}
	partitionOwnedDesc = func(service string) *prometheus.Desc {
		return prometheus.NewDesc("flowline_lease_partition_owned",
			"1 for each partition this replica may act for now (lease held and not past its fencing deadline).",
			[]string{"partition"}, prometheus.Labels{"service": service})
	}
)

// collector reports a Runner's leases; see RunnerConfig.Registry.
type collector struct {
	r                  *Runner
	count, each, total *prometheus.Desc
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.count
	ch <- c.each
	ch <- c.total
}

// Collect reports the partitions the replica holds (Runner.Holds) at the
// moment of the scrape: a paused process that wakes past its deadline
// reports none, so that a scrape never shows two replicas owning one
// partition unless both may act for it.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	held := 0
	for _, p := range c.r.Owned() {
		if c.r.Holds(p) {
			held++
			ch <- prometheus.MustNewConstMetric(c.each, prometheus.GaugeValue, 1, strconv.Itoa(int(p)))
		}
	}
	ch <- prometheus.MustNewConstMetric(c.count, prometheus.GaugeValue, float64(held))
	if n := c.r.Partitions(); n > 0 {
		ch <- prometheus.MustNewConstMetric(c.total, prometheus.GaugeValue, float64(n))
	}
}
