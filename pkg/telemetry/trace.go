package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/flowline/flowline/pkg/buildinfo"
	"github.com/flowline/flowline/pkg/config"
)

// NewTracerProvider returns a tracer provider whose resource names the
// service (service.name, service.version from pkg/buildinfo,
// service.instance.id), overridden by OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES. When cfg exports, spans are batched and
// exported over OTLP, gRPC or HTTP by cfg.Protocol (the exporter reads
// the other OTEL_EXPORTER_OTLP_* variables itself). The caller owns the
// provider and must call Shutdown to flush it.
func NewTracerProvider(ctx context.Context, cfg config.Telemetry, serviceName, instanceID string) (*sdktrace.TracerProvider, error) {
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(
			semconv.ServiceName(serviceName),
			semconv.ServiceVersion(buildinfo.Get().Version),
			semconv.ServiceInstanceID(instanceID),
		),
		resource.WithFromEnv(), // last: the operator's word wins
	)
	if errors.Is(err, resource.ErrPartialResource) {
		// A malformed OTEL_RESOURCE_ATTRIBUTES entry (a trailing comma, a
		// key without =) costs that entry, not the service.
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if cfg.Exporting() {
		var exp sdktrace.SpanExporter
		if cfg.Protocol == config.OTLPGRPC {
			exp, err = otlptracegrpc.New(ctx)
		} else {
			exp, err = otlptracehttp.New(ctx)
		}
		if err != nil {
			return nil, fmt.Errorf("telemetry: OTLP trace exporter (%s): %w", cfg.Protocol, err)
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
