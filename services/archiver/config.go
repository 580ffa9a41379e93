package archiver

import (
	"fmt"
	"strings"
	"time"

	"github.com/flowline/flowline/pkg/config"
)

// Config is the archiver's configuration (FLOWLINE_ARCHIVER_*,
// FLOWLINE_ARCHIVER_RETENTION*, plus the shared sections: the aggregator's state
// bucket, NATS, stream, Elasticsearch and index).
type Config struct {
	WaitPeriod    config.Duration `envconfig:"ARCHIVER_WAIT_PERIOD" default:"1h" desc:"a process instance is archived once it ended this long ago"`
	BatchSize     int             `envconfig:"ARCHIVER_BATCH_SIZE" default:"1000" desc:"most process instances moved per batch (with all their documents)"`
	Rollover      Period          `envconfig:"ARCHIVER_ROLLOVER_INTERVAL" default:"day" desc:"period of the dated indices by end date: hour, day, week or month"`
	PageSize      int             `envconfig:"ARCHIVER_PAGE_SIZE" default:"5000" desc:"documents read, copied, verified and deleted at a time"`
	Concurrency   int             `envconfig:"ARCHIVER_CONCURRENCY" default:"4" desc:"document families moved at once within a batch (memory: about PAGE_SIZE x CONCURRENCY documents per owned partition)"`
	Delay         config.Duration `envconfig:"ARCHIVER_DELAY" default:"1s" desc:"pause after a batch that emptied the backlog; grows x1.5 while idle"`
	MaxDelay      config.Duration `envconfig:"ARCHIVER_MAX_DELAY" default:"1m" desc:"longest pause while idle or after errors"`
	SweepInterval config.Duration `envconfig:"ARCHIVER_SWEEP_INTERVAL" default:"10m" desc:"how often each owned partition's runtime indices are swept for documents of already archived instances (recreated by late documents), which are then moved to the archive"`
	Retention     Retention       `envconfig:"ARCHIVER_RETENTION" desc:"delete dated indices whose period ended longer ago than this, e.g. 30d (empty: keep them)"`
	RetentionILM  string          `envconfig:"ARCHIVER_RETENTION_ILM_POLICY" desc:"with FLOWLINE_ARCHIVER_RETENTION, attach this ILM policy (created with a delete phase) to dated indices instead, where the cluster has ILM"`

	// Lease: FLOWLINE_ARCHIVER_LEASE_BUCKET, _LEASE_TTL, _REPLICA_ID.
	Lease config.Lease `envconfig:"ARCHIVER"`

	config.AggregatorState
	config.SchemaMode                // FLOWLINE_SCHEMA
	NATS              config.NATS    `envconfig:"NATS"`
	Streams           config.Streams `envconfig:"STREAM"`
	config.Search                    // FLOWLINE_SEARCH_ENGINE, FLOWLINE_ES_*
	Index             config.Index   `envconfig:"INDEX"`
}

// leasePrefix names the archiver's lease variables.
const leasePrefix = "ARCHIVER"

// NewConfig returns a Config with the defaults tags cannot carry.
func NewConfig() Config { return Config{Lease: config.LeaseFor(leasePrefix)} }

// Validate implements config.Validator.
func (c Config) Validate() error {
	if c.WaitPeriod < 0 {
		return fmt.Errorf("%w: FLOWLINE_ARCHIVER_WAIT_PERIOD must not be negative, got %s", config.ErrInvalid, c.WaitPeriod)
	}
	if c.BatchSize <= 0 || c.BatchSize > 10_000 || c.PageSize <= 0 || c.PageSize > 10_000 || c.Concurrency <= 0 {
		return fmt.Errorf("%w: FLOWLINE_ARCHIVER_BATCH_SIZE and _PAGE_SIZE must be 1..10000 and _CONCURRENCY positive", config.ErrInvalid)
	}
	if c.Delay <= 0 || c.MaxDelay < c.Delay {
		return fmt.Errorf("%w: FLOWLINE_ARCHIVER_DELAY must be positive and FLOWLINE_ARCHIVER_MAX_DELAY at least as long", config.ErrInvalid)
	}
	if c.SweepInterval <= 0 {
		return fmt.Errorf("%w: FLOWLINE_ARCHIVER_SWEEP_INTERVAL must be positive, got %s", config.ErrInvalid, c.SweepInterval)
	}
	if c.StateBucket == "" {
		return fmt.Errorf("%w: FLOWLINE_AGGREGATOR_STATE_BUCKET must be set", config.ErrInvalid)
	}
	if c.RetentionILM != "" && c.Retention == 0 {
		return fmt.Errorf("%w: FLOWLINE_ARCHIVER_RETENTION_ILM_POLICY needs FLOWLINE_ARCHIVER_RETENTION", config.ErrInvalid)
	}
	return config.ValidateAll(c.Lease.For(leasePrefix), c.NATS, c.Streams, c.SchemaMode, c.Search, c.Index.For(c.Schema))
}

// Retention is how long dated indices are kept: a Go duration or a whole
// number of days (30d) or weeks (4w); 0 keeps them for ever.
type Retention time.Duration

// Decode implements envconfig.Decoder.
func (r *Retention) Decode(v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		*r = 0
		return nil
	}
	d, err := config.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("retention %q: want a positive duration such as 30d, 4w or 12h", v)
	}
	*r = Retention(d)
	return nil
}

func (r Retention) String() string {
	if r == 0 {
		return ""
	}
	return config.Duration(r).String()
}

// Resolve implements config.Resolver: the index prefix's default depends
// on the schema.
func (c *Config) Resolve() { c.Index.ApplySchema(c.Schema) }
