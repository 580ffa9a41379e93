package lifecycle

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
)

// Deps are what every service gets from the process that runs it: where it
// logs, the tracer provider its spans come from, and the registry its
// metrics join. A service keeps them for its lifetime; they are safe for
// concurrent use.
type Deps struct {
	Log      *slog.Logger
	Tracer   trace.TracerProvider
	Registry prometheus.Registerer
}
