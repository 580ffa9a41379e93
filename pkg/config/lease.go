package config

import (
	"strings"
	"time"
)

// Lease configures how a lease-partitioned service (aggregator, archiver,
// Zeebe import) shares the partitions among its replicas. Each service
// embeds it under its own prefix, e.g. `envconfig:"AGGREGATOR"` gives
// FLOWLINE_AGGREGATOR_LEASE_BUCKET, _LEASE_TTL and _REPLICA_ID. The bucket's
// default differs per service, so it cannot be a tag: the service's
// NewConfig fills it (see LeaseFor), and an empty Bucket means that default.
type Lease struct {
	Bucket    string   `envconfig:"LEASE_BUCKET" prefilled:"true" desc:"JetStream KV bucket of partition leases shared by the service's replicas"`
	TTL       Duration `envconfig:"LEASE_TTL" default:"10s" desc:"a crashed replica's partitions are taken over after about this long"`
	ReplicaID string   `envconfig:"REPLICA_ID" desc:"this replica's id among the service's replicas (default: host name and process id)"`

	prefix string // e.g. AGGREGATOR: names the variables in errors
}

// LeaseFor returns the lease section of the service whose variables carry
// prefix (e.g. "AGGREGATOR" or "ZEEBE_IMPORT"), with its default bucket
// flowline-<service>-leases (flowline-aggregator-leases,
// flowline-zeebe-import-leases).
func LeaseFor(prefix string) Lease {
	return Lease{prefix: prefix, Bucket: DefaultLeaseBucket(prefix)}
}

// DefaultLeaseBucket is the lease bucket of the service with prefix.
func DefaultLeaseBucket(prefix string) string {
	return "flowline-" + strings.ReplaceAll(strings.ToLower(prefix), "_", "-") + "-leases"
}

// For returns l bound to the service with prefix: an empty Bucket becomes
// its default, and errors name its variables.
func (l Lease) For(prefix string) Lease {
	l.prefix = prefix
	if l.Bucket == "" {
		l.Bucket = DefaultLeaseBucket(prefix)
	}
	return l
}

// Validate implements Validator.
func (l Lease) Validate() error {
	name := func(v string) string {
		if l.prefix == "" {
			return "*_" + v
		}
		return l.prefix + "_" + v
	}
	switch {
	case l.TTL.D() < time.Second:
		return invalid(name("LEASE_TTL"), "must be at least 1s, got %s", l.TTL)
	case strings.ContainsAny(l.ReplicaID, " *>"):
		return invalid(name("REPLICA_ID"), "%q must not hold spaces, * or >", l.ReplicaID)
	case strings.ContainsAny(l.Bucket, " *>."):
		return invalid(name("LEASE_BUCKET"), "%q is not a bucket name", l.Bucket)
	}
	return nil
}
