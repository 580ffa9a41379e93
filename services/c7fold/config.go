package c7fold

import (
	"fmt"

	"github.com/flowline/flowline/pkg/config"
)

// Config is the Camunda 7 fold's configuration (FLOWLINE_C7_FOLD_*, its
// leases FLOWLINE_C7_FOLD_LEASE_BUCKET, _LEASE_TTL, _REPLICA_ID, and the
// shared NATS and stream sections). Start from NewConfig.
type Config struct {
	StateBucket    string          `envconfig:"C7_FOLD_STATE_BUCKET" default:"flowline-c7-state" desc:"JetStream KV bucket of what is known of each Camunda 7 process instance (key <source>.<instance id>)"`
	CacheInstances int             `envconfig:"C7_FOLD_CACHE_INSTANCES" default:"50000" desc:"instance states kept in memory per source"`
	FetchBatch     int             `envconfig:"C7_FOLD_FETCH_BATCH" default:"32" desc:"page messages folded at once: every instance they touch is stored and rendered once per batch"`
	AckWait        config.Duration `envconfig:"C7_FOLD_ACK_WAIT" default:"5m" desc:"redelivery timeout of unacked page messages"`
	PublishTimeout config.Duration `envconfig:"C7_FOLD_PUBLISH_TIMEOUT" default:"30s" desc:"longest wait for the broker to confirm stored states, published documents or a dead letter; a source that makes no progress within it is given up and taken over afresh"`

	Lease   config.Lease   `envconfig:"C7_FOLD"`
	NATS    config.NATS    `envconfig:"NATS"`
	Streams config.Streams `envconfig:"STREAM"`
}

// leasePrefix names the fold's lease variables.
const leasePrefix = "C7_FOLD"

// NewConfig returns a Config with the defaults tags cannot carry.
func NewConfig() Config { return Config{Lease: config.LeaseFor(leasePrefix)} }

// Validate implements config.Validator.
func (c Config) Validate() error {
	switch {
	case c.StateBucket == "":
		return fmt.Errorf("%w: FLOWLINE_C7_FOLD_STATE_BUCKET must not be empty", config.ErrInvalid)
	case c.CacheInstances <= 0 || c.FetchBatch <= 0:
		return fmt.Errorf("%w: FLOWLINE_C7_FOLD_CACHE_INSTANCES and _FETCH_BATCH must be positive", config.ErrInvalid)
	case c.AckWait <= 0 || c.PublishTimeout <= 0:
		return fmt.Errorf("%w: FLOWLINE_C7_FOLD_ACK_WAIT and _PUBLISH_TIMEOUT must be positive", config.ErrInvalid)
	case c.StateBucket == c.Lease.For(leasePrefix).Bucket:
		return fmt.Errorf("%w: FLOWLINE_C7_FOLD_STATE_BUCKET and _LEASE_BUCKET must differ", config.ErrInvalid)
	}
	return config.ValidateAll(c.Lease.For(leasePrefix), c.NATS, c.Streams)
}
