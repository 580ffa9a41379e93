package zeebeimport

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/flowline/flowline/pkg/config"
)

// Config is the Zeebe import's configuration: the source section
// (FLOWLINE_ZEEBE_IMPORT_*), its partition leases
// (FLOWLINE_ZEEBE_IMPORT_LEASE_BUCKET, _LEASE_TTL, _REPLICA_ID), how records
// are stored (ingest's FLOWLINE_INGEST_EVENTS_ONLY, _BATCH_RECORDS,
// _BATCH_BYTES), and the shared NATS and stream sections. Start from
// NewConfig, which fills the lease bucket's default.
type Config struct {
	Source Source       `envconfig:"ZEEBE_IMPORT"`
	Lease  config.Lease `envconfig:"ZEEBE_IMPORT"`
	config.RecordStore

	NATS    config.NATS    `envconfig:"NATS"`
	Streams config.Streams `envconfig:"STREAM"`
}

// leasePrefix names the import's lease variables.
const leasePrefix = "ZEEBE_IMPORT"

// NewConfig returns a Config with the defaults tags cannot carry.
func NewConfig() Config { return Config{Lease: config.LeaseFor(leasePrefix)} }

// Enabled reports whether the import is configured (FLOWLINE_ZEEBE_IMPORT_URL
// is set): `flowline ingest` runs it alongside the push API then.
func (c Config) Enabled() bool { return c.Source.Enabled() }

// Validate implements config.Validator: the source URL is required.
func (c Config) Validate() error {
	if !c.Enabled() {
		return fmt.Errorf("%w: FLOWLINE_ZEEBE_IMPORT_URL is required: the Elasticsearch holding the %s_* indices", config.ErrInvalid, c.Source.IndexPrefix)
	}
	if l := c.Lease.For(leasePrefix); c.Source.Bucket == l.Bucket {
		return fmt.Errorf("%w: FLOWLINE_ZEEBE_IMPORT_BUCKET and _LEASE_BUCKET must differ (lease keys expire)", config.ErrInvalid)
	}
	return config.ValidateAll(c.Source, c.Lease.For(leasePrefix), c.RecordStore, c.NATS, c.Streams)
}

// Source configures where and how the import reads the Zeebe Elasticsearch
// exporter's indices (FLOWLINE_ZEEBE_IMPORT_*): the migration path for
// installations that run that exporter today. It is off while URL is empty.
type Source struct {
	URL      string        `envconfig:"URL" desc:"Elasticsearch URL(s) holding the Zeebe exporter's indices, comma separated; set it to import them (empty: no import)"`
	Username string        `envconfig:"USERNAME" desc:"basic auth user of that Elasticsearch"`
	Password string        `envconfig:"PASSWORD" desc:"basic auth password of that Elasticsearch"`
	APIKey   string        `envconfig:"API_KEY" desc:"API key (base64 id:key) of that Elasticsearch, instead of basic auth"`
	CACert   string        `envconfig:"CA_CERT" desc:"CA certificate file to verify that Elasticsearch"`
	Engine   config.Engine `envconfig:"SEARCH_ENGINE" desc:"elasticsearch or opensearch (the exporter's indices may live in either); empty: detected"`

	IndexPrefix string `envconfig:"INDEX_PREFIX" default:"zeebe-record" desc:"the exporter's index prefix: indices <prefix>_<value-type>_<version>_<date>"`
	PageSize    int    `envconfig:"PAGE_SIZE" default:"1000" desc:"most documents read per value type and partition at a time"`

	BackoffStart  config.Duration `envconfig:"BACKOFF_START" default:"1s" desc:"pause after a round without new data; also the pause after a round that imported less than a full page"`
	BackoffFactor float64         `envconfig:"BACKOFF_FACTOR" default:"1.5" desc:"growth of the pause while rounds find no new data"`
	BackoffMax    config.Duration `envconfig:"BACKOFF_MAX" default:"30s" desc:"longest pause while idle or after errors"`
	// How long a record may take to become searchable after its timestamp.
	// Zeebe's Elasticsearch exporter (zeebe/exporters/elasticsearch-exporter,
	// ElasticsearchExporterConfiguration.BulkConfiguration; documented at
	// docs.camunda.io, self-managed/zeebe-deployment/exporters/elasticsearch-exporter)
	// collects records in a bulk and sends it when it holds bulk.size
	// records (1,000) or bulk.memoryLimit bytes (10 MiB), or else when
	// bulk.delay (5 s) has passed since the last flush; the bulk request
	// may take up to requestTimeoutMs (30 s) and usually well under a
	// second. Each document then becomes searchable at its index's next
	// refresh (index.refresh_interval, 1 s by default, which the exporter's
	// templates do not change), and the bulk spans one index per value
	// type, each refreshed on its own. So a record is searchable
	// bulk.delay + refresh interval + the request after its timestamp:
	// Settle defaults to ExporterBulkDelay + ExporterRefresh + settleMargin.
	//
	// A round takes only records older than the settle time and stops
	// before the first newer one. Records the exporter sends later still
	// (it lagged behind, or re-sends a bulk item that failed) are caught
	// where a gap in a value type's "sequence" shows them (see round.go);
	// only a record that shows up after its settle window and its gap watch
	// is dead-lettered as late, never dropped silently.
	ExporterBulkDelay config.Duration `envconfig:"EXPORTER_BULK_DELAY" default:"5s" desc:"the Zeebe exporter's bulk.delay (Zeebe's default: 5 s); part of the default settle time"`
	ExporterRefresh   config.Duration `envconfig:"EXPORTER_REFRESH_INTERVAL" default:"1s" desc:"index.refresh_interval of the exporter's indices (Elasticsearch's default: 1 s); part of the default settle time"`
	Settle            config.Duration `envconfig:"SETTLE" desc:"import only records whose timestamp is at least this old, and wait this long for a record missing from a value type's sequence; empty: EXPORTER_BULK_DELAY + EXPORTER_REFRESH_INTERVAL + 2s (8s)"`
	GapWatch          config.Duration `envconfig:"GAP_WATCH" default:"1h" desc:"how long a gap in a value type's sequence that was given up on is still watched, so that a record arriving in it is dead-lettered as late rather than never seen"`

	Bucket string `envconfig:"BUCKET" default:"flowline-zeebe-import" desc:"JetStream KV bucket of the import progress (one key per partition)"`
}

