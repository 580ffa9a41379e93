package search_test

// The tests of this file run against the real Elasticsearch of testenv.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/search"
)

// The executor against Elasticsearch: written, stale, rejected and gone
// (done) items are final; a write-blocked index (403 on index operations) is the
// cluster's doing, pushed back until the attempts run out, and written once
// the block is lifted.
func TestBulkExecutorAgainstElasticsearch(t *testing.T) {
	es, _, index := newIndex(t, "exec")
	ctx := context.Background()
	if _, err := es.Do(ctx, search.Request{Method: http.MethodPut, Path: "/" + index + "/_mapping",
		Body: []byte(`{"dynamic":"strict","properties":{"n":{"type":"long"}}}`), What: "mapping of " + index}); err != nil {
		t.Fatal(err)
	}

	type op struct {
		id      string
		version int64
		source  string
		delete  bool
	}
	do := func(e *search.BulkExecutor, ops []op) (string, error) {
		got := make([]string, len(ops))
		err := e.Do(ctx, len(ops), func(buf []byte, i int) []byte {
			if ops[i].delete {
				return search.AppendDelete(buf, index, ops[i].id, "", ops[i].version)
			}
			return search.AppendOp(buf, search.Op{Index: index, ID: ops[i].id, Version: ops[i].version, Source: []byte(ops[i].source)})
		}, func(i int, r search.Result) bool {
			got[i] = fmt.Sprintf("%v/%d", r.Outcome, r.Status)
			return true
		})
		return strings.Join(got, " "), err
	}
	e := search.NewBulkExecutor(es, search.BulkPolicy{MaxAttempts: 2})

	got, err := do(e, []op{{"1", 5, `{"n":1}`, false}, {"2", 5, `{"n":2}`, false}})
	if err != nil || got != "done/201 done/201" {
		t.Fatalf("first write: %q %v", got, err)
	}
	got, err = do(e, []op{{"1", 4, `{"n":0}`, false}, {"3", 1, `{"unmapped":true}`, false}, {"2", 5, "", true}, {"9", 1, "", true}})
	if err != nil || got != "stale/409 rejected/400 done/200 done/404" {
		t.Fatalf("stale, rejected, deleted, gone: %q %v", got, err)
	}

	block := func(on bool) {
		t.Helper()
		if err := search.PutIndexSettings(ctx, es, index, fmt.Appendf(nil, `{"index.blocks.write":%v}`, on)); err != nil {
			t.Fatal(err)
		}
	}
	block(true)
	got, err = do(e, []op{{"4", 1, `{"n":4}`, false}})
	if !errors.Is(err, search.ErrPushedBack) || got != "" {
		t.Errorf("write-blocked: %q %v, want nothing reported and ErrPushedBack", got, err)
	}
	if err != nil && !strings.Contains(err.Error(), "cluster_block_exception") {
		t.Errorf("error %q does not say why", err)
	}
	block(false)
	got, err = do(e, []op{{"4", 1, `{"n":4}`, false}})
	if err != nil || got != "done/"+fmt.Sprint(http.StatusCreated) {
		t.Errorf("block lifted: %q %v", got, err)
	}
}

