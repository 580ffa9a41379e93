package archiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/flowline/flowline/pkg/schema"
	"github.com/flowline/flowline/pkg/search"
)

// dependents are Flowline's families whose documents belong to a process
// instance (by their processInstanceKey field); they move before its
// list-view document, which moves last, so that an instance stays
// selectable until everything of it is archived (see layout).
var dependents = []schema.Family{
	schema.FlowNodeInstance, schema.Variable, schema.Incident, schema.Job,
	schema.Task, schema.SequenceFlow, schema.DecisionInstance,
}

// errNotVerified is returned when a copied document is not found in its
// dated index at its version: nothing of the page is deleted.
var errNotVerified = errors.New("archived copy not verified")

// moveGroup moves instances (all of one period) with every document of
// theirs into the dated indices of that period. For each family and each
// page of its documents it copies (same id, same external version),
// verifies (every id present at that version, read in real time), and only
// then deletes from the runtime index, each delete conditional on the
// version that was copied. An instance with a document that could not be
// archived keeps its list-view document in the runtime index, so a later
// batch takes it up again. It returns the instances fully archived.
//
// Every step is idempotent: a batch redone after a crash at any point
// copies again what is still in the runtime index (a same-version copy is a
// no-op), and what was deleted had been verified.
func (s *Service) moveGroup(ctx context.Context, batch []instance) (int, error) {
	suffix := batch[0].suffix
	keys := make([]int64, len(batch))
	ids := make([]string, len(batch))
	for i, in := range batch {
		keys[i], ids[i] = in.key, in.id
	}
	kept := &keptSet{m: map[int64]bool{}} // instances that must stay in the runtime index

	// The dependent families are independent of each other: move them
	// concurrently, a few at a time.
	var wg sync.WaitGroup
	errs := make([]error, len(s.layout.dependents))
	sem := make(chan struct{}, s.cfg.Concurrency)
	for i, f := range s.layout.dependents {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = s.moveInstances(ctx, f, suffix, keys, ids, kept, nil)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	if err := s.moveInstances(ctx, s.layout.listView, suffix, keys, ids, kept, kept.has); err != nil {
		return 0, err
	}
	return len(batch) - kept.kept(len(batch)), nil
}

// keptSet is the set of instances to keep in the runtime index; safe for
// concurrent use.
type keptSet struct {
	mu  sync.Mutex
	m   map[int64]bool
	all bool // a document of unknown instance was refused: keep them all
}

// addAll keeps every instance of the group.
func (k *keptSet) addAll() {
	k.mu.Lock()
	k.all = true
	k.mu.Unlock()
}

func (k *keptSet) add(key int64) {
	if key == 0 { // a document that does not say its instance
		k.addAll()
		return
	}
	k.mu.Lock()
	k.m[key] = true
	k.mu.Unlock()
}

func (k *keptSet) has(key int64) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.all || k.m[key]
}

// kept is how many of n instances are kept.
func (k *keptSet) kept(n int) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.all {
		return n
	}
	return len(k.m)
}

func (k *keptSet) len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m)
}

// moveInstances moves the documents of family f of the instances keys (ids
// their list-view ids) to the dated index with suffix: for a family with a
// join, the children first, then the instances' own documents, so that an
// instance's document never moves without its children (keep, when set,
// names instances whose documents stay; see moveFamily).
func (s *Service) moveInstances(ctx context.Context, f family, suffix string, keys []int64, ids []string, kept *keptSet, keep func(int64) bool) error {
	if f.join != "" && keep == nil {
		keep = kept.has // a level never moves what a refusal below it keeps
	}
	for _, q := range f.instanceQueries(keys, ids) {
		if err := s.moveFamily(ctx, f, suffix, q, kept, keep); err != nil {
			return err
		}
	}
	return nil
}

// moveFamily moves the documents of family f matching query from the
// runtime index to the dated index with suffix, page by page. keep, when
// set, names instances (by key) whose documents are neither copied nor
// deleted.
func (s *Service) moveFamily(ctx context.Context, f family, suffix string, query any, kept *keptSet, keep func(int64) bool) error {
	src := f.runtime
	dst := src + suffix
	if err := s.ensureIndex(ctx, dst, suffix); err != nil {
		return err
	}
	return search.Scan(ctx, s.es, src, query, s.cfg.PageSize, func(hits []search.Hit) error {
		moved, err := s.movePage(ctx, f, src, dst, hits, kept, keep)
		s.metrics.documents.WithLabelValues(f.name).Add(float64(moved))
		return err
	})
}

