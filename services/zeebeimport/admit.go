package zeebeimport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/flowline/flowline/pkg/config"
	recordv1 "github.com/flowline/flowline/pkg/pb/recordv1"
	"github.com/flowline/flowline/pkg/recordlog"
	"github.com/flowline/flowline/pkg/wire"
)

// admit checks a record read from the exporter the way ingest checks a
// pushed one: wire.CheckDecoded (JSON-text fields hold JSON,
// no negative position) and the record store's limits (recordlog.Check).
// It returns "" when the record may be stored, else the result label of its
// dead letter ("invalid" or "too-large") and the reason. A record over
// FLOWLINE_INGEST_MAX_RECORD_BYTES can never be stored: it is dead-lettered
// with the limit, never retried.
func admit(cfg config.RecordStore, p int32, rec *recordv1.Record) (result, reason string) {
	size := rec.SizeVT()
	if size > cfg.RecordLimit() {
		err := recordlog.Check(cfg, p, size)
		return "too-large", fmt.Sprintf("zeebe import: partition %d, position %d: %v; raise the limit and redrive", p, rec.Position, err)
	}
	_, err := wire.CheckDecoded(rec)
	if err == nil {
		err = recordlog.Check(cfg, p, size)
	}
	if err != nil {
		return "invalid", fmt.Sprintf("zeebe import: partition %d, position %d: %v", p, rec.Position, err)
	}
	return "", ""
}

// cappedPartitions lists the partitions of discover up to the record
// store's partition cap; a higher one is not imported, and said so at
// ERROR once per partition.
func cappedPartitions(cfg config.RecordStore, log *slog.Logger, discover func(context.Context) ([]int32, error)) func(context.Context) ([]int32, error) {
	var (
		mu     sync.Mutex
		warned = map[int32]bool{}
	)
	return func(ctx context.Context) ([]int32, error) {
		ps, err := discover(ctx)
		kept := ps[:0:0]
		for _, p := range ps {
			if cerr := recordlog.Check(cfg, p, 0); errors.Is(cerr, recordlog.ErrPartitionOutOfRange) {
				mu.Lock()
				if !warned[p] {
					warned[p] = true
					log.Error("partition not imported", "partition", p, "reason", cerr)
				}
				mu.Unlock()
				continue
			}
			kept = append(kept, p)
		}
		return kept, err
	}
}
