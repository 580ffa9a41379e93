package writer

import (
	"fmt"
	"time"

	"github.com/flowline/flowline/pkg/config"
)

// Config is the writer's configuration (FLOWLINE_WRITER_*, plus the shared
// NATS, stream, Elasticsearch and index sections).
type Config struct {
	Consumer         string          `envconfig:"WRITER_CONSUMER" default:"writer" desc:"durable consumer shared by all writer replicas"`
	Workers          int             `envconfig:"WRITER_WORKERS" default:"3" desc:"bulk requests in flight per replica"`
	FetchMessages    int             `envconfig:"WRITER_FETCH_MESSAGES" default:"1000" desc:"most document messages fetched at once"`
	FetchMaxBytes    config.Bytes    `envconfig:"WRITER_FETCH_MAX_BYTES" default:"8MiB" desc:"about how many bytes of document messages one fetch takes: it asks for this over the mean message size seen so far (at least the stream's largest message)"`
	MaxInFlightBytes config.Bytes    `envconfig:"WRITER_MAX_IN_FLIGHT_BYTES" default:"32MiB" desc:"most bytes of fetched document messages not yet acked (at least two fetches); the writer's memory is about three times this"`
	BulkMaxDocs      int             `envconfig:"WRITER_BULK_MAX_DOCS" default:"10000" desc:"most documents per bulk request"`
	BulkMaxBytes     config.Bytes    `envconfig:"WRITER_BULK_MAX_BYTES" default:"8MiB" desc:"most bytes per bulk request body (a larger document goes alone)"`
	FlushInterval    config.Duration `envconfig:"WRITER_FLUSH_INTERVAL" default:"200ms" desc:"longest wait to fill a fetch before writing what arrived"`
	AckWait          config.Duration `envconfig:"WRITER_ACK_WAIT" default:"15s" desc:"redelivery timeout: how long a message delivered to a writer that died, or lost on a broken NATS connection, waits before another writer gets it; messages being written are kept alive with in-progress acks every third of it"`

	config.SchemaMode                // FLOWLINE_SCHEMA
	NATS              config.NATS    `envconfig:"NATS"`
	Streams           config.Streams `envconfig:"STREAM"`
	config.Search                    // FLOWLINE_SEARCH_ENGINE, FLOWLINE_ES_*
	Index             config.Index   `envconfig:"INDEX"`
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	if c.Consumer == "" || c.Workers <= 0 || c.FetchMessages <= 0 || c.FetchMaxBytes < 0 || c.MaxInFlightBytes < 0 || c.BulkMaxDocs <= 0 || c.BulkMaxBytes <= 0 || c.FlushInterval <= 0 {
		return fmt.Errorf("%w: FLOWLINE_WRITER_* sizes and intervals must be positive (FETCH_MAX_BYTES and MAX_IN_FLIGHT_BYTES may be 0: their least)", config.ErrInvalid)
	}
	if c.AckWait.D() < 5*time.Second {
		return fmt.Errorf("%w: FLOWLINE_WRITER_ACK_WAIT must be at least 5s, got %s", config.ErrInvalid, c.AckWait)
	}
	return config.ValidateAll(c.NATS, c.Streams, c.SchemaMode, c.Search, c.Index.For(c.Schema))
}

// Resolve implements config.Resolver: the index prefix's default depends
// on the schema.
func (c *Config) Resolve() { c.Index.ApplySchema(c.Schema) }
