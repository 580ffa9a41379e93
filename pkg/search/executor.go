package search

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/flowline/flowline/pkg/backoff"
)

// BulkPolicy is how long a BulkExecutor keeps trying and what it tells its
// caller on the way.
type BulkPolicy struct {
	// MaxAttempts bounds the rounds in which an operation is sent: after
	// that many, Do gives up on the operations still pending. 0: until the
	// context is done.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the jittered, doubling wait before
	// each round after the first; zero: 100 ms and 5 s.
	MinBackoff, MaxBackoff time.Duration
	// RetryRefused also sends again whole requests Elasticsearch refused
	// for another reason than what they hold (401, 403, 404...), like
	// unavailable ones: for a caller that must not give up on its
	// documents while the configuration is being fixed. Without it Do
	// returns such an error at once.
	RetryRefused bool
	// AfterRequest, when set, is called after each bulk request with the
	// size of its body, how long it took and its item results (nil when
	// the request failed), before the results are reported.
	AfterRequest func(bodyBytes int, took time.Duration, results []Result)
	// BeforeRetry, when set, is called before each backoff with why
	// operations are sent again (the failures of whole requests, or else
	// an error matching ErrPushedBack; either also matches
	// ErrClusterRefused when it is a condition of the cluster, which
	// Refusals reports), how many and the wait.
	BeforeRetry func(err error, ops int, wait time.Duration)
	// Refusals, when set, is told of every bulk request refused, or with
	// items refused, for a condition of the cluster, and of every one
	// without, so that the condition is logged (not once per item) and
	// fails the caller's readiness while it lasts.
	Refusals *Refusals
}

// ErrPushedBack means that bulk requests succeeded but some of their items
// are to be sent again: Elasticsearch pushed back on them (429, 5xx), or
// the caller kept them pending. It matches ErrUnavailable.
var ErrPushedBack = fmt.Errorf("%w: operations pushed back", ErrUnavailable)

// BulkExecutor sends operations in bulk requests until each has a final
// result, under a BulkPolicy:
//
//   - a request refused for what it holds, too large (413) or malformed
//     (400), is split in halves, sent at once, down to the operation at
//     fault, which is Rejected alone (its Result carries the request's
//     error);
//   - items Elasticsearch pushes back on (Retry: 429 and 5xx) or refuses
//     for a condition of the cluster (Retry too: 401, 403, 404 on an index
//     operation, a closed index; reported to BulkPolicy.Refusals), and whole
//     requests that failed with ErrUnavailable (or were refused, with
//     BulkPolicy.RetryRefused) are sent again, after a jittered backoff,
//     in rounds;
//   - every other item result (Done, Stale, Rejected) is final.
//
// It reuses its buffers from call to call, so that a caller writing bulk
// after bulk allocates little: it is not safe for concurrent use (use one
// per goroutine).
type BulkExecutor struct {
	es      *Client
	policy  BulkPolicy
	backoff backoff.Backoff
	body    []byte
	pending []int // operations of the current round
	again   []int // operations for the next round
}

// NewBulkExecutor returns an executor sending to es under policy.
func NewBulkExecutor(es *Client, policy BulkPolicy) *BulkExecutor {
	if policy.MinBackoff <= 0 {
		policy.MinBackoff = 100 * time.Millisecond
	}
	if policy.MaxBackoff <= 0 {
		policy.MaxBackoff = 5 * time.Second
	}
	return &BulkExecutor{es: es, policy: policy, backoff: backoff.Backoff{Min: policy.MinBackoff, Max: policy.MaxBackoff}}
}

// Do sends operations 0 to n-1, appendOp appending operation i to a bulk
// body (AppendOp, AppendDelete), and reports each operation's final result
// to onResult, in order within a response. onResult returning false keeps
// operation i pending: it is sent again in the next round and reported
// again (the writer does so when it cannot dead-letter a rejected
// document).
//
// Do returns nil once every operation is reported. Otherwise it returns
// why it gave up: the policy's attempts were used up, ctx is done, or a
// request was refused (see BulkPolicy.RetryRefused); the operations not
// reported by then were not finished.
func (e *BulkExecutor) Do(ctx context.Context, n int, appendOp func(buf []byte, i int) []byte, onResult func(i int, r Result) bool) error {
	e.pending = e.pending[:0]
	for i := range n {
		e.pending = append(e.pending, i)
	}
	e.backoff.Reset()
	for attempt := 1; len(e.pending) > 0; attempt++ {
		var r round
		e.again = e.again[:0]
		if err := e.send(ctx, e.pending, appendOp, onResult, &r); err != nil {
			return err
		}
		if len(e.again) == 0 {
			return nil
		}
		err := r.err(len(e.again), len(e.pending))
		if attempt == e.policy.MaxAttempts {
			return err
		}
		if ctx.Err() != nil {
			return errors.Join(err, ctx.Err())
		}
		d := e.backoff.Next()
		if e.policy.BeforeRetry != nil {
			e.policy.BeforeRetry(err, len(e.again), d)
		}
		if !backoff.Sleep(ctx, d) {
			return errors.Join(err, ctx.Err())
		}
		e.pending, e.again = e.again, e.pending
	}
	return nil
}