// Conditions of the cluster against Elasticsearch, through an executor
// with a Refusals: a closed index (item 400 index_closed_exception) and a
// missing index that may not be created (item 404 index_not_found_exception;
// require_alias makes one of a missing name, without touching the cluster's
// auto_create_index) and an alias without a write index (item 400
// illegal_argument_exception) are pushed back as ErrClusterRefused, nothing is
// reported, readiness (Err) names the condition; once it is lifted the
// documents are written and Err is nil.
func TestBulkExecutorRetriesClusterConditionsAgainstElasticsearch(t *testing.T) {
	es, prefix, index := newIndex(t, "cond")
	ctx := context.Background()
	missing, shared := prefix+"-later", prefix+"-shared"
	for _, tc := range []struct {
		name, reason string
		target       string
		action       string
		apply, lift  func()
	}{
		{
			name: "ClosedIndex", reason: "index_closed_exception", target: index,
			action: `{"index":{"_index":%q,"_id":%q,"version":1,"version_type":"external"}}`,
			apply: func() {
				if _, err := es.Do(ctx, search.Request{Method: http.MethodPost, Path: "/" + index + "/_close", What: "close " + index}); err != nil {
					t.Fatal(err)
				}
			},
			lift: func() {
				if _, err := es.Do(ctx, search.Request{Method: http.MethodPost, Path: "/" + index + "/_open",
					Query: url.Values{"wait_for_active_shards": {"1"}}, What: "open " + index}); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "MissingIndex", reason: "index_not_found_exception", target: missing,
			action: `{"index":{"_index":%q,"_id":%q,"version":1,"version_type":"external","require_alias":true}}`,
			apply:  func() {},
			lift: func() {
				if err := search.CreateIndex(ctx, es, missing+"-1", map[string]any{"number_of_replicas": 0}); err != nil {
					t.Fatal(err)
				}
				if _, err := es.Do(ctx, search.Request{Method: http.MethodPut, Path: "/" + missing + "-1/_alias/" + missing, What: "alias " + missing}); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			// An alias over two indices, neither its write index (400
			// illegal_argument_exception "no write index is defined for
			// alias"); lifted by naming one.
			name: "AliasWithoutWriteIndex", reason: "no write index", target: shared,
			action: `{"index":{"_index":%q,"_id":%q,"version":1,"version_type":"external"}}`,
			apply: func() {
				for _, name := range []string{shared + "-1", shared + "-2"} {
					if err := search.CreateIndex(ctx, es, name, map[string]any{"number_of_replicas": 0}); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := es.Do(ctx, search.Request{Method: http.MethodPut, Path: "/" + shared + "-1," + shared + "-2/_alias/" + shared, What: "alias " + shared}); err != nil {
					t.Fatal(err)
				}
			},
			lift: func() {
				if _, err := es.Do(ctx, search.Request{Method: http.MethodPost, Path: "/_aliases", Body: fmt.Appendf(nil,
					`{"actions":[{"add":{"index":%q,"alias":%q,"is_write_index":true}}]}`, shared+"-2", shared), What: "write index of " + shared}); err != nil {
					t.Fatal(err)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.apply()
			_, esCfg := testenv.Elasticsearch(t)
			r := search.NewRefusals(testenv.Logger(t), "FLOWLINE_ES_", esCfg.ES, nil)
			e := search.NewBulkExecutor(es, search.BulkPolicy{MaxAttempts: 2, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond, Refusals: r})
			appendOp := func(buf []byte, i int) []byte {
				buf = fmt.Appendf(buf, tc.action+"\n", tc.target, fmt.Sprint(i))
				return append(buf, `{"n":1}`+"\n"...)
			}
			reported := 0
			onResult := func(int, search.Result) bool { reported++; return true }
			err := e.Do(ctx, 2, appendOp, onResult)
			if !errors.Is(err, search.ErrClusterRefused) || !strings.Contains(err.Error(), tc.reason) || reported != 0 {
				t.Errorf("while refused: %d reported, err %v; want none reported and ErrClusterRefused naming %s", reported, err, tc.reason)
			}
			if err := r.Err(); err == nil || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("Err() = %v while refused, want it to name %s", err, tc.reason)
			}
			tc.lift()
			if err := e.Do(ctx, 2, appendOp, onResult); err != nil || reported != 2 {
				t.Errorf("once lifted: %d reported, err %v; want both written", reported, err)
			}
			if err := r.Err(); err != nil {
				t.Errorf("Err() = %v once lifted", err)
			}
		})
	}
}

// Count and Terms against Elasticsearch: all documents or those matching a
// query, the distinct values of a field, and an index pattern that matches
// nothing counting as empty.
func TestCountAndTerms(t *testing.T) {
	es, prefix, index := newIndex(t, "q")
	ctx := context.Background()
	e := search.NewBulkExecutor(es, search.BulkPolicy{MaxAttempts: 2})
	partitions := []int64{3, 1, 3, 2, 3}
	err := e.Do(ctx, len(partitions), func(buf []byte, i int) []byte {
		return search.AppendOp(buf, search.Op{Index: index, ID: fmt.Sprint(i), Version: 1, Source: []byte(fmt.Sprintf(`{"p":%d}`, partitions[i]))})
	}, func(int, search.Result) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if err := search.Refresh(ctx, es, index); err != nil {
		t.Fatal(err)
	}
	threes := map[string]any{"term": map[string]any{"p": 3}}
	for _, tt := range []struct {
		index string
		query any
		want  int64
	}{{index, nil, 5}, {index, threes, 3}, {prefix + "-none-*", nil, 0}} {
		if n, err := search.Count(ctx, es, tt.index, tt.query); err != nil || n != tt.want {
			t.Errorf("Count(%s, %v) = %d, %v; want %d", tt.index, tt.query, n, err, tt.want)
		}
	}
	got, err := search.Terms(ctx, es, prefix+"-*", "p", nil, 10)
	slices.Sort(got)
	if err != nil || !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("Terms = %v, %v; want [1 2 3]", got, err)
	}
	if got, err := search.Terms(ctx, es, prefix+"-none-*", "p", nil, 10); err != nil || len(got) != 0 {
		t.Errorf("Terms of no index = %v, %v; want none", got, err)
	}
}

// newIndex creates the index <prefix>-<suffix>, without replicas, under an
// index prefix of the test's own (dropped at cleanup).
func newIndex(t *testing.T, suffix string) (es *search.Client, prefix, index string) {
	t.Helper()
	env := testenv.NewEnv(t)
	index = env.Prefix + "-" + suffix
	if err := search.CreateIndex(context.Background(), env.ES, index, map[string]any{"number_of_replicas": 0}); err != nil {
		t.Fatal(err)
	}
	return env.ES, env.Prefix, index
}
