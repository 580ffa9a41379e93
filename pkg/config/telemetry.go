package config

import (
	"fmt"
	"os"
)

// Telemetry is where traces are exported: the OpenTelemetry SDK's own
// variables (not FLOWLINE_ ones, so that a collector configured for every
// application applies to Flowline too), read here like every other
// variable. Without an endpoint spans are still created (trace ids link
// logs and hops) but not exported.
type Telemetry struct {
	Endpoint       string // OTEL_EXPORTER_OTLP_ENDPOINT
	TracesEndpoint string // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
	// Protocol is OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else
	// OTEL_EXPORTER_OTLP_PROTOCOL: grpc or http/protobuf (the default).
	Protocol string
}

// The OTLP protocols the exporter speaks.
const (
	OTLPGRPC = "grpc"
	OTLPHTTP = "http/protobuf"
)

// TelemetryVariables are the variables LoadTelemetry reads, for --help;
// the exporters read the other OTEL_EXPORTER_OTLP_* variables (headers,
// certificates, timeouts, compression) themselves, and the resource
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
var TelemetryVariables = [][2]string{
	{"OTEL_EXPORTER_OTLP_ENDPOINT", "where spans are exported (OTLP); unset: not exported"},
	{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "the same, for traces only"},
	{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc or http/protobuf (default)"},
	{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "the same, for traces only"},
	{"OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES", "override the resource (service.name flowline-<command>, service.version, service.instance.id)"},
}

// LoadTelemetry reads the OTLP variables and validates the protocol.
func LoadTelemetry() (Telemetry, error) {
	t := Telemetry{
		Endpoint:       os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"),
		TracesEndpoint: os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
	}
	from := "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	if t.Protocol = os.Getenv(from); t.Protocol == "" {
		from = "OTEL_EXPORTER_OTLP_PROTOCOL"
		t.Protocol = os.Getenv(from)
	}
	if t.Protocol == "" {
		t.Protocol = OTLPHTTP
	}
	// A protocol Flowline does not speak matters only when spans are
	// exported.
	if t.Exporting() && t.Protocol != OTLPGRPC && t.Protocol != OTLPHTTP {
		return t, fmt.Errorf("%w: %s=%q: want grpc or http/protobuf (the Go exporters do not speak http/json)", ErrInvalid, from, t.Protocol)
	}
	return t, nil
}

// Exporting says whether spans are exported.
func (t Telemetry) Exporting() bool { return t.Endpoint != "" || t.TracesEndpoint != "" }
