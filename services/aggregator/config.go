package aggregator

import (
	"fmt"
	"time"

	"github.com/flowline/flowline/pkg/config"
)

// Config is the aggregator's configuration (FLOWLINE_AGGREGATOR_*, plus the
// shared lease, state bucket, NATS and stream sections). Start from NewConfig, which fills
// the lease bucket's default.
type Config struct {
	ConsumerPrefix     string          `envconfig:"AGGREGATOR_CONSUMER_PREFIX" default:"aggregator" desc:"durable consumer name prefix; partition P uses <prefix>-P"`
	DefinitionsBucket  string          `envconfig:"AGGREGATOR_DEFINITIONS_BUCKET" default:"flowline-definitions" desc:"JetStream object store bucket keeping process definitions"`
	DefinitionCache    int             `envconfig:"AGGREGATOR_DEFINITION_CACHE" default:"10000" desc:"process definitions kept in memory"`
	CheckpointInterval config.Duration `envconfig:"AGGREGATOR_CHECKPOINT_INTERVAL" default:"1s" desc:"most time between checkpoints (state saved, records acked)"`
	CheckpointMessages int             `envconfig:"AGGREGATOR_CHECKPOINT_MESSAGES" default:"500" desc:"most record messages between checkpoints"`
	FetchBatch         int             `envconfig:"AGGREGATOR_FETCH_BATCH" default:"64" desc:"record messages fetched per pull"`
	AckWait            config.Duration `envconfig:"AGGREGATOR_ACK_WAIT" default:"2m" desc:"redelivery timeout of unacked record messages"`
	PublishTimeout     config.Duration `envconfig:"AGGREGATOR_PUBLISH_TIMEOUT" default:"30s" desc:"longest wait, retries included, for the broker to confirm published documents, a dead letter or a checkpoint; a partition that makes no progress within it is given up (its lease released, readiness failing) and taken over afresh"`
	MaxDocumentBytes   config.Bytes    `envconfig:"AGGREGATOR_MAX_DOCUMENT_BYTES" default:"32MiB" desc:"largest document (JSON bytes) published; a larger one is dead-lettered with its reason (Elasticsearch refuses requests over its http.max_content_length, 100 MB by default)"`

	// Lease: FLOWLINE_AGGREGATOR_LEASE_BUCKET, _LEASE_TTL, _REPLICA_ID.
	Lease config.Lease `envconfig:"AGGREGATOR"`

	config.AggregatorState
	config.SchemaMode                // FLOWLINE_SCHEMA
	NATS              config.NATS    `envconfig:"NATS"`
	Streams           config.Streams `envconfig:"STREAM"`

	// FLOWLINE_AGGREGATOR_LAG_ALERT, _LAG_INTERVAL (see lag.go).
	config.AggregatorLag
}

// maxDocumentBytesCeiling bounds FLOWLINE_AGGREGATOR_MAX_DOCUMENT_BYTES:
// Elasticsearch's default http.max_content_length (100 MB) less room for the
// bulk action line and the request's other documents.
const maxDocumentBytesCeiling = 90_000_000

// leasePrefix names the aggregator's lease variables.
const leasePrefix = "AGGREGATOR"

// NewConfig returns a Config with the defaults tags cannot carry.
func NewConfig() Config { return Config{Lease: config.LeaseFor(leasePrefix)} }

// AttemptTimeout bounds one attempt at a broker operation within
// PublishTimeout: an answer lost with a NATS server that died is waited
// for this long, not PublishTimeout, before the operation is tried again
// (a sixth of PublishTimeout, at least a second).
func (c Config) AttemptTimeout() time.Duration {
	return min(c.PublishTimeout.D(), max(time.Second, c.PublishTimeout.D()/6))
}

// uploadTimeout bounds one attempt at uploading a checkpoint snapshot of n
// bytes: twice AttemptTimeout, plus a second per MiB (a slow broker still
// stores a large snapshot; a dead one is noticed after that long).
func (c Config) uploadTimeout(n int) time.Duration {
	return 2*c.AttemptTimeout() + time.Duration(n)*time.Second/(1<<20)
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	if c.ConsumerPrefix == "" || c.StateBucket == "" || c.DefinitionsBucket == "" {
		return fmt.Errorf("%w: FLOWLINE_AGGREGATOR_CONSUMER_PREFIX and the _BUCKET names must not be empty", config.ErrInvalid)
	}
	if c.DefinitionCache <= 0 {
		return fmt.Errorf("%w: FLOWLINE_AGGREGATOR_DEFINITION_CACHE must be positive", config.ErrInvalid)
	}
	if c.CheckpointInterval <= 0 || c.CheckpointMessages <= 0 || c.FetchBatch <= 0 {
		return fmt.Errorf("%w: FLOWLINE_AGGREGATOR_* intervals and sizes must be positive", config.ErrInvalid)
	}
	if c.PublishTimeout <= 0 {
		return fmt.Errorf("%w: FLOWLINE_AGGREGATOR_PUBLISH_TIMEOUT must be positive", config.ErrInvalid)
	}
	if c.MaxDocumentBytes <= 0 || c.MaxDocumentBytes > maxDocumentBytesCeiling {
		return fmt.Errorf("%w: FLOWLINE_AGGREGATOR_MAX_DOCUMENT_BYTES (%d) must be between 1 and %d (below Elasticsearch's default http.max_content_length of 100 MB, with room for the bulk request around it)",
			config.ErrInvalid, c.MaxDocumentBytes, maxDocumentBytesCeiling)
	}
	if c.AckWait < 10*c.CheckpointInterval {
		return fmt.Errorf("%w: FLOWLINE_AGGREGATOR_ACK_WAIT (%s) must be at least 10 x the checkpoint interval (%s)", config.ErrInvalid, c.AckWait, c.CheckpointInterval)
	}
	return config.ValidateAll(c.Lease.For(leasePrefix), c.SchemaMode, c.NATS, c.Streams, c.AggregatorLag)
}
