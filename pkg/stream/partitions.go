package stream

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"
)

// Partitions lists, in order, the partitions that have messages in stream
// name under the wildcard subject all (AllRecords or AllDocs). A stream that
// does not exist yet has none. Subjects that do not end in a partition id
// are skipped. Safe for concurrent use.
func Partitions(ctx context.Context, js jetstream.JetStream, name, all string) ([]int32, error) {
	st, err := js.Stream(ctx, name)
	if err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("stream: partitions of %s: %w", name, err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(all))
	if err != nil {
		return nil, fmt.Errorf("stream: partitions of %s: %w", name, err)
	}
	parts := make([]int32, 0, len(info.State.Subjects))
	for subj := range info.State.Subjects {
		if p, err := PartitionOf(subj); err == nil {
			parts = append(parts, p)
		}
	}
	slices.Sort(parts)
	return parts, nil
}
