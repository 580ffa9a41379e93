package archiver_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/services/archiver"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestReadyOnceConnected(t *testing.T) {
	ns := testenv.NATS(t)
	_, esCfg := testenv.Elasticsearch(t)
	s := archiver.New(archiver.Config{NATS: testenv.NATSConfig(ns), ES: esCfg, Index: config.Index{Prefix: "flowline", Shards: 1}},
		archiver.Deps{Log: testenv.Logger(t), Tracer: noop.NewTracerProvider(), Registry: prometheus.NewRegistry()})
	if s.Ready() == nil {
		t.Fatal("ready before running")
	}
	stop := testenv.Run(t, s) // fails the test unless Ready turns nil
	stop()
}
