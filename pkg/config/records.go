package config

// RecordStore configures how records are stored on the records stream, by
// ingest and by the Zeebe import alike (FLOWLINE_INGEST_EVENTS_ONLY,
// _BATCH_RECORDS, _BATCH_BYTES). Embed it without a tag.
type RecordStore struct {
	EventsOnly   bool `envconfig:"INGEST_EVENTS_ONLY" default:"true" desc:"count and drop records whose recordType is not EVENT"`
	BatchRecords int  `envconfig:"INGEST_BATCH_RECORDS" default:"1000" desc:"most records of one partition per JetStream message"`
	BatchBytes   int  `envconfig:"INGEST_BATCH_BYTES" default:"786432" desc:"most encoded bytes per JetStream message (keep under the server's max_payload)"`
}

// Validate implements Validator.
func (c RecordStore) Validate() error {
	if c.BatchRecords <= 0 {
		return invalid("INGEST_BATCH_RECORDS", "must be positive, got %d", c.BatchRecords)
	}
	if c.BatchBytes <= 1024 {
		return invalid("INGEST_BATCH_BYTES", "must be above 1024, got %d", c.BatchBytes)
	}
	return nil
}
