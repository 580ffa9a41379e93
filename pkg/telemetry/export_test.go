package telemetry

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/flowline/flowline/pkg/buildinfo"
	"github.com/flowline/flowline/pkg/config"
)

// traceSink is a stand-in OTLP receiver of a unit test: it keeps the
// resource spans it is sent, over gRPC or HTTP.
type traceSink struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []*tracepb.ResourceSpans
}

func (s *traceSink) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spans = append(s.spans, req.GetResourceSpans()...)
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// received returns the span names and the resource attributes sent.
func (s *traceSink) received() ([]string, map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	attrs := map[string]string{}
	for _, rs := range s.spans {
		for _, kv := range rs.GetResource().GetAttributes() {
			attrs[kv.GetKey()] = kv.GetValue().GetStringValue()
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				names = append(names, sp.GetName())
			}
		}
	}
	return names, attrs
}

// TestSpansAreExportedOverGRPCAndHTTP: with an endpoint set, spans reach
// an OTLP receiver over the protocol OTEL_EXPORTER_OTLP_PROTOCOL names,
// with a resource naming the service, its version and its instance;
// OTEL_RESOURCE_ATTRIBUTES adds to it.
func TestSpansAreExportedOverGRPCAndHTTP(t *testing.T) {
	for _, protocol := range []string{config.OTLPGRPC, config.OTLPHTTP} {
		t.Run(protocol, func(t *testing.T) {
			sink := &traceSink{}
			var endpoint string
			if protocol == config.OTLPGRPC {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				srv := grpc.NewServer()
				collectortrace.RegisterTraceServiceServer(srv, sink)
				go srv.Serve(ln)
				t.Cleanup(srv.Stop)
				endpoint = "http://" + ln.Addr().String()
			} else {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					body, _ := io.ReadAll(r.Body)
					var req collectortrace.ExportTraceServiceRequest
					if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
						http.Error(w, "bad request", http.StatusBadRequest)
						return
					}
					_, _ = sink.Export(r.Context(), &req)
					w.Header().Set("Content-Type", "application/x-protobuf")
					b, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
					_, _ = w.Write(b)
				}))
				t.Cleanup(srv.Close)
				endpoint = srv.URL
			}
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
			t.Setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
			t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
			cfg, err := config.LoadTelemetry()
			if err != nil {
				t.Fatal(err)
			}
			tp, err := NewTracerProvider(context.Background(), cfg, "flowline-writer", "host-42")
			if err != nil {
				t.Fatal(err)
			}
			_, span := tp.Tracer("t").Start(context.Background(), "bulk")
			span.End()
			if err := tp.Shutdown(context.Background()); err != nil { // flushes
				t.Fatal(err)
			}
			names, attrs := sink.received()
			if len(names) != 1 || names[0] != "bulk" {
				t.Fatalf("spans received %v, want [bulk]", names)
			}
			for k, want := range map[string]string{"service.name": "flowline-writer", "service.version": buildinfo.Get().Version,
				"service.instance.id": "host-42", "deployment.environment": "test"} {
				if attrs[k] != want {
					t.Errorf("resource %s = %q, want %q (all: %v)", k, attrs[k], want, attrs)
				}
			}
		})
	}
}

// TestTelemetryConfig: the traces' own protocol variable wins over the
// general one; an unknown protocol is refused; no endpoint, no export.
func TestTelemetryConfig(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")
	c, err := config.LoadTelemetry()
	if err != nil || c.Protocol != config.OTLPHTTP || c.Exporting() {
		t.Errorf("loaded %+v, %v", c, err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json")
	if _, err := config.LoadTelemetry(); err != nil {
		t.Errorf("http/json refused although nothing is exported: %v", err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
	if _, err := config.LoadTelemetry(); err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") {
		t.Errorf("http/json with an endpoint: %v, want an error naming OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", err)
	}
	// A malformed resource attribute costs the entry, not the service.
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "")
	c, err = config.LoadTelemetry()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewTracerProvider(context.Background(), c, "flowline-x", "i"); err != nil {
		t.Errorf("a trailing comma in OTEL_RESOURCE_ATTRIBUTES stops the service: %v", err)
	}
}
