package stream

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/config"
)

const (
	// maxMsgSize bounds the messages of every stream. It is larger than the
	// server's default so ingest can batch a partition's records into one
	// message (see services/ingest), and the same everywhere because a dead
	// letter carries the message that failed whole.
	maxMsgSize = 8 << 20
	// dedupWindow is how long the records and docs streams remember message
	// ids, dropping a message published again under the same id.
	dedupWindow = 2 * time.Minute
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
			Duplicates:  dedupWindow,
			MaxMsgSize:  maxMsgSize,
		},
		{
			Name:        DocsStream,
			Description: "entity documents built by the aggregator, consumed by writers",
			Subjects:    []string{AllDocs},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.WorkQueuePolicy,
			Replicas:    cfg.Replicas,
			Duplicates:  dedupWindow,
			MaxMsgSize:  maxMsgSize,
		},
		{
			Name:        DLQStream,
			Description: "messages and documents a service could not process, with the reason in a header",
			Subjects:    []string{AllDLQ},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      cfg.DLQMaxAge,
			Replicas:    cfg.Replicas,
			MaxMsgSize:  maxMsgSize,
		},
	}
}

// EnsureStreams creates or updates Flowline's streams; idempotent, and safe
// for several services to call at once.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, cfg config.Streams) error {
	for _, sc := range StreamConfigs(cfg) {
		// A stream already configured as wanted is left alone: every
		// service calls this at start, and needless updates race with
		// consumers being created (and churn the cluster's metadata).
		if st, err := js.Stream(ctx, sc.Name); err == nil && sameStreamConfig(st.CachedInfo().Config, sc) {
			continue
		}
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("stream: ensure %s: %w", sc.Name, err)
		}
	}
	return nil
}

// sameStreamConfig reports whether an existing stream has every setting
// Flowline manages as wanted.
func sameStreamConfig(have, want jetstream.StreamConfig) bool {
	return slices.Equal(have.Subjects, want.Subjects) && have.Storage == want.Storage && have.Retention == want.Retention &&
		have.MaxAge == want.MaxAge && have.Replicas == want.Replicas && have.Duplicates == want.Duplicates &&
		have.MaxMsgSize == want.MaxMsgSize && have.Description == want.Description
}
