package config

import (
	"errors"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/flowline/flowline/pkg/schema"
)

// NATS configures the connection to the NATS server (FLOWLINE_NATS_*).
type NATS struct {
	URL            string   `envconfig:"URL" default:"nats://127.0.0.1:4222" desc:"NATS server URL(s), comma separated"`
	User           string   `envconfig:"USER" desc:"user name for user/password auth"`
	Password       string   `envconfig:"PASSWORD" desc:"password for user/password auth"`
	Token          string   `envconfig:"TOKEN" desc:"token auth"`
	CredsFile      string   `envconfig:"CREDS_FILE" desc:"path of a .creds file (JWT and NKey)"`
	TLSCA          string   `envconfig:"TLS_CA" desc:"CA certificate file to verify the server"`
	TLSCert        string   `envconfig:"TLS_CERT" desc:"client certificate file for mutual TLS"`
	TLSKey         string   `envconfig:"TLS_KEY" desc:"client key file for mutual TLS"`
	ConnectTimeout Duration `envconfig:"CONNECT_TIMEOUT" default:"5s" desc:"timeout of one connection attempt"`
}

// Validate implements Validator.
func (c NATS) Validate() error {
	for _, u := range strings.Split(c.URL, ",") {
		if err := checkURL("NATS_URL", strings.TrimSpace(u), "nats", "tls", "ws", "wss"); err != nil {
			return err
		}
	}
	methods := 0
	for _, set := range []bool{c.User != "" || c.Password != "", c.Token != "", c.CredsFile != ""} {
		if set {
			methods++
		}
	}
	if methods > 1 {
		return invalid("NATS_*", "choose one of user/password, token or creds file")
	}
	if (c.User == "") != (c.Password == "") {
		return invalid("NATS_USER", "user and password go together")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return invalid("NATS_TLS_CERT", "certificate and key go together")
	}
	return checkPositive("NATS_CONNECT_TIMEOUT", int64(c.ConnectTimeout))
}

// Streams configures Flowline's JetStream streams (FLOWLINE_STREAM_*).
// Every service creates a stream that is missing, with these settings; only
// a service with Manage set changes an existing stream whose settings
// differ (see stream.EnsureStreams), so services started with different
// settings never reset each other's.
type Streams struct {
	Replicas      int      `envconfig:"REPLICAS" default:"1" desc:"replicas of each stream (1 for a single server, 3 for a cluster)"`
	RecordsMaxAge Duration `envconfig:"RECORDS_MAX_AGE" default:"7d" desc:"how long raw records are kept for replays (an aggregator stalled longer loses records)"`
	DLQMaxAge     Duration `envconfig:"DLQ_MAX_AGE" default:"30d" desc:"how long dead letters are kept"`
	Manage        bool     `envconfig:"MANAGE" default:"false" desc:"this service owns the stream settings: it updates existing streams to them (set it on one service, ingest in deploy/); others only create missing streams and log ERROR on a difference"`
	Compression   string   `envconfig:"COMPRESSION" default:"none" desc:"compression of the four streams' file store: none or s2 (less disk space for the servers' CPU; nats-server 2.10+; an existing stream changes once its servers restart)"`
}

// Validate implements Validator.
func (c Streams) Validate() error {
	if c.Replicas < 1 || c.Replicas > 5 {
		return invalid("STREAM_REPLICAS", "must be 1..5, got %d", c.Replicas)
	}
	if err := checkPositive("STREAM_RECORDS_MAX_AGE", int64(c.RecordsMaxAge)); err != nil {
		return err
	}
	switch c.Compression {
	case "", "none", "s2":
	default:
		return invalid("STREAM_COMPRESSION", "%q: want none or s2", c.Compression)
	}
	return checkPositive("STREAM_DLQ_MAX_AGE", int64(c.DLQMaxAge))
}

// Engine names a search engine.
type Engine string

// The engines Flowline writes to.
const (
	EngineElasticsearch Engine = "elasticsearch"
	EngineOpenSearch    Engine = "opensearch"
)

