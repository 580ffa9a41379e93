package ingest

import (
	"fmt"
	"time"

	"github.com/flowline/flowline/pkg/config"
)

// Config is the ingest service's configuration (FLOWLINE_INGEST_*, plus the
// shared record-store, NATS and stream sections). `flowline ingest` also
// runs the Zeebe import in the same process when FLOWLINE_ZEEBE_IMPORT_URL
// is set (services/zeebeimport, wired by cmd/flowline).
type Config struct {
	Addr         string       `envconfig:"INGEST_ADDR" default:"127.0.0.1:8080" desc:"address of the record push API"`
	TLSCert      string       `envconfig:"INGEST_TLS_CERT" desc:"certificate file; with INGEST_TLS_KEY the API serves HTTPS"`
	TLSKey       string       `envconfig:"INGEST_TLS_KEY" desc:"key file for INGEST_TLS_CERT"`
	MaxBodyBytes config.Bytes `envconfig:"INGEST_MAX_BODY_BYTES" default:"64MiB" desc:"largest accepted request body (after gzip decoding), else 413"`
	MaxRecords   int          `envconfig:"INGEST_MAX_RECORDS" default:"200000" desc:"most records per request, else 413"`
	// MaxInflightBytes bounds the memory of the requests being handled at
	// once: their bodies (as read, gzip inflation included) and their
	// encoded records. At least twice MaxBodyBytes, so that one largest
	// request always fits.
	MaxInflightBytes config.Bytes    `envconfig:"INGEST_MAX_INFLIGHT_BYTES" default:"256MiB" desc:"most bytes of request bodies and their encoded records held at once over all requests (at least twice INGEST_MAX_BODY_BYTES); beyond it 429 with Retry-After"`
	ReadTimeout      config.Duration `envconfig:"INGEST_READ_TIMEOUT" default:"1m" desc:"longest time to read a whole request, body included (a slower client gets 408)"`
	WriteTimeout     config.Duration `envconfig:"INGEST_WRITE_TIMEOUT" default:"3m" desc:"longest time from a request's headers to the end of its answer; storing gives up in time to answer 503 (retry)"`
	IdleTimeout      config.Duration `envconfig:"INGEST_IDLE_TIMEOUT" default:"2m" desc:"how long an idle keep-alive connection stays open"`

	config.IngestToken
	config.RecordStore

	NATS    config.NATS    `envconfig:"NATS"`
	Streams config.Streams `envconfig:"STREAM"`
}

// Defaults of the bounds for a Config built in Go that leaves them zero
// (Load fills them from the tags).
const (
	defaultReadTimeout  = time.Minute
	defaultWriteTimeout = 3 * time.Minute
	defaultIdleTimeout  = 2 * time.Minute
	// minStoreTime is the least time WriteTimeout leaves for storing a
	// request after ReadTimeout.
	minStoreTime = time.Second
)

// Validate implements config.Validator.
func (c Config) Validate() error {
	if c.MaxBodyBytes <= 0 || c.MaxRecords <= 0 {
		return fmt.Errorf("%w: FLOWLINE_INGEST_MAX_BODY_BYTES and _MAX_RECORDS must be positive", config.ErrInvalid)
	}
	if c.MaxInflightBytes < 0 || c.ReadTimeout < 0 || c.WriteTimeout < 0 || c.IdleTimeout < 0 {
		return fmt.Errorf("%w: FLOWLINE_INGEST_MAX_INFLIGHT_BYTES, _READ_TIMEOUT, _WRITE_TIMEOUT and _IDLE_TIMEOUT must not be negative", config.ErrInvalid)
	}
	if c.inflightLimit() < 2*int64(c.MaxBodyBytes) {
		return fmt.Errorf("%w: FLOWLINE_INGEST_MAX_INFLIGHT_BYTES (%d) must be at least twice FLOWLINE_INGEST_MAX_BODY_BYTES (%d), so that one largest request fits",
			config.ErrInvalid, c.inflightLimit(), c.MaxBodyBytes)
	}
	if read, write := c.timeouts(); write < read+minStoreTime {
		return fmt.Errorf("%w: FLOWLINE_INGEST_WRITE_TIMEOUT (%s) must be at least %s longer than _READ_TIMEOUT (%s)", config.ErrInvalid, write, minStoreTime, read)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("%w: FLOWLINE_INGEST_TLS_CERT and FLOWLINE_INGEST_TLS_KEY go together", config.ErrInvalid)
	}
	return config.ValidateAll(c.IngestToken, c.RecordStore, c.NATS, c.Streams)
}

// inflightLimit is MaxInflightBytes, or its default when zero.
func (c Config) inflightLimit() int64 {
	if c.MaxInflightBytes == 0 {
		return int64(max(256<<20, 2*c.MaxBodyBytes))
	}
	return int64(c.MaxInflightBytes)
}

// timeouts are ReadTimeout and WriteTimeout, or their defaults when zero.
func (c Config) timeouts() (read, write time.Duration) {
	read, write = c.ReadTimeout.D(), c.WriteTimeout.D()
	if read == 0 {
		read = defaultReadTimeout
	}
	if write == 0 {
		write = max(defaultWriteTimeout, read+minStoreTime)
	}
	return read, write
}

// idleTimeout is IdleTimeout, or its default when zero.
func (c Config) idleTimeout() time.Duration {
	if c.IdleTimeout == 0 {
		return defaultIdleTimeout
	}
	return c.IdleTimeout.D()
}
