package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// NewTracerProvider returns a tracer provider for serviceName. When
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set,
// spans are batched and exported over OTLP/HTTP (the exporter reads the other
// OTEL_EXPORTER_OTLP_* variables itself). The caller owns the provider and
// must call Shutdown to flush it.
func NewTracerProvider(ctx context.Context, serviceName string) (*sdktrace.TracerProvider, error) {
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(serviceName))),
	}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("telemetry: OTLP trace exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	return sdktrace.NewTracerProvider(opts...), nil
}

// propagator is W3C trace context; stateless, safe for concurrent use.
var propagator = propagation.TraceContext{}

// Inject writes the span context of ctx into NATS message headers h, under
// the W3C names as written (traceparent, tracestate).
func Inject(ctx context.Context, h nats.Header) {
	propagator.Inject(ctx, natsCarrier(h))
}

// Extract returns ctx with the remote span context found in headers h.
func Extract(ctx context.Context, h nats.Header) context.Context {
	if h == nil {
		return ctx
	}
	return propagator.Extract(ctx, natsCarrier(h))
}

// natsCarrier adapts NATS headers, whose keys are case-sensitive, to the
// propagator; it also reads keys other tools wrote in canonical HTTP form.
type natsCarrier nats.Header

func (c natsCarrier) Get(key string) string {
	if v := nats.Header(c).Get(key); v != "" {
		return v
	}
	return nats.Header(c).Get(http.CanonicalHeaderKey(key))
}

func (c natsCarrier) Set(key, value string) { nats.Header(c).Set(key, value) }

func (c natsCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// HTTPPropagator is the propagator for HTTP requests (W3C trace context).
func HTTPPropagator() propagation.TextMapPropagator { return propagator }

// Noop is a tracer that records nothing, for tests and tools.
func Noop() trace.Tracer { return noop.NewTracerProvider().Tracer("noop") }
