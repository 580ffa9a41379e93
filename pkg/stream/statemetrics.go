package stream

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// DeadLetterServices are the services that dead-letter, each on
// flowline.dlq.<service> (the Zeebe import as ingest).
var DeadLetterServices = []string{"ingest", "aggregator", "writer", "c7-import", "c7-fold"}

// StateCollector reports Flowline's JetStream streams and their consumers
// as metrics, read from the broker at each scrape: how many messages each
// stream holds, how many each consumer has yet to deliver or to see
// acknowledged, and how many dead letters each service left. It is how a
// dashboard shows stream and consumer state, and how alerts see a lag
// grow, without an exporter of NATS's own. Registered by ingest; Bind
// gives it the connection once there is one (it reports nothing before).
// Safe for concurrent use.
type StateCollector struct {
	js      atomic.Pointer[jetstream.JetStream]
	timeout time.Duration

	messages, bytes, pending, ackPending, redelivered, deadLetters, up *prometheus.Desc
}

// NewStateCollector returns a collector that bounds each scrape's reads by
// timeout.
func NewStateCollector(timeout time.Duration) *StateCollector {
	stream := []string{"stream"}
	consumer := []string{"stream", "consumer"}
	return &StateCollector{
		timeout:     timeout,
		messages:    prometheus.NewDesc("flowline_stream_messages", "Messages the stream holds.", stream, nil),
		bytes:       prometheus.NewDesc("flowline_stream_bytes", "Bytes the stream holds.", stream, nil),
		pending:     prometheus.NewDesc("flowline_consumer_pending_messages", "Messages the consumer has not delivered yet: its backlog.", consumer, nil),
		ackPending:  prometheus.NewDesc("flowline_consumer_ack_pending_messages", "Messages the consumer delivered that are not acknowledged yet.", consumer, nil),
		redelivered: prometheus.NewDesc("flowline_consumer_redelivered_messages", "Messages the consumer delivered more than once that are not acknowledged yet.", consumer, nil),
		deadLetters: prometheus.NewDesc("flowline_dead_letters", "Dead letters on the FLOWLINE_DLQ stream, by the service that left them (flowline.dlq.<service>).", []string{"service"}, nil),
		up:          prometheus.NewDesc("flowline_stream_state_up", "1 when the last scrape read the streams' state, 0 when the broker did not answer in time.", nil, nil),
	}
}

// Bind makes the collector read through js.
func (c *StateCollector) Bind(js jetstream.JetStream) { c.js.Store(&js) }

// Describe implements prometheus.Collector.
func (c *StateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.messages, c.bytes, c.pending, c.ackPending, c.redelivered, c.deadLetters, c.up} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *StateCollector) Collect(ch chan<- prometheus.Metric) {
	p := c.js.Load()
	if p == nil {
		return
	}
	js := *p
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	up := 1.0
	for _, name := range []string{RecordsStream, DocsStream, DLQStream, C7Stream} {
		var opts []jetstream.StreamInfoOpt
		if name == DLQStream {
			opts = append(opts, jetstream.WithSubjectFilter(dlqRoot+">"))
		}
		s, err := js.Stream(ctx, name)
		var info *jetstream.StreamInfo
		if err == nil {
			info = s.CachedInfo()
			if len(opts) > 0 {
				info, err = s.Info(ctx, opts...)
			}
		}
		if err != nil {
			if !errors.Is(err, jetstream.ErrStreamNotFound) { // the Camunda 7 stream, before any import
				up = 0
			}
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(info.State.Msgs), name)
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(info.State.Bytes), name)
		if name == DLQStream {
			counts := map[string]uint64{}
			for _, svc := range DeadLetterServices {
				counts[svc] = 0 // every service, at 0 while it has none
			}
			for subject, n := range info.State.Subjects {
				counts[strings.TrimPrefix(subject, dlqRoot)] = n
			}
			for svc, n := range counts {
				ch <- prometheus.MustNewConstMetric(c.deadLetters, prometheus.GaugeValue, float64(n), svc)
			}
		}
		consumers := s.ListConsumers(ctx)
		for ci := range consumers.Info() {
			ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(ci.NumPending), name, ci.Name)
			ch <- prometheus.MustNewConstMetric(c.ackPending, prometheus.GaugeValue, float64(ci.NumAckPending), name, ci.Name)
			ch <- prometheus.MustNewConstMetric(c.redelivered, prometheus.GaugeValue, float64(ci.NumRedelivered), name, ci.Name)
		}
		if consumers.Err() != nil {
			up = 0
		}
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
}