// Search configures the search-engine client: which engine
// (FLOWLINE_SEARCH_ENGINE) and how to reach it (FLOWLINE_ES_*, for either
// engine). Embed it (anonymously, so that its variables keep their names)
// in the config of a service that writes or reads the search engine.
type Search struct {
	Engine Engine        `envconfig:"SEARCH_ENGINE" desc:"elasticsearch or opensearch; empty: detected from the cluster's answer to GET /"`
	ES     Elasticsearch `envconfig:"ES"`
}

// Validate implements Validator.
func (c Search) Validate() error {
	switch c.Engine {
	case "", EngineElasticsearch, EngineOpenSearch:
	default:
		return invalid("SEARCH_ENGINE", "%q: want elasticsearch or opensearch (or empty to detect it)", c.Engine)
	}
	if c.Engine == EngineOpenSearch && c.ES.APIKey != "" {
		return invalid("ES_API_KEY", "API keys are Elasticsearch's; OpenSearch takes FLOWLINE_ES_USERNAME and _PASSWORD")
	}
	return c.ES.Validate()
}

// Elasticsearch configures how to reach the search engine, Elasticsearch or
// OpenSearch (FLOWLINE_ES_*; the names are historical).
type Elasticsearch struct {
	URL      string `envconfig:"URL" default:"http://127.0.0.1:9200" desc:"Elasticsearch or OpenSearch URL(s), comma separated"`
	Username string `envconfig:"USERNAME" desc:"basic auth user"`
	Password string `envconfig:"PASSWORD" desc:"basic auth password"`
	APIKey   string `envconfig:"API_KEY" desc:"API key (base64 id:key), instead of basic auth"`
	CACert   string `envconfig:"CA_CERT" desc:"CA certificate file to verify the server"`
}

// Validate implements Validator.
func (c Elasticsearch) Validate() error {
	for _, u := range strings.Split(c.URL, ",") {
		if err := checkURL("ES_URL", strings.TrimSpace(u), "http", "https"); err != nil {
			return err
		}
	}
	if c.APIKey != "" && c.Username != "" {
		return invalid("ES_API_KEY", "choose API key or basic auth, not both")
	}
	return nil
}

// Schema is the document schema Flowline writes.
type Schema string

// The schemas.
const (
	// SchemaFlowline is Flowline's own: indices <prefix>-<family>-<v>_.
	SchemaFlowline Schema = "flowline"
	// SchemaOperate is the indices and documents Camunda 8.8's exporter
	// writes for Operate and Tasklist (pkg/schema/operate).
	SchemaOperate Schema = "operate"
)

// SchemaMode chooses the schema (FLOWLINE_SCHEMA). Embed it anonymously in
// the config of every service that makes or moves documents (aggregator,
// writer, archiver), and call Index.ApplySchema from the service config's
// Resolve.
type SchemaMode struct {
	Schema Schema `envconfig:"SCHEMA" default:"flowline" desc:"flowline (Flowline's own indices) or operate (the indices and documents Camunda 8.8's exporter writes for Operate and Tasklist; FLOWLINE_INDEX_PREFIX then defaults to none, as Camunda's)"`
}

// Validate implements Validator.
func (c SchemaMode) Validate() error {
	switch c.Schema {
	case "", SchemaFlowline, SchemaOperate: // "" (a config built in code) is flowline
		return nil
	}
	return invalid("SCHEMA", "%q: want flowline or operate", c.Schema)
}

// Resolver is implemented by config structs with a default that depends on
// another setting; Load calls Resolve after reading the environment and
// before validating.
type Resolver interface{ Resolve() }

// For is idx adapted to the schema (see ApplySchema), for validating.
func (c Index) For(s Schema) Index {
	c.ApplySchema(s)
	return c
}

