package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/flowline/flowline/internal/procstack"
	"github.com/flowline/flowline/pkg/stream"
)

// catchUp tells when the pipeline has written everything ingest had
// stored at a moment: under a steady load the backlog is rarely empty, so
// "lag back to zero" after a fault means that every record stored before
// the fault ended has been folded (each aggregator consumer acknowledged
// past the records stream's last sequence then, or has nothing open),
// and then that every document message published up to that point has
// been written (the documents work queue holds none of them). Used by one
// goroutine.
type catchUp struct {
	st         *procstack.Stack
	partitions int
	records    uint64 // the records stream's last sequence at the mark
	docs       uint64 // the documents stream's last sequence once the records were folded; 0 before
	at         time.Time
}

// markCatchUp takes the mark: the records stream's last sequence now.
func markCatchUp(ctx context.Context, st *procstack.Stack, partitions int) (*catchUp, error) {
	last, err := lastSeq(ctx, st, stream.RecordsStream)
	if err != nil {
		return nil, err
	}
	return &catchUp{st: st, partitions: partitions, records: last}, nil
}

func lastSeq(ctx context.Context, st *procstack.Stack, name string) (uint64, error) {
	state, err := procstack.StreamState(ctx, st.JS, name)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", name, err)
	}
	return state.LastSeq, nil
}

// poll reports whether the pipeline has caught up with the mark, and
// when it first did.
func (c *catchUp) poll(ctx context.Context) (time.Time, bool) {
	if !c.at.IsZero() {
		return c.at, true
	}
	// A request whose answer is lost (a server going down) waits for its
	// context: bound each poll, and stop the consumer lister with it.
	ctx, cancel := context.WithTimeout(ctx, procstack.APITimeout)
	defer cancel()
	if c.docs == 0 {
		s, err := c.st.JS.Stream(ctx, stream.RecordsStream)
		if err != nil {
			return time.Time{}, false
		}
		lister := s.ListConsumers(ctx)
		found := 0
		for ci := range lister.Info() {
			found++
			if ci.AckFloor.Stream < c.records && ci.NumPending+uint64(ci.NumAckPending) > 0 {
				return time.Time{}, false
			}
		}
		if lister.Err() != nil || found < c.partitions {
			return time.Time{}, false
		}
		last, err := lastSeq(ctx, c.st, stream.DocsStream)
		if err != nil {
			return time.Time{}, false
		}
		c.docs = max(last, 1)
	}
	state, err := procstack.StreamState(ctx, c.st.JS, stream.DocsStream)
	if err != nil || (state.Msgs > 0 && state.FirstSeq <= c.docs) {
		return time.Time{}, false
	}
	c.at = time.Now()
	return c.at, true
}
