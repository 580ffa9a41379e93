package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLoadReadsPrefixedNestedVariablesWithDefaults(t *testing.T) {
	var c struct {
		Runtime
		NATS NATS `envconfig:"NATS"`
	}
	t.Setenv("FLOWLINE_NATS_URL", "nats://broker:4222")
	t.Setenv("FLOWLINE_LOG_LEVEL", "debug")
	if err := Process(&c); err != nil {
		t.Fatal(err)
	}
	if c.NATS.URL != "nats://broker:4222" || c.LogLevel != "debug" || c.NATS.ConnectTimeout.D() != 5*time.Second || c.AdminAddr != "127.0.0.1:9600" {
		t.Errorf("loaded %+v", c)
	}
}

func TestValidate(t *testing.T) {
	okNATS := NATS{URL: "nats://a:4222", ConnectTimeout: Duration(time.Second)}
	tests := []struct {
		name    string
		v       Validator
		mention string // "" = valid
	}{
		{"nats ok", okNATS, ""},
		{"nats bad url", NATS{URL: "http://a", ConnectTimeout: Duration(time.Second)}, "FLOWLINE_NATS_URL"},
		{"nats two auth methods", NATS{URL: "nats://a:4222", Token: "t", CredsFile: "c", ConnectTimeout: Duration(time.Second)}, "choose one"},
		{"nats user without password", NATS{URL: "nats://a:4222", User: "u", ConnectTimeout: Duration(time.Second)}, "FLOWLINE_NATS_USER"},
		{"es ok", Elasticsearch{URL: "http://es:9200,https://es2:9200"}, ""},
		{"es bad url", Elasticsearch{URL: "es:9200"}, "FLOWLINE_ES_URL"},
		{"es key and basic", Elasticsearch{URL: "http://es:9200", APIKey: "k", Username: "u"}, "FLOWLINE_ES_API_KEY"},
		{"index uppercase prefix", Index{Prefix: "Flow", Shards: 1}, "FLOWLINE_INDEX_PREFIX"},
		{"index zero shards", Index{Prefix: "flow", Shards: 0}, "FLOWLINE_INDEX_SHARDS"},
		{"index refresh intervals ok", Index{Prefix: "flow", Shards: 1, RefreshInterval: "30s", RefreshIntervals: map[string]string{"list-view": "250ms", "job": "-1"}}, ""},
		{"index refresh interval engine default", Index{Prefix: "flow", Shards: 1}, ""},
		{"index refresh interval without unit", Index{Prefix: "flow", Shards: 1, RefreshInterval: "5"}, "FLOWLINE_INDEX_REFRESH_INTERVAL"},
		{"index refresh interval Go spelling", Index{Prefix: "flow", Shards: 1, RefreshInterval: "1m30s"}, "FLOWLINE_INDEX_REFRESH_INTERVAL"},
		{"index refresh intervals unknown family", Index{Prefix: "flow", Shards: 1, RefreshIntervals: map[string]string{"listview": "1s"}}, `"listview" is not a family`},
		{"index refresh intervals bad interval", Index{Prefix: "flow", Shards: 1, RefreshIntervals: map[string]string{"list-view": "fast"}}, `list-view:"fast"`},
		{"index refresh interval zero never refreshes", Index{Prefix: "flow", Shards: 1, RefreshInterval: "0s"}, "FLOWLINE_INDEX_REFRESH_INTERVAL"},
		{"index refresh interval below a millisecond", Index{Prefix: "flow", Shards: 1, RefreshIntervals: map[string]string{"job": "500micros"}}, `job:"500micros"`},
		{"index refresh intervals list view never", Index{Prefix: "flow", Shards: 1, RefreshIntervals: map[string]string{"list-view": "-1"}}, "list-view:-1"},
		{"index refresh interval never reaches the list view", Index{Prefix: "flow", Shards: 1, RefreshInterval: "-1"}, "FLOWLINE_INDEX_REFRESH_INTERVAL"},
		{"index refresh interval never, list view its own", Index{Prefix: "flow", Shards: 1, RefreshInterval: "-1", RefreshIntervals: map[string]string{"list-view": "1s"}}, ""},
		{"index refresh intervals ignored in the operate schema", Index{Prefix: "flow", Shards: 1, RefreshInterval: "0s", RefreshIntervals: map[string]string{"nope": "x"}}.For(SchemaOperate), ""},
		{"runtime bad level", Runtime{LogLevel: "loud", AdminAddr: ":1", DrainTime: Duration(time.Second)}, "FLOWLINE_LOG_LEVEL"},
		{"streams replicas", Streams{Replicas: 0, RecordsMaxAge: Duration(time.Hour), DLQMaxAge: Duration(time.Hour)}, "FLOWLINE_STREAM_REPLICAS"},
		{"streams s2", Streams{Replicas: 1, RecordsMaxAge: Duration(time.Hour), DLQMaxAge: Duration(time.Hour), Compression: "s2"}, ""},
		{"streams compression unknown", Streams{Replicas: 1, RecordsMaxAge: Duration(time.Hour), DLQMaxAge: Duration(time.Hour), Compression: "gzip"}, "FLOWLINE_STREAM_COMPRESSION"},
		{"lag defaults", AggregatorLag{}, ""},
		{"lag alert above 1", AggregatorLag{LagAlert: 1.5}, "FLOWLINE_AGGREGATOR_LAG_ALERT"},
		{"lag negative interval", AggregatorLag{LagInterval: Duration(-time.Second)}, "FLOWLINE_AGGREGATOR_LAG_INTERVAL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.v.Validate()
			if tt.mention == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("error %v, want ErrInvalid mentioning %q", err, tt.mention)
			}
		})
	}
}

