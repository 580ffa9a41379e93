package config

import (
	"strings"
	"testing"
)

// TestUsageShowsOnlyPrefilledDefaults: a field tagged prefilled shows the
// value its spec holds (a lease bucket's per-service default); any other
// field's value, a password loaded from the environment say, never shows.
func TestUsageShowsOnlyPrefilledDefaults(t *testing.T) {
	spec := struct {
		Lease Lease `envconfig:"AGGREGATOR"`
		NATS  NATS  `envconfig:"NATS"`
	}{Lease: LeaseFor("AGGREGATOR"), NATS: NATS{Password: "s3cret-value"}}
	var out strings.Builder
	if err := Usage(&out, &spec); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "flowline-aggregator-leases") {
		t.Errorf("the lease bucket's default is not shown:\n%s", out.String())
	}
	if strings.Contains(out.String(), "s3cret-value") {
		t.Errorf("usage printed a password:\n%s", out.String())
	}
}