// Index configures the indices Flowline writes (FLOWLINE_INDEX_*).
type Index struct {
	Prefix           string            `envconfig:"PREFIX" default:"flowline" desc:"prefix of every index and alias (in the operate schema: none unless set, as Camunda's)"`
	Shards           int               `envconfig:"SHARDS" default:"1" desc:"primary shards per index"`
	Replicas         int               `envconfig:"REPLICAS" default:"0" desc:"replicas per index"`
	RefreshInterval  string            `envconfig:"REFRESH_INTERVAL" desc:"Flowline schema only: index.refresh_interval of every family not in INDEX_REFRESH_INTERVALS (500ms, 1s, 30s, -1 for never); empty: the engine's default, 1s but skipped on a shard nobody searched for 30s (the next search refreshes it first)"`
	RefreshIntervals map[string]string `envconfig:"REFRESH_INTERVALS" default:"list-view:250ms" desc:"Flowline schema only: index.refresh_interval per family, family:interval,...; a value replaces the whole default, so keep list-view (it carries data availability) in it"`

	schema Schema // set by ApplySchema
}

// ApplySchema adapts the index settings to the schema: in the operate
// schema an unset FLOWLINE_INDEX_PREFIX means no prefix (Camunda's default)
// and an empty prefix is valid; a prefix that is set applies as Camunda
// applies it ([<prefix>-]operate-...).
func (c *Index) ApplySchema(s Schema) {
	c.schema = s
	if s != SchemaOperate {
		return
	}
	if _, set := Lookup("INDEX_PREFIX"); !set && c.Prefix == "flowline" {
		c.Prefix = ""
	}
}

// Validate implements Validator.
func (c Index) Validate() error {
	if c.Prefix == "" && c.schema == SchemaOperate {
		// Camunda's default: no prefix
	} else if c.Prefix == "" || strings.ToLower(c.Prefix) != c.Prefix || strings.ContainsAny(c.Prefix, `\/*?"<>| ,#:`) || strings.HasPrefix(c.Prefix, "-") || strings.HasPrefix(c.Prefix, "_") {
		return invalid("INDEX_PREFIX", "%q must be a non-empty lowercase index name prefix", c.Prefix)
	}
	if c.Shards < 1 {
		return invalid("INDEX_SHARDS", "must be at least 1, got %d", c.Shards)
	}
	if c.Replicas < 0 {
		return invalid("INDEX_REPLICAS", "must not be negative, got %d", c.Replicas)
	}
	if c.schema == SchemaOperate {
		return nil // the refresh intervals are Camunda's there (see RefreshFor)
	}
	if c.RefreshInterval != "" && !refreshIntervalPattern.MatchString(c.RefreshInterval) {
		return invalid("INDEX_REFRESH_INTERVAL", "%q is not a refresh interval: want a positive whole number of ms, s, m, h or d (250ms, 1s, 30s), -1 for never, or empty for the engine's default", c.RefreshInterval)
	}
	families := make([]string, 0, len(c.RefreshIntervals))
	for f := range c.RefreshIntervals {
		families = append(families, f)
	}
	slices.Sort(families)
	for _, f := range families {
		if !schema.Known(schema.Family(f)) {
			return invalid("INDEX_REFRESH_INTERVALS", "%q is not a family (one of %s); write family:interval,...", f, familyNames())
		}
		v := c.RefreshIntervals[f]
		if !refreshIntervalPattern.MatchString(v) {
			return invalid("INDEX_REFRESH_INTERVALS", "%s:%q is not a refresh interval: want a positive whole number of ms, s, m, h or d (250ms, 1s, 30s), or -1 for never", f, v)
		}
		if v == "-1" && schema.Family(f) == schema.ListView {
			return invalid("INDEX_REFRESH_INTERVALS", "list-view:-1 would keep finished instances out of every search, the archiver's backlog count included; give it an interval")
		}
	}
	if v := c.RefreshFor(schema.ListView); v == "-1" {
		return invalid("INDEX_REFRESH_INTERVAL", "-1 would keep the list view out of every search, the archiver's backlog count included; give FLOWLINE_INDEX_REFRESH_INTERVALS list-view:<interval> or choose another")
	}
	return nil
}

