package ingest

import (
	"fmt"

	"github.com/flowline/flowline/pkg/config"
)

// Config is the ingest service's configuration (FLOWLINE_INGEST_*,
// FLOWLINE_ZEEBE_IMPORT_*, plus the shared NATS and stream sections).
type Config struct {
	Addr         string `envconfig:"INGEST_ADDR" default:"127.0.0.1:8080" desc:"address of the record push API"`
	Token        string `envconfig:"INGEST_TOKEN" desc:"when set, requests need Authorization: Bearer <token>"`
	TLSCert      string `envconfig:"INGEST_TLS_CERT" desc:"certificate file; with INGEST_TLS_KEY the API serves HTTPS"`
	TLSKey       string `envconfig:"INGEST_TLS_KEY" desc:"key file for INGEST_TLS_CERT"`
	MaxBodyBytes int64  `envconfig:"INGEST_MAX_BODY_BYTES" default:"67108864" desc:"largest accepted request body (after gzip decoding), else 413"`
	MaxRecords   int    `envconfig:"INGEST_MAX_RECORDS" default:"200000" desc:"most records per request, else 413"`
	EventsOnly   bool   `envconfig:"INGEST_EVENTS_ONLY" default:"true" desc:"count and drop records whose recordType is not EVENT"`
	BatchRecords int    `envconfig:"INGEST_BATCH_RECORDS" default:"1000" desc:"most records of one partition per JetStream message"`
	BatchBytes   int    `envconfig:"INGEST_BATCH_BYTES" default:"786432" desc:"most encoded bytes per JetStream message (keep under the server's max_payload)"`

	// ZeebeImport, when its URL is set, also imports the Zeebe
	// Elasticsearch exporter's indices (see zeebeimport.go).
	ZeebeImport ZeebeImport `envconfig:"ZEEBE_IMPORT"`

	NATS    config.NATS    `envconfig:"NATS"`
	Streams config.Streams `envconfig:"STREAM"`
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	if c.MaxBodyBytes <= 0 || c.MaxRecords <= 0 || c.BatchRecords <= 0 || c.BatchBytes <= 1024 {
		return fmt.Errorf("%w: FLOWLINE_INGEST_MAX_BODY_BYTES, _MAX_RECORDS, _BATCH_RECORDS must be positive and _BATCH_BYTES above 1024", config.ErrInvalid)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("%w: FLOWLINE_INGEST_TLS_CERT and FLOWLINE_INGEST_TLS_KEY go together", config.ErrInvalid)
	}
	return config.ValidateAll(c.NATS, c.Streams, c.ZeebeImport)
}
