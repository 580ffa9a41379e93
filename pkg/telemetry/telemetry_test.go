package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowline/flowline/pkg/config"
)

func TestLogsCarryTraceIDsAndHeadersCarryContext(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "op")
	defer span.End()

	var buf bytes.Buffer
	NewLogger(&buf, slog.LevelInfo).With("service", "x").InfoContext(ctx, "hello", "took", 1500*time.Millisecond, "ttl", config.Duration(10*time.Second))
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	want := span.SpanContext().TraceID().String()
	if line["took"] != "1.5s" || line["ttl"] != "10s" {
		t.Errorf("durations logged as %v and %v, want 1.5s and 10s", line["took"], line["ttl"])
	}
	if line["trace_id"] != want || line["span_id"] != span.SpanContext().SpanID().String() || line["service"] != "x" {
		t.Errorf("log line %v lacks trace %s", line, want)
	}

	h := nats.Header{}
	Inject(ctx, h)
	if h.Get("traceparent") == "" {
		t.Fatal("no traceparent header")
	}
	got := trace.SpanContextFromContext(Extract(context.Background(), h))
	if got.TraceID().String() != want || !got.IsRemote() {
		t.Errorf("extracted %v, want trace %s", got, want)
	}
	if sc := trace.SpanContextFromContext(Extract(context.Background(), nil)); sc.IsValid() {
		t.Error("nil headers must yield no span context")
	}
}