func familyNames() string {
	names := make([]string, len(schema.Families))
	for i, f := range schema.Families {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// refreshIntervalPattern matches the index.refresh_interval values Flowline
// accepts: -1 (never) or a positive whole number of ms, s, m, h or d. The
// engines also read 0 and sub-millisecond units, and then never refresh.
var refreshIntervalPattern = regexp.MustCompile(`^(-1|[1-9][0-9]*(ms|s|m|h|d))$`)

// RefreshFor is the index.refresh_interval of family f's indices in
// Flowline's schema, "" for the engine's default (the setting left out, or
// reset to its default). The Operate-compatible schema ignores both
// variables and keeps Camunda's settings.
func (c Index) RefreshFor(f schema.Family) string {
	if v, ok := c.RefreshIntervals[string(f)]; ok {
		return v
	}
	return c.RefreshInterval
}

// AggregatorState names the bucket of the aggregator's partition checkpoints
// (FLOWLINE_AGGREGATOR_STATE_BUCKET): the aggregator writes them, the
// archiver reads how far each partition is aggregated from them. Both embed
// it (anonymously, so the variable has no further prefix) and validate it
// with their own settings.
type AggregatorState struct {
	StateBucket string `envconfig:"AGGREGATOR_STATE_BUCKET" default:"flowline-aggregator" desc:"JetStream object store bucket holding partition checkpoints"`
}

// AggregatorLag configures how the aggregator watches how far behind each
// partition is (FLOWLINE_AGGREGATOR_LAG_*): the age of its oldest
// unaggregated record, against the records stream's max age, after which
// records are deleted whether aggregated or not. The aggregator embeds it
// anonymously. A zero field (a config built in code) means its default.
type AggregatorLag struct {
	LagAlert    float64  `envconfig:"AGGREGATOR_LAG_ALERT" default:"0.5" desc:"log ERROR when a partition's oldest unaggregated record is older than this fraction of FLOWLINE_STREAM_RECORDS_MAX_AGE"`
	LagInterval Duration `envconfig:"AGGREGATOR_LAG_INTERVAL" default:"30s" desc:"how often each partition's lag is measured (flowline_aggregator_lag_seconds)"`
}

// Defaults of AggregatorLag, for zero fields.
const (
	DefaultLagAlert    = 0.5
	DefaultLagInterval = 30 * time.Second
)

// WithDefaults returns c with zero fields set to their defaults.
func (c AggregatorLag) WithDefaults() AggregatorLag {
	if c.LagAlert == 0 {
		c.LagAlert = DefaultLagAlert
	}
	if c.LagInterval == 0 {
		c.LagInterval = Duration(DefaultLagInterval)
	}
	return c
}

// Validate implements Validator.
func (c AggregatorLag) Validate() error {
	c = c.WithDefaults()
	if c.LagAlert < 0 || c.LagAlert >= 1 {
		return invalid("AGGREGATOR_LAG_ALERT", "must be a fraction between 0 and 1 (exclusive), got %v", c.LagAlert)
	}
	return checkPositive("AGGREGATOR_LAG_INTERVAL", int64(c.LagInterval))
}

// Runtime configures what every service process shares: logging and the
// admin port (FLOWLINE_LOG_LEVEL, FLOWLINE_ADMIN_ADDR).
type Runtime struct {
	LogLevel  string   `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	AdminAddr string   `envconfig:"ADMIN_ADDR" default:"127.0.0.1:9600" desc:"address of the admin HTTP server (/healthz, /readyz, /metrics); loopback unless set (containers set 0.0.0.0:9600)"`
	DrainTime Duration `envconfig:"DRAIN_TIMEOUT" default:"30s" desc:"how long a service may take to drain on SIGTERM"`
	Pprof     bool     `envconfig:"ADMIN_PPROF" default:"false" desc:"also serve Go profiles under /debug/pprof/ on the admin server"`
}

// Validate implements Validator.
func (c Runtime) Validate() error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return invalid("LOG_LEVEL", "%q is not a log level", c.LogLevel)
	}
	if _, _, err := net.SplitHostPort(c.AdminAddr); err != nil {
		return invalid("ADMIN_ADDR", "%v", err)
	}
	return checkPositive("DRAIN_TIMEOUT", int64(c.DrainTime))
}

// SlogLevel is the parsed log level.
func (c Runtime) SlogLevel() slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.LogLevel))
	return l
}

// ValidateAll validates every section and joins their errors.
func ValidateAll(vs ...Validator) error {
	var errs []error
	for _, v := range vs {
		if err := v.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
