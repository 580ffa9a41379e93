package ingest

import (
	"fmt"

	"github.com/flowline/flowline/pkg/config"
)

// Config is the ingest service's configuration (FLOWLINE_INGEST_*, plus the
// shared record-store, NATS and stream sections). `flowline ingest` also
// runs the Zeebe import in the same process when FLOWLINE_ZEEBE_IMPORT_URL
// is set (services/zeebeimport, wired by cmd/flowline).
type Config struct {
	Addr         string `envconfig:"INGEST_ADDR" default:"127.0.0.1:8080" desc:"address of the record push API"`
	Token        string `envconfig:"INGEST_TOKEN" desc:"when set, requests need Authorization: Bearer <token>"`
	TLSCert      string `envconfig:"INGEST_TLS_CERT" desc:"certificate file; with INGEST_TLS_KEY the API serves HTTPS"`
	TLSKey       string `envconfig:"INGEST_TLS_KEY" desc:"key file for INGEST_TLS_CERT"`
	MaxBodyBytes int64  `envconfig:"INGEST_MAX_BODY_BYTES" default:"67108864" desc:"largest accepted request body (after gzip decoding), else 413"`
	MaxRecords   int    `envconfig:"INGEST_MAX_RECORDS" default:"200000" desc:"most records per request, else 413"`

	config.RecordStore

	NATS    config.NATS    `envconfig:"NATS"`
	Streams config.Streams `envconfig:"STREAM"`
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	if c.MaxBodyBytes <= 0 || c.MaxRecords <= 0 {
		return fmt.Errorf("%w: FLOWLINE_INGEST_MAX_BODY_BYTES and _MAX_RECORDS must be positive", config.ErrInvalid)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("%w: FLOWLINE_INGEST_TLS_CERT and FLOWLINE_INGEST_TLS_KEY go together", config.ErrInvalid)
	}
	return config.ValidateAll(c.RecordStore, c.NATS, c.Streams)
}
