package testenv

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/flowline/flowline/pkg/lifecycle"
)

// Deps are a service's process collaborators in a test: logging to the
// test log, no tracing, and a registry of its own (so several services of
// one test never collide on a metric).
func Deps(t testing.TB) lifecycle.Deps { return DepsOn(t, prometheus.NewRegistry()) }

// DepsOn is Deps with metrics in reg, for tests that read them (Metric).
func DepsOn(t testing.TB, reg prometheus.Registerer) lifecycle.Deps {
	return lifecycle.Deps{Log: Logger(t), Tracer: noop.NewTracerProvider(), Registry: reg}
}
