package faults

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/deadletter"
	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
)

// Comparison is the faulted run's documents against the reference run's,
// alias by alias.
type Comparison struct {
	Documents  int `json:"reference_documents"`
	Lost       int `json:"lost"`       // in the reference, not in the run
	Duplicated int `json:"duplicated"` // more than once in one alias of the run
	Stale      int `json:"stale"`      // an older version than the reference's
	Extra      int `json:"extra"`      // in the run, not in the reference
	// Different: the same version with another _source (newer versions
	// count here too): nothing explains it but a bug.
	Different int `json:"different"`
	// ArchiveDifferent: process instances the archiver moved in one run
	// and not in the other (or into another dated index).
	ArchiveDifferent  int      `json:"archive_different"`
	ArchivedInstances int      `json:"archived_instances"` // by the reference
	Examples          []string `json:"examples,omitempty"`
}

// Failed reports whether the runs differ.
func (c Comparison) Failed() bool {
	return c.Lost+c.Duplicated+c.Stale+c.Extra+c.Different+c.ArchiveDifferent > 0
}

func (c *Comparison) example(format string, args ...any) {
	if len(c.Examples) < 20 {
		c.Examples = append(c.Examples, fmt.Sprintf(format, args...))
	}
}

// docState is what is compared of a document.
type docState struct {
	index   string // without the run's prefix
	version int64
	source  [32]byte
	copies  int
}

// readAlias reads every document of a family's alias under prefix.
func readAlias(ctx context.Context, es *search.Client, prefix string, f schema.Family) (map[string]*docState, error) {
	out := map[string]*docState{}
	err := search.Scan(ctx, es, schema.Alias(prefix, f), map[string]any{"match_all": map[string]any{}}, 5000, func(hits []search.Hit) error {
		for _, h := range hits {
			sum, err := canonical(h.Source)
			if err != nil {
				return fmt.Errorf("%s %s: %w", h.Index, h.ID, err)
			}
			if d := out[h.ID]; d != nil {
				d.copies++
				continue
			}
			out[h.ID] = &docState{index: strings.TrimPrefix(h.Index, prefix), version: h.Version, source: sum, copies: 1}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", schema.Alias(prefix, f), err)
	}
	return out, nil
}

// canonical hashes a _source with its object keys sorted.
func canonical(src json.RawMessage) ([32]byte, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(src))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return [32]byte{}, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(b), nil
}

// compareRuns compares every family's alias of run with reference's.
func compareRuns(ctx context.Context, es *search.Client, reference, run string) (Comparison, error) {
	var c Comparison
	for _, f := range schema.Families {
		want, err := readAlias(ctx, es, reference, f)
		if err != nil {
			return c, err
		}
		got, err := readAlias(ctx, es, run, f)
		if err != nil {
			return c, err
		}
		c.Documents += len(want)
		ids := make([]string, 0, len(want))
		for id := range want {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			w, g := want[id], got[id]
			if f == schema.ListView && w.index != schema.RuntimeIndex("", f) {
				c.ArchivedInstances++
			}
			switch {
			case g == nil:
				c.Lost++
				c.example("lost: %s %s (version %d)", f, id, w.version)
				continue
			case g.copies > 1:
				c.Duplicated++
				c.example("duplicated: %s %s in %d indices", f, id, g.copies)
			case g.version < w.version:
				c.Stale++
				c.example("stale: %s %s at version %d, reference %d", f, id, g.version, w.version)
			case g.source != w.source || g.version != w.version:
				c.Different++
				c.example("different: %s %s (version %d, reference %d)", f, id, g.version, w.version)
			}
			if g.index != w.index { // archived (into which dated index) or not
				c.ArchiveDifferent++
				c.example("archive: %s %s in %s, reference in %s", f, id, g.index, w.index)
			}
		}
		for id, g := range got {
			if want[id] == nil {
				c.Extra++
				c.example("extra: %s %s (version %d) in %s", f, id, g.version, g.index)
			}
		}
	}
	return c, nil
}

// DeadLetters compares the runs' dead letters.
type DeadLetters struct {
	Reference  int      `json:"reference"`
	Run        int      `json:"run"`
	Unexpected int      `json:"unexpected"` // dead-lettered by the run and not by the reference
	Missing    int      `json:"missing"`    // dead-lettered by the reference and not by the run
	Examples   []string `json:"examples,omitempty"`
}

// deadLetterKeys lists a run's dead letters as service and reason.
func deadLetterKeys(ctx context.Context, js jetstream.JetStream) ([]string, error) {
	letters, err := deadletter.New(js, nil).List(ctx, deadletter.Filter{})
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(letters))
	for _, l := range letters {
		keys = append(keys, l.Service+": "+l.Reason)
	}
	return keys, nil
}

// compareDeadLetters finds the run's dead letters the reference has not
// (as many times), and the reference's the run has not: a record the
// reference dead-lettered and the run lost without a trace.
func compareDeadLetters(reference, run []string) DeadLetters {
	d := DeadLetters{Reference: len(reference), Run: len(run)}
	left := map[string]int{}
	for _, k := range reference {
		left[k]++
	}
	for _, k := range run {
		if left[k] > 0 {
			left[k]--
			continue
		}
		d.Unexpected++
		if len(d.Examples) < 10 {
			d.Examples = append(d.Examples, "unexpected: "+k)
		}
	}
	for _, k := range reference {
		if left[k] > 0 {
			left[k]--
			d.Missing++
			if len(d.Examples) < 10 {
				d.Examples = append(d.Examples, "missing: "+k)
			}
		}
	}
	return d
}
