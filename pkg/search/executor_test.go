package search

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowline/flowline/pkg/config"
)

// bulkOps sends ops in one round and returns their results (tests).
func bulkOps(ctx context.Context, c *Client, ops []Op) ([]Result, error) {
	out := make([]Result, len(ops))
	err := NewBulkExecutor(c, BulkPolicy{MaxAttempts: 1}).Do(ctx, len(ops),
		func(buf []byte, i int) []byte { return AppendOp(buf, ops[i]) },
		func(i int, r Result) bool { out[i] = r; return true })
	return out, err
}

// newFakeClient is a client of the stand-in at url, fixed to Elasticsearch
// (the stand-ins answer every request as a bulk request, so the engine is
// not detected), closed at cleanup.
func newFakeClient(t *testing.T, url string, opts ...ClientOption) *Client {
	t.Helper()
	c, err := NewClient(config.Search{Engine: config.EngineElasticsearch, ES: config.Elasticsearch{URL: url}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// fakeBulk is a stand-in for Elasticsearch's bulk API: answer gives, for
// the call-th request (from 0) holding the operations ids, the HTTP status
// and, with 200, each item's status.
type fakeBulk struct {
	answer func(call int, ids []string) (status int, items []int)

	mu       sync.Mutex
	requests [][]string // ids of each request
	sizes    []int      // body bytes of each request
	refused  int        // requests answered with an error status
}

func (f *fakeBulk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ids, actions []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]struct {
			ID string `json:"_id"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		for action, meta := range line {
			ids, actions = append(ids, meta.ID), append(actions, action)
			if action == "index" {
				sc.Scan() // its source
			}
		}
	}
	f.mu.Lock()
	call := len(f.requests)
	f.requests = append(f.requests, ids)
	f.sizes = append(f.sizes, len(body))
	f.mu.Unlock()

	status, items := f.answer(call, ids)
	if status != http.StatusOK {
		f.mu.Lock()
		f.refused++
		f.mu.Unlock()
	}
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if status != http.StatusOK {
		fmt.Fprintf(w, `{"error":{"type":"fake_%d","reason":"the fake says %d"},"status":%d}`, status, status, status)
		return
	}
	var out strings.Builder
	out.WriteString(`{"errors":true,"items":[`)
	for i, st := range items {
		if i > 0 {
			out.WriteByte(',')
		}
		if st >= 300 {
			errType := fmt.Sprintf("item_%d", st)
			if st == http.StatusBadRequest {
				errType = "mapper_parsing_exception" // the document's own fault
			}
			fmt.Fprintf(&out, `{%q:{"status":%d,"error":{"type":%q,"reason":"item %s"}}}`, actions[i], st, errType, ids[i])
		} else {
			fmt.Fprintf(&out, `{%q:{"status":%d}}`, actions[i], st)
		}
	}
	out.WriteString(`]}`)
	io.WriteString(w, out.String())
}

// firstThenCreated answers the first calls requests with status and
// items, and then 201 for every item.
func firstThenCreated(calls, status int, items ...int) func(int, []string) (int, []int) {
	return func(call int, ids []string) (int, []int) {
		if call < calls {
			return status, items
		}
		return itemStatus("", 0)(call, ids)
	}
}

// refusedWith answers status to the requests that hold operation id, and
// 201 for every item of the others.
func refusedWith(id string, status int) func(int, []string) (int, []int) {
	return func(call int, ids []string) (int, []int) {
		if slices.Contains(ids, id) {
			return status, nil
		}
		return itemStatus("", 0)(call, ids)
	}
}

// itemStatus answers 200 with status for operation id's item and 201 for
// the others.
func itemStatus(id string, status int) func(int, []string) (int, []int) {
	return func(_ int, ids []string) (int, []int) {
		out := make([]int, len(ids))
		for i, x := range ids {
			out[i] = http.StatusCreated
			if x == id {
				out[i] = status
			}
		}
		return http.StatusOK, out
	}
}

func TestBulkExecutorPolicy(t *testing.T) {
	tests := []struct {
		name   string
		policy BulkPolicy
		ops    int
		answer func(call int, ids []string) (int, []int)
		keep   func() func(i int, r Result) bool // makes onResult's answer; nil: every result is final

		wantErr      []error  // what Do's error matches; nil: no error
		wantReports  string   // "i:outcome/status" of each report, in order, "!" when refused alone
		wantRequests []string // ids of each request
		wantRetries  []error  // what each BeforeRetry's error matches
	}{
		{
			name: "all written in one request", ops: 3,
			answer:       func(int, []string) (int, []int) { return http.StatusOK, []int{201, 200, 409} },
			wantReports:  "0:done/201 1:done/200 2:stale/409",
			wantRequests: []string{"0 1 2"},
		},
		{
			name: "items pushed back are sent again alone", ops: 4,
			answer:       firstThenCreated(1, http.StatusOK, 201, 429, 201, 503),
			wantReports:  "0:done/201 2:done/201 1:done/201 3:done/201",
			wantRequests: []string{"0 1 2 3", "1 3"},
			wantRetries:  []error{ErrPushedBack},
		},
		{
			name: "403 and 404 on an index operation are the cluster's, sent again", ops: 3,
			answer:       firstThenCreated(1, http.StatusOK, 403, 404, 400),
			wantReports:  "2:rejected/400 0:done/201 1:done/201",
			wantRequests: []string{"0 1 2", "0 1"},
			wantRetries:  []error{ErrPushedBack},
		},
		{
			name: "an unavailable request is sent again whole", ops: 3,
			answer:       firstThenCreated(1, http.StatusServiceUnavailable),
			wantReports:  "0:done/201 1:done/201 2:done/201",
			wantRequests: []string{"0 1 2", "0 1 2"},
			wantRetries:  []error{ErrUnavailable},
		},
		{
			name: "a request too large is split in halves down to the operation at fault", ops: 4,
			answer:       refusedWith("2", http.StatusRequestEntityTooLarge),
			wantReports:  "0:done/201 1:done/201 2:rejected/413! 3:done/201",
			wantRequests: []string{"0 1 2 3", "0 1", "2 3", "2", "3"},
		},
		{
			name: "a malformed request is split like a too large one", ops: 3,
			answer:       refusedWith("0", http.StatusBadRequest),
			wantReports:  "0:rejected/400! 1:done/201 2:done/201",
			wantRequests: []string{"0 1 2", "0", "1 2"},
		},
		{
			name: "attempts run out: what is still pushed back is not reported", policy: BulkPolicy{MaxAttempts: 3}, ops: 2,
			answer:       itemStatus("1", http.StatusTooManyRequests),
			wantErr:      []error{ErrPushedBack, ErrUnavailable},
			wantReports:  "0:done/201",
			wantRequests: []string{"0 1", "1", "1"},
			wantRetries:  []error{ErrPushedBack, ErrPushedBack},
		},
		{
			name: "a refused request is given up at once", ops: 2,
			answer:       func(int, []string) (int, []int) { return http.StatusUnauthorized, nil },
			wantErr:      []error{ErrRejected, ErrAuth},
			wantRequests: []string{"0 1"},
		},
		{
			name: "a refused request is sent again under RetryRefused", policy: BulkPolicy{RetryRefused: true}, ops: 2,
			answer:       firstThenCreated(2, http.StatusForbidden),
			wantReports:  "0:done/201 1:done/201",
			wantRequests: []string{"0 1", "0 1", "0 1"},
			wantRetries:  []error{ErrAuth, ErrAuth},
		},
		{
			name: "a result the caller keeps is sent and reported again", ops: 2,
			answer: itemStatus("1", http.StatusBadRequest),
			keep: func() func(int, Result) bool {
				kept := false
				return func(i int, r Result) bool {
					if r.Outcome == Rejected && !kept {
						kept = true
						return false
					}
					return true
				}
			},
			wantReports:  "0:done/201 1:rejected/400 1:rejected/400",
			wantRequests: []string{"0 1", "1"},
			wantRetries:  []error{ErrPushedBack},
		},
		{
			name: "nothing to send", ops: 0,
			answer: func(int, []string) (int, []int) { return http.StatusOK, nil },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeBulk{answer: tt.answer}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			c := newFakeClient(t, srv.URL)
			var reports []string
			var retries []error
			var sizes []int
			var failedRequests int
			policy := tt.policy
			policy.MinBackoff, policy.MaxBackoff = time.Millisecond, 2*time.Millisecond
			policy.AfterRequest = func(bodyBytes int, _ time.Duration, results []Result) {
				sizes = append(sizes, bodyBytes)
				if results == nil {
					failedRequests++
				}
			}
			policy.BeforeRetry = func(err error, ops int, wait time.Duration) {
				retries = append(retries, err)
				if ops <= 0 || wait <= 0 || wait > 2*time.Millisecond {
					t.Errorf("BeforeRetry(%v, %d, %v)", err, ops, wait)
				}
			}
			e := NewBulkExecutor(c, policy)
			// Twice with one executor: its reused buffers carry nothing over.
			for run := range 2 {
				reports, retries, sizes, failedRequests = nil, nil, nil, 0
				fake.mu.Lock()
				fake.requests, fake.sizes, fake.refused = nil, nil, 0
				fake.mu.Unlock()
				keep := func(int, Result) bool { return true }
				if tt.keep != nil {
					keep = tt.keep()
				}
				err := e.Do(context.Background(), tt.ops, func(buf []byte, i int) []byte {
					return AppendOp(buf, Op{Index: "t", ID: fmt.Sprint(i), Version: 1, Source: []byte(`{"n":` + fmt.Sprint(i) + `}`)})
				}, func(i int, r Result) bool {
					report := fmt.Sprintf("%d:%v/%d", i, r.Outcome, r.Status)
					if r.Err != nil {
						report += "!"
						if r.Reason != r.Err.Error() || r.Status == http.StatusRequestEntityTooLarge && !errors.Is(r.Err, ErrTooLarge) {
							t.Errorf("op %d refused alone: %+v", i, r)
						}
					}
					reports = append(reports, report)
					return keep(i, r)
				})
				if tt.wantErr == nil && err != nil {
					t.Fatalf("run %d: Do: %v", run, err)
				}
				for _, want := range tt.wantErr {
					if !errors.Is(err, want) {
						t.Errorf("run %d: Do: err = %v, want it to match %v", run, err, want)
					}
				}
				if got := strings.Join(reports, " "); got != tt.wantReports {
					t.Errorf("run %d: reports:\n got %s\nwant %s", run, got, tt.wantReports)
				}
				fake.mu.Lock()
				var requests []string
				for _, ids := range fake.requests {
					requests = append(requests, strings.Join(ids, " "))
				}
				gotSizes, refusedRequests := fake.sizes, fake.refused
				fake.mu.Unlock()
				if !slices.Equal(requests, tt.wantRequests) {
					t.Errorf("run %d: requests:\n got %q\nwant %q", run, requests, tt.wantRequests)
				}
				if !slices.Equal(sizes, gotSizes) {
					t.Errorf("run %d: AfterRequest saw bodies of %v bytes, the server %v", run, sizes, gotSizes)
				}
				if failedRequests != refusedRequests {
					t.Errorf("run %d: AfterRequest saw %d failed requests, the server answered %d with an error", run, failedRequests, refusedRequests)
				}
				if len(retries) != len(tt.wantRetries) {
					t.Errorf("run %d: BeforeRetry called with %v, want errors matching %v", run, retries, tt.wantRetries)
					continue
				}
				for i, want := range tt.wantRetries {
					if !errors.Is(retries[i], want) {
						t.Errorf("run %d: BeforeRetry #%d: %v, want it to match %v", run, i, retries[i], want)
					}
					if want != ErrPushedBack && errors.Is(retries[i], ErrPushedBack) {
						t.Errorf("run %d: BeforeRetry #%d: a failed request told as a push back: %v", run, i, retries[i])
					}
				}
			}
		})
	}
}

// Under MaxAttempts 0 Do keeps sending until ctx is done, then says why it
// stopped and reports nothing it did not finish.
func TestBulkExecutorUntilContextDone(t *testing.T) {
	fake := &fakeBulk{answer: func(int, []string) (int, []int) { return http.StatusServiceUnavailable, nil }}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	c := newFakeClient(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	retries := 0
	e := NewBulkExecutor(c, BulkPolicy{MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		BeforeRetry: func(error, int, time.Duration) { retries++ }})
	start := time.Now()
	err := e.Do(ctx, 2, func(buf []byte, i int) []byte {
		return AppendOp(buf, Op{Index: "t", ID: fmt.Sprint(i), Version: 1, Source: []byte(`{}`)})
	}, func(i int, r Result) bool {
		t.Errorf("op %d reported: %+v", i, r)
		return true
	})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrUnavailable) {
		t.Errorf("err = %v, want the deadline and the last failure", err)
	}
	if took := time.Since(start); took < 300*time.Millisecond || took > 5*time.Second {
		t.Errorf("Do returned after %v, want when ctx is done (300ms)", took)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.requests) < 3 || retries < 2 {
		t.Errorf("%d requests and %d retries before ctx was done, want it to keep trying", len(fake.requests), retries)
	}
}
