package stream

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/config"
)

// StreamConfigs returns the configuration of Flowline's streams.
func StreamConfigs(cfg config.Streams) []jetstream.StreamConfig {
	return []jetstream.StreamConfig{
		{
			Name:        RecordsStream,
			Description: "Zeebe partition records, one subject per partition",
			Subjects:    []string{AllRecords},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      cfg.RecordsMaxAge,
			Replicas:    cfg.Replicas,
			Duplicates:  2 * time.Minute,
			// Larger than the default so ingest can batch a partition's
			// records into one message (see services/ingest).
			MaxMsgSize: 8 << 20,
		},
		{
			Name:        DocsStream,
			Description: "entity documents built by the aggregator, consumed by writers",
			Subjects:    []string{AllDocs},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.WorkQueuePolicy,
			Replicas:    cfg.Replicas,
			Duplicates:  2 * time.Minute,
			MaxMsgSize:  8 << 20,
		},
		{
			Name:        DLQStream,
			Description: "messages and documents a service could not process, with the reason in a header",
			Subjects:    []string{AllDLQ},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      cfg.DLQMaxAge,
			Replicas:    cfg.Replicas,
			MaxMsgSize:  8 << 20,
		},
	}
}

// EnsureStreams creates or updates Flowline's streams; idempotent, and safe
// for several services to call at once.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, cfg config.Streams) error {
	for _, sc := range StreamConfigs(cfg) {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("stream: ensure %s: %w", sc.Name, err)
		}
	}
	return nil
}