// settleMargin is the part of the default settle time for the exporter's
// bulk request itself and a short lag of the exporter behind the engine.
const settleMargin = 2 * time.Second

// SettleTime is the settle time in effect: Settle, or when that is zero
// ExporterBulkDelay + ExporterRefresh + settleMargin.
func (c Source) SettleTime() time.Duration {
	if c.Settle > 0 {
		return c.Settle.D()
	}
	return c.ExporterBulkDelay.D() + c.ExporterRefresh.D() + settleMargin
}

// Enabled reports whether the import is configured.
func (c Source) Enabled() bool { return strings.TrimSpace(c.URL) != "" }

// Elasticsearch is how to reach the source cluster.
func (c Source) Elasticsearch() config.Elasticsearch {
	return config.Elasticsearch{URL: c.URL, Username: c.Username, Password: c.Password, APIKey: c.APIKey, CACert: c.CACert}
}

// Search is the client configuration of the source cluster.
func (c Source) Search() config.Search {
	return config.Search{Engine: c.Engine, ES: c.Elasticsearch()}
}

// Validate implements config.Validator; a disabled import is valid.
func (c Source) Validate() error {
	if !c.Enabled() {
		return nil
	}
	bad := func(name, format string, args ...any) error {
		return fmt.Errorf("%w: FLOWLINE_ZEEBE_IMPORT_%s: %s", config.ErrInvalid, name, fmt.Sprintf(format, args...))
	}
	for _, raw := range strings.Split(c.URL, ",") {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("URL", "%q must be a URL with scheme http or https and a host", config.Redact(strings.TrimSpace(raw)))
		}
	}
	switch {
	case c.APIKey != "" && c.Username != "":
		return bad("API_KEY", "choose API key or basic auth, not both")
	case c.Engine != "" && c.Engine != config.EngineElasticsearch && c.Engine != config.EngineOpenSearch:
		return bad("SEARCH_ENGINE", "%q: want elasticsearch or opensearch (or empty to detect it)", c.Engine)
	case c.Engine == config.EngineOpenSearch && c.APIKey != "":
		return bad("API_KEY", "API keys are Elasticsearch's; OpenSearch takes USERNAME and PASSWORD")
	case c.IndexPrefix == "" || strings.ContainsAny(c.IndexPrefix, `\/*?"<>| ,#:`) || strings.ToLower(c.IndexPrefix) != c.IndexPrefix:
		return bad("INDEX_PREFIX", "%q must be a non-empty lowercase index name prefix", c.IndexPrefix)
	case c.PageSize < 1 || c.PageSize > 10_000:
		return bad("PAGE_SIZE", "must be 1..10000, got %d", c.PageSize)
	case c.BackoffStart <= 0 || c.BackoffMax < c.BackoffStart || c.BackoffFactor < 1:
		return bad("BACKOFF_*", "START must be positive, MAX at least START and FACTOR at least 1")
	case c.Settle < 0:
		return bad("SETTLE", "must not be negative, got %s", c.Settle)
	case c.ExporterBulkDelay < 0:
		return bad("EXPORTER_BULK_DELAY", "must not be negative, got %s", c.ExporterBulkDelay)
	case c.ExporterRefresh < 0:
		return bad("EXPORTER_REFRESH_INTERVAL", "must not be negative (an index with refresh off never becomes searchable), got %s", c.ExporterRefresh)
	case c.GapWatch < 0:
		return bad("GAP_WATCH", "must not be negative, got %s", c.GapWatch)
	case c.Bucket == "":
		return bad("BUCKET", "must be set")
	}
	return nil
}