func TestUsageListsEveryVariableOnceWithDefault(t *testing.T) {
	var b strings.Builder
	if err := Usage(&b, &Runtime{}, &struct {
		NATS    NATS    `envconfig:"NATS"`
		Streams Streams `envconfig:"STREAM"`
	}{}, &Runtime{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Count(out, "FLOWLINE_LOG_LEVEL") != 1 {
		t.Errorf("shared variable listed %d times:\n%s", strings.Count(out, "FLOWLINE_LOG_LEVEL"), out)
	}
	for _, want := range []string{"FLOWLINE_NATS_URL", "nats://127.0.0.1:4222", "FLOWLINE_STREAM_RECORDS_MAX_AGE", "7d"} {
		if !strings.Contains(out, want) {
			t.Errorf("usage lacks %q:\n%s", want, out)
		}
	}
}

// TestAggregatorStateIsUnprefixedWhenEmbedded: embedded anonymously, as the
// aggregator and the archiver do, the section's variable is
// FLOWLINE_AGGREGATOR_STATE_BUCKET, listed once for both.
func TestAggregatorStateIsUnprefixedWhenEmbedded(t *testing.T) {
	type service struct {
		AggregatorState
		NATS NATS `envconfig:"NATS"`
	}
	var c service
	if err := Process(&c); err != nil || c.StateBucket != "flowline-aggregator" {
		t.Fatalf("default %q (%v), want flowline-aggregator", c.StateBucket, err)
	}
	t.Setenv("FLOWLINE_AGGREGATOR_STATE_BUCKET", "states")
	if err := Process(&c); err != nil || c.StateBucket != "states" {
		t.Fatalf("loaded %q (%v), want states", c.StateBucket, err)
	}
	var b strings.Builder
	if err := Usage(&b, &service{}, &struct{ AggregatorState }{}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "FLOWLINE_AGGREGATOR_STATE_BUCKET "); n != 1 {
		t.Errorf("FLOWLINE_AGGREGATOR_STATE_BUCKET listed %d times:\n%s", n, b.String())
	}
}

func TestPrefilledDefaultIsKeptAndListed(t *testing.T) {
	type section struct {
		Version string `envconfig:"TEST_VERSION" prefilled:"true" desc:"a version"`
		Other   string `envconfig:"TEST_OTHER" desc:"nothing pre-filled"`
		Count   int    `envconfig:"TEST_COUNT" desc:"zero, no default"`
	}
	c := section{Version: "1.2.3"}
	if err := Process(&c); err != nil || c.Version != "1.2.3" {
		t.Fatalf("unset: %+v, %v; want the pre-filled 1.2.3 kept", c, err)
	}
	t.Setenv("FLOWLINE_TEST_VERSION", "4.5.6")
	if err := Process(&c); err != nil || c.Version != "4.5.6" {
		t.Fatalf("set: %+v, %v; want 4.5.6", c, err)
	}
	var b strings.Builder
	if err := Usage(&b, &section{Version: "1.2.3"}); err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, l := range strings.Split(b.String(), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			rows[f[0]] = f[1:]
		}
	}
	if r := rows["FLOWLINE_TEST_VERSION"]; len(r) < 1 || r[0] != "1.2.3" {
		t.Errorf("pre-filled value not listed as the default:\n%s", b.String())
	}
	for _, k := range []string{"FLOWLINE_TEST_OTHER", "FLOWLINE_TEST_COUNT"} {
		if r := rows[k]; len(r) < 1 || r[0] == "0" || !strings.Contains(b.String(), k) {
			t.Errorf("%s: want an empty default, got %v:\n%s", k, r, b.String())
		}
	}
}

func TestLookupReadsThePrefixedVariable(t *testing.T) {
	t.Setenv("FLOWLINE_TEST_KNOB", "7")
	if v, ok := Lookup("TEST_KNOB"); !ok || v != "7" {
		t.Errorf("Lookup = %q, %v", v, ok)
	}
	if _, ok := Lookup("TEST_UNSET_KNOB"); ok {
		t.Error("an unset variable is reported set")
	}
}