// send sends ops in one bulk request, or in halves if it is refused for
// what it holds, reports the final results and adds the operations to send
// again to e.again; it returns an error only for a refused request that is
// not to be retried.
func (e *BulkExecutor) send(ctx context.Context, ops []int, appendOp func([]byte, int) []byte, onResult func(int, Result) bool, r *round) error {
	e.body = e.body[:0]
	for _, i := range ops {
		e.body = appendOp(e.body, i)
	}
	start := time.Now()
	results, err := BulkBody(ctx, e.es, e.body, len(ops))
	if e.policy.AfterRequest != nil {
		e.policy.AfterRequest(len(e.body), time.Since(start), results)
	}
	if err != nil {
		// Without a response that read it all, the transport may still be
		// sending the body: leave it to the transport.
		e.body = nil
	}
	switch {
	case err == nil:
		var condition *Result
		for j, res := range results {
			if res.Condition && condition == nil {
				condition = &results[j]
			}
			if res.Outcome == Retry || !onResult(ops[j], res) {
				r.keep(res)
				e.again = append(e.again, ops[j])
			}
		}
		if condition != nil {
			e.policy.Refusals.refused(e, refusedWrites, fmt.Errorf("HTTP %d: %s", condition.Status, condition.Reason))
		} else {
			e.policy.Refusals.accepted(e)
		}
		return nil
	case refusedForContent(err) && len(ops) > 1:
		half := len(ops) / 2
		if err := e.send(ctx, ops[:half], appendOp, onResult, r); err != nil {
			return err
		}
		return e.send(ctx, ops[half:], appendOp, onResult, r)
	case refusedForContent(err):
		res := Result{Outcome: Rejected, Status: http.StatusBadRequest, Reason: err.Error(), Err: err}
		if errors.Is(err, ErrTooLarge) {
			res.Status = http.StatusRequestEntityTooLarge
		}
		if !onResult(ops[0], res) {
			r.keep(res)
			e.again = append(e.again, ops[0])
		}
		return nil
	case errors.Is(err, ErrUnavailable):
		r.failed = errors.Join(r.failed, err)
		e.again = append(e.again, ops...)
		return nil
	default: // refused for another reason than what it holds
		kind := refusedWrites
		var se *StatusError
		if errors.As(err, &se) && se.Status == http.StatusUnauthorized {
			kind = refusedCredentials
		}
		e.policy.Refusals.refused(e, kind, err)
		err = fmt.Errorf("%w: %w", ErrClusterRefused, err)
		if !e.policy.RetryRefused {
			return err
		}
		r.failed = errors.Join(r.failed, err)
		e.again = append(e.again, ops...)
		return nil
	}
}

// refusedForContent reports whether a failed bulk request depends on the
// operations it holds: too large (413), or malformed (400: one bad
// operation spoils the whole request). Other failures do not; splitting
// would not help.
func refusedForContent(err error) bool {
	var se *StatusError
	return errors.Is(err, ErrTooLarge) || errors.As(err, &se) && se.Status == http.StatusBadRequest
}

// round is why operations of one round are sent again.
type round struct {
	failed    error  // of whole requests
	first     string // reason of the first item kept
	condition string // reason of the first item kept for a condition of the cluster
}

func (r *round) keep(res Result) {
	reason := res.Reason
	if reason == "" {
		reason = fmt.Sprintf("HTTP %d", res.Status)
	}
	if r.first == "" {
		r.first = reason
	}
	if res.Condition && r.condition == "" {
		r.condition = reason
	}
}

// err is why again of sent operations are to be sent again.
func (r *round) err(again, sent int) error {
	switch {
	case r.failed != nil:
		return r.failed
	case r.condition != "":
		return fmt.Errorf("%w: %w: %d of %d, first: %s", ErrPushedBack, ErrClusterRefused, again, sent, r.condition)
	}
	return fmt.Errorf("%w: %d of %d, first: %s", ErrPushedBack, again, sent, r.first)
}
