package config

import (
	"fmt"
	"os"
	"strings"
)

// Defaults of the record store's limits (RecordStore), for a spec built in
// Go that leaves them zero.
const (
	// DefaultMaxRecordBytes is Zeebe's own default maximum message size
	// (zeebe.broker.network.maxMessageSize, 4 MiB): no record a default
	// broker exports is larger.
	DefaultMaxRecordBytes = 4 << 20
	// DefaultMaxPartitionID bounds the partition ids a client may use: each
	// one costs a subject, a consumer, a lease and goroutines for ever.
	DefaultMaxPartitionID = 8192
)

// RecordStore configures how records are stored on the records stream, by
// ingest and by the Zeebe import alike (FLOWLINE_INGEST_EVENTS_ONLY,
// _BATCH_RECORDS, _BATCH_BYTES, _MAX_RECORD_BYTES, _MAX_PARTITION_ID).
// Embed it without a tag.
//
// MaxRecordBytes is measured on the record's protobuf encoding (one
// RecordBatch entry), which is what is stored and what tracks the binary
// record inside Zeebe: both carry strings and bytes as they are, while
// Zeebe's JSON escapes quotes in JSON-text values and base64-encodes
// resources, so the same record's JSON line is larger (up to six times for
// escape-heavy text). A record that fitted Zeebe's maximum message size
// thus fits the limit in either push format.
type RecordStore struct {
	EventsOnly     bool  `envconfig:"INGEST_EVENTS_ONLY" default:"true" desc:"count and drop records whose recordType is not EVENT"`
	BatchRecords   int   `envconfig:"INGEST_BATCH_RECORDS" default:"1000" desc:"most records of one partition per JetStream message"`
	BatchBytes     Bytes `envconfig:"INGEST_BATCH_BYTES" default:"768KiB" desc:"most encoded bytes per JetStream message (keep under the server's max_payload; a larger record goes alone, its body in the FLOWLINE_PAYLOADS object store)"`
	MaxRecordBytes Bytes `envconfig:"INGEST_MAX_RECORD_BYTES" default:"4MiB" desc:"largest record accepted, measured encoded as protobuf (Zeebe's maximum message size; 0: 4MiB); a larger one gets 413 (ingest) or is dead-lettered (Zeebe import)"`
	MaxPartitionID int32 `envconfig:"INGEST_MAX_PARTITION_ID" default:"8192" desc:"highest partition id accepted (0: 8192); a record of a higher one gets 400 (ingest) or its partition is not imported (Zeebe import)"`
}

// Validate implements Validator.
func (c RecordStore) Validate() error {
	if c.BatchRecords <= 0 {
		return invalid("INGEST_BATCH_RECORDS", "must be positive, got %d", c.BatchRecords)
	}
	if c.BatchBytes <= 1024 {
		return invalid("INGEST_BATCH_BYTES", "must be above 1024, got %d", c.BatchBytes)
	}
	if c.MaxRecordBytes < 0 {
		return invalid("INGEST_MAX_RECORD_BYTES", "must not be negative, got %d", c.MaxRecordBytes)
	}
	if c.MaxPartitionID < 0 {
		return invalid("INGEST_MAX_PARTITION_ID", "must not be negative, got %d", c.MaxPartitionID)
	}
	return nil
}

// RecordLimit is the largest accepted record in encoded bytes
// (MaxRecordBytes, or its default when zero).
func (c RecordStore) RecordLimit() int {
	if c.MaxRecordBytes == 0 {
		return DefaultMaxRecordBytes
	}
	return c.MaxRecordBytes.Int()
}

// PartitionLimit is the highest accepted partition id (MaxPartitionID, or
// its default when zero).
func (c RecordStore) PartitionLimit() int32 {
	if c.MaxPartitionID == 0 {
		return DefaultMaxPartitionID
	}
	return c.MaxPartitionID
}

// IngestToken is the bearer token of ingest's push API
// (FLOWLINE_INGEST_TOKEN or FLOWLINE_INGEST_TOKEN_FILE): ingest checks it,
// `flowline replay` and `flowline generate` send it. It never comes from a
// command line, where other users of the machine can read it. Embed it
// without a tag.
type IngestToken struct {
	Token     string `envconfig:"INGEST_TOKEN" desc:"bearer token of the push API: when set, requests need Authorization: Bearer <token> (never printed)"`
	TokenFile string `envconfig:"INGEST_TOKEN_FILE" desc:"file holding the bearer token instead of INGEST_TOKEN (surrounding whitespace ignored), e.g. a mounted secret"`
}

// Validate implements Validator: at most one source of the token.
func (c IngestToken) Validate() error {
	if c.Token != "" && c.TokenFile != "" {
		return invalid("INGEST_TOKEN_FILE", "set INGEST_TOKEN or INGEST_TOKEN_FILE, not both")
	}
	return nil
}

// Resolve returns the token: Token, or the content of TokenFile without
// surrounding whitespace; "" when neither is set. An unreadable or empty
// file is an error naming it.
func (c IngestToken) Resolve() (string, error) {
	if c.TokenFile == "" {
		return c.Token, nil
	}
	b, err := os.ReadFile(c.TokenFile)
	if err != nil {
		return "", fmt.Errorf("%w: %s_INGEST_TOKEN_FILE: %v", ErrInvalid, Prefix, err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", invalid("INGEST_TOKEN_FILE", "%s is empty", c.TokenFile)
	}
	return tok, nil
}