// movePage copies hits to dst, verifies them there and deletes them from
// src; it returns how many were deleted from src.
func (s *Service) movePage(ctx context.Context, f family, src, dst string, hits []search.Hit, kept *keptSet, keep func(int64) bool) (int, error) {
	if keep != nil { // a kept instance's documents stay whole in the runtime index
		hits = slices.DeleteFunc(slices.Clone(hits), func(h search.Hit) bool { return keep(f.instanceKey(h)) })
		if len(hits) == 0 {
			return 0, nil
		}
	}
	// Copy.
	bulk := s.bulkExecutor()
	copied := make([]bool, len(hits))
	err := bulk.Do(ctx, len(hits), func(buf []byte, i int) []byte {
		return search.AppendOp(buf, search.Op{Index: dst, ID: hits[i].ID, Routing: hits[i].Routing, Version: hits[i].Version, Source: hits[i].Source})
	}, func(i int, r search.Result) bool {
		switch r.Outcome {
		case search.Done, search.Stale: // stale: the copy is already there (verified next)
			copied[i] = true
		case search.Rejected:
			s.refused(f, hits[i], dst, r.Reason, kept)
		}
		return true
	})
	if err != nil {
		return 0, fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}

	// Verify.
	refs := make([]search.DocRef, 0, len(hits))
	for i, h := range hits {
		if copied[i] {
			refs = append(refs, search.DocRef{ID: h.ID, Routing: h.Routing})
		}
	}
	if len(refs) == 0 {
		return 0, nil
	}
	versions, err := search.VersionsOf(ctx, s.es, dst, refs)
	if err != nil {
		return 0, fmt.Errorf("verify %s: %w", dst, err)
	}
	var deleting []int
	for i, h := range hits {
		if !copied[i] {
			continue
		}
		if v, ok := versions[h.ID]; !ok || v < h.Version {
			return 0, fmt.Errorf("%w: %s/%s at version %d (found %v at %d); nothing of this page is deleted", errNotVerified, dst, h.ID, h.Version, ok, v)
		}
		if keep != nil && keep(f.instanceKey(h)) {
			continue
		}
		deleting = append(deleting, i)
	}
	if len(deleting) == 0 {
		return 0, nil
	}

	// Delete what was verified, each only at the version copied.
	deleted := 0
	err = bulk.Do(ctx, len(deleting), func(buf []byte, j int) []byte {
		h := hits[deleting[j]]
		return search.AppendDelete(buf, src, h.ID, h.Routing, h.Version)
	}, func(j int, r search.Result) bool {
		h := hits[deleting[j]]
		switch {
		case r.Outcome == search.Done, r.Status == http.StatusNotFound: // 404: already gone
			deleted++
		case r.Outcome == search.Stale:
			// Updated since it was read: the newer version is not archived
			// yet; its instance stays and is moved again later.
			s.log.Warn("document changed while being archived; its instance is kept for a later batch", "index", src, "id", h.ID, "version", h.Version)
			kept.add(f.instanceKey(h))
		default:
			s.refused(f, h, src, r.Reason, kept)
		}
		return true
	})
	if err != nil {
		return deleted, fmt.Errorf("delete archived documents from %s: %w", src, err)
	}
	return deleted, nil
}

// refused handles a document Elasticsearch refuses to copy or delete for
// good: it stays where it is, and so does its instance.
func (s *Service) refused(f family, h search.Hit, index, reason string, kept *keptSet) {
	s.metrics.errors.Inc()
	key := f.instanceKey(h)
	s.log.Error("Elasticsearch refused to archive a document; it and its process instance stay in the runtime index",
		"index", index, "id", h.ID, "process_instance_key", key, "reason", reason)
	kept.add(key)
}

func mustKey(id string) int64 {
	k, _ := strconv.ParseInt(id, 10, 64)
	return k
}

// bulkExecutor sends the bulks of one page (pages of several families are
// moved at once: one executor each). Items Elasticsearch pushes back on
// (429, 5xx) and unavailable requests are retried a few times with backoff
// before giving up with an error (the batch is then redone later).
func (s *Service) bulkExecutor() *search.BulkExecutor {
	return search.NewBulkExecutor(s.es, search.BulkPolicy{
		MaxAttempts: 5, MinBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second,
		Refusals: s.refusals, // a write block or missing privilege is said once and fails readiness
		BeforeRetry: func(err error, _ int, wait time.Duration) {
			s.log.Warn("bulk request while archiving failed, retrying", "error", err, "retry_in", wait)
		},
	})
}
