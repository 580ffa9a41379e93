package c7import

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/flowline/flowline/pkg/c7"
	"github.com/flowline/flowline/pkg/config"
)

// Config is the Camunda 7 import's configuration: the engine and how it is
// read (FLOWLINE_C7_*), the kinds' leases (FLOWLINE_C7_LEASE_BUCKET,
// _LEASE_TTL, _REPLICA_ID), and the shared NATS and stream sections. Start
// from NewConfig, which fills the lease bucket's default.
type Config struct {
	Engine Engine       `envconfig:"C7"`
	Lease  config.Lease `envconfig:"C7"`

	NATS    config.NATS    `envconfig:"NATS"`
	Streams config.Streams `envconfig:"STREAM"`
}

// leasePrefix names the import's lease variables.
const leasePrefix = "C7"

// NewConfig returns a Config with the defaults tags cannot carry.
func NewConfig() Config { return Config{Lease: config.LeaseFor(leasePrefix)} }

// Enabled reports whether the import is configured (FLOWLINE_C7_URL is
// set): `flowline dev` runs it then.
func (c Config) Enabled() bool { return strings.TrimSpace(c.Engine.URL) != "" }

// Validate implements config.Validator: the engine URL is required.
func (c Config) Validate() error {
	if !c.Enabled() {
		return fmt.Errorf("%w: FLOWLINE_C7_URL is required: the engine's REST base, e.g. http://localhost:8080/engine-rest", config.ErrInvalid)
	}
	if c.Engine.IndexBucket == c.Lease.For(leasePrefix).Bucket {
		return fmt.Errorf("%w: FLOWLINE_C7_INDEX_BUCKET and _LEASE_BUCKET must differ (lease keys expire)", config.ErrInvalid)
	}
	return config.ValidateAll(c.Engine, c.Lease.For(leasePrefix), c.NATS, c.Streams)
}

// Engine configures the Camunda 7 engine imported and how
// (FLOWLINE_C7_*). One process imports one engine; several engines are
// imported by processes with different SOURCE labels.
type Engine struct {
	URL      string `envconfig:"URL" desc:"the Camunda 7 engine's REST base, e.g. http://localhost:8080/engine-rest; set it to import that engine's history"`
	Name     string `envconfig:"ENGINE" default:"default" desc:"the process engine's name (REST paths /engine/<name>/...)"`
	Username string `envconfig:"USERNAME" desc:"basic auth user of the engine's REST API"`
	Password string `envconfig:"PASSWORD" desc:"basic auth password of the engine's REST API"`
	Source   string `envconfig:"SOURCE" default:"camunda7" desc:"label of this engine, recorded on every document as its data source and naming its subjects and keys (letters, digits, - and _)"`

	PageSize        int             `envconfig:"PAGE_SIZE" default:"10000" desc:"most entities of one kind fetched at a time (Optimize's default page size)"`
	BackoffInterval config.Duration `envconfig:"BACKOFF_INTERVAL" default:"1s" desc:"a kind that found nothing new idles this long times the number of empty rounds in a row (Optimize's backoff)"`
	BackoffMax      config.Duration `envconfig:"BACKOFF_MAX" default:"30s" desc:"longest idle pause of a kind, and longest retry pause after errors"`
	QueueSize       int             `envconfig:"QUEUE_SIZE" default:"5" desc:"pages of one kind fetched ahead of being stored (the kind's bounded job queue); a full queue pauses fetching"`
	Concurrency     int             `envconfig:"CONCURRENCY" default:"1" desc:"pages of one kind stored at once (the kind's executors)"`
	Settle          config.Duration `envconfig:"SETTLE" default:"30s" desc:"import only entities whose timestamp is at least this much older than the engine's clock: a transaction committing later than this with an older timestamp would be missed"`
	RequestTimeout  config.Duration `envconfig:"REQUEST_TIMEOUT" default:"60s" desc:"longest wait for one answer of the engine"`
	PublishTimeout  config.Duration `envconfig:"PUBLISH_TIMEOUT" default:"30s" desc:"longest wait for the broker to confirm a stored page or the import index"`

	IndexBucket string `envconfig:"INDEX_BUCKET" default:"flowline-c7-import" desc:"JetStream KV bucket of the import indices (one key per source and kind)"`
}

// sourcePattern is what a source label may be: a subject token and a key
// part.
var sourcePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate implements config.Validator; an engine without URL is valid
// (the import is off).
func (e Engine) Validate() error {
	if strings.TrimSpace(e.URL) == "" {
		return nil
	}
	bad := func(name, format string, args ...any) error {
		return fmt.Errorf("%w: FLOWLINE_C7_%s: %s", config.ErrInvalid, name, fmt.Sprintf(format, args...))
	}
	if _, err := c7.New(e.client()); err != nil {
		return bad("URL", "%v", err)
	}
	switch {
	case e.Name == "" || strings.ContainsAny(e.Name, "/?#"):
		return bad("ENGINE", "%q must be an engine name", e.Name)
	case !sourcePattern.MatchString(e.Source):
		return bad("SOURCE", "%q must be 1 to 64 letters, digits, - or _", e.Source)
	case e.PageSize < 1 || e.PageSize > 100_000:
		return bad("PAGE_SIZE", "must be 1..100000, got %d", e.PageSize)
	case e.BackoffInterval <= 0 || e.BackoffMax < e.BackoffInterval:
		return bad("BACKOFF_*", "INTERVAL must be positive and MAX at least INTERVAL")
	case e.QueueSize < 1:
		return bad("QUEUE_SIZE", "must be at least 1, got %d", e.QueueSize)
	case e.Concurrency < 1:
		return bad("CONCURRENCY", "must be at least 1, got %d", e.Concurrency)
	case e.Settle < 0:
		return bad("SETTLE", "must not be negative, got %s", e.Settle)
	case e.RequestTimeout <= 0:
		return bad("REQUEST_TIMEOUT", "must be positive")
	case e.PublishTimeout <= 0:
		return bad("PUBLISH_TIMEOUT", "must be positive")
	case e.IndexBucket == "":
		return bad("INDEX_BUCKET", "must not be empty")
	}
	return nil
}

// client is the engine client's configuration.
func (e Engine) client() c7.Options {
	return c7.Options{URL: strings.TrimSpace(e.URL), Engine: e.Name, Username: e.Username, Password: e.Password, Timeout: e.RequestTimeout.D()}
}
