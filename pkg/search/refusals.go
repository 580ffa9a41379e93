package search

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/lifecycle"
)

// ErrClusterRefused means that Elasticsearch refused operations for a
// condition of the cluster or of Flowline's access to it, not for what they
// hold: wrong credentials (401), missing privileges or a block (403), a
// missing index it may not create (404), a closed index. Retrying succeeds
// once an operator lifts the condition; nothing is to be dead-lettered
// because of it.
var ErrClusterRefused = errors.New("refused by a condition of the cluster (credentials, privileges, a block, a missing or closed index)")

// Refusals keeps track of Elasticsearch refusing a service's requests for a
// condition an operator has to lift (see ErrClusterRefused). Callers retry
// such requests with backoff for as long as the condition lasts; Refusals
// says what is wrong: in the log when the condition starts (ERROR for
// credentials, WARN for the others), again at most once a minute while it
// lasts (never once per retry or per item), at INFO when it is lifted; and
// as unmet conditions of the service's readiness meanwhile (and as Err).
//
// Reports come from the client's transport (NewClient with ReportTo: a 401
// on any request; any success clears it) and from bulk executors
// (BulkPolicy.Refusals: refused bulk requests and items; a bulk request
// without any clears it). Each reporter counts on its own, so that one
// sender writing to another index does not hide another's blocked index: a
// condition lasts while the last report of some reporter is a refusal no
// older than a minute (a reporter that gave up does not hold readiness for
// ever).
//
// Safe for concurrent use; one per service, shared by its client and its
// executors.
type Refusals struct {
	log   *slog.Logger
	vars  string // prefix of the configuration's variables
	urls  string // the configured URLs, without passwords
	ready *lifecycle.Readiness
	now   func() time.Time

	mu     sync.Mutex
	by     map[any]refusal // last report of each reporter still refused
	kinds  [numRefusalKinds]refusalState
	expiry *time.Timer // pending while refusals are kept, to expire them
}

type refusalKind int

const (
	refusedCredentials refusalKind = iota // 401
	refusedWrites                         // 403, 404, blocks, closed indices
	numRefusalKinds
)

// refusalEvery is the least time between two log lines of one lasting
// condition, and how long a refusal counts without a newer report.
const refusalEvery = time.Minute

type refusal struct {
	kind refusalKind
	err  error
	at   time.Time
}

type refusalState struct {
	lasting bool      // logged as started, not yet as lifted
	since   time.Time // when it started
	logged  time.Time // last log line
	count   int       // refusals since the last log line
}

// NewRefusals returns a Refusals logging to log about the cluster of cfg,
// configured through the variables of prefix ("FLOWLINE_ES_": the ERROR
// about refused credentials names the variables to fix; the URLs are
// logged without passwords) and, when ready is not nil,
// keeping the conditions "Elasticsearch accepts the credentials" and
// "Elasticsearch accepts writes" of ready unmet, with the reason, while
// they are refused.
func NewRefusals(log *slog.Logger, prefix string, cfg config.Elasticsearch, ready *lifecycle.Readiness) *Refusals {
	return &Refusals{log: log, vars: prefix, urls: config.Redact(cfg.URL), ready: ready, now: time.Now, by: map[any]refusal{}}
}

// Err is nil unless a condition lasts; then it says which, and why
// (Elasticsearch's answer), for the service's readiness.
func (r *Refusals) Err() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.updateLocked()...)
}

// updateLocked forgets the refusals that no longer count, brings the
// readiness conditions up to date and returns the lasting conditions.
func (r *Refusals) updateLocked() []error {
	var errs []error
	for kind := range numRefusalKinds {
		last := r.lastLocked(kind)
		if last == nil {
			r.kinds[kind].lasting = false // expired or lifted: the next refusal is news again
			if r.ready != nil {
				r.ready.Met(refusalCondition[kind])
			}
			continue
		}
		err := fmt.Errorf("%s: %w", refusalWhat[kind], last.err)
		errs = append(errs, err)
		if r.ready != nil {
			r.ready.Unmet(refusalCondition[kind], err.Error())
		}
	}
	if len(r.by) > 0 && r.expiry == nil {
		r.expiry = time.AfterFunc(refusalEvery+time.Second, r.expire)
	}
	return errs
}

// expire brings the readiness up to date once refusals may have expired.
func (r *Refusals) expire() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expiry = nil
	r.updateLocked()
}

var refusalCondition = [numRefusalKinds]string{
	refusedCredentials: "Elasticsearch accepts the credentials",
	refusedWrites:      "Elasticsearch accepts writes",
}

var refusalWhat = [numRefusalKinds]string{
	refusedCredentials: "Elasticsearch refuses the credentials",
	refusedWrites:      "Elasticsearch refuses writes",
}

var refusalLifted = [numRefusalKinds]string{
	refusedCredentials: "Elasticsearch accepts the credentials again",
	refusedWrites:      "Elasticsearch accepts writes again",
}

// refused reports that reporter's request was refused with err, a condition
// of kind.
func (r *Refusals) refused(reporter any, kind refusalKind, err error) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	st := &r.kinds[kind]
	if r.lastLocked(kind) == nil {
		st.lasting = false
	}
	r.by[reporter] = refusal{kind: kind, err: err, at: now}
	defer r.updateLocked()
	st.count++
	switch {
	case !st.lasting:
		st.lasting, st.since = true, now
	case now.Sub(st.logged) < refusalEvery:
		return
	}
	attrs := []any{"url", r.urls, "error", err, "refusals", st.count, "refused_for", now.Sub(st.since).Round(time.Second)}
	st.logged, st.count = now, 0
	if kind == refusedCredentials {
		v := r.vars
		r.log.Error("Elasticsearch refuses the credentials: set "+v+"USERNAME and "+v+"PASSWORD (or the user in "+v+"URL), "+
			"or "+v+"API_KEY, to an identity it accepts; retrying with backoff until then", attrs...)
		return
	}
	r.log.Warn("Elasticsearch refuses writes for a condition of the cluster (a block, missing privileges, a missing or closed index); "+
		"nothing is dead-lettered: the documents stay pending and are retried with backoff until it is lifted", attrs...)
}

// accepted reports that reporter's request was not refused: its condition,
// if it reported one, is lifted.
func (r *Refusals) accepted(reporter any) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	last, ok := r.by[reporter]
	if !ok {
		return
	}
	delete(r.by, reporter)
	defer r.updateLocked()
	st := &r.kinds[last.kind]
	if st.lasting && r.lastLocked(last.kind) == nil {
		st.lasting = false
		r.log.Info(refusalLifted[last.kind], "url", r.urls, "refused_for", r.now().Sub(st.since).Round(time.Second))
	}
}

// lastLocked is the newest refusal of kind that still counts, nil when
// none; it forgets those that no longer count.
func (r *Refusals) lastLocked(kind refusalKind) *refusal {
	var last *refusal
	now := r.now()
	for k, e := range r.by {
		if e.kind != kind {
			continue
		}
		if now.Sub(e.at) > refusalEvery {
			delete(r.by, k)
			continue
		}
		if last == nil || e.at.After(last.at) {
			last = &e
		}
	}
	return last
}

// ClientOption configures NewClient.
// ReportTo makes the client report to r every request refused for its
// credentials (401), and every success, which shows that they are accepted.
func ReportTo(r *Refusals) ClientOption {
	return func(o *clientOptions) { o.refusals = r }
}

// reportingTransport reports the credentials' refusals and acceptances of
// the responses passing through it; the responses are left as they are.
type reportingTransport struct {
	next     http.RoundTripper
	refusals *Refusals
}

func (t *reportingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	switch {
	case res.StatusCode == http.StatusUnauthorized:
		// Elasticsearch's reason is in the body (small); read it and
		// leave it for the caller.
		b, _ := io.ReadAll(io.LimitReader(res.Body, 16<<10))
		res.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), res.Body), res.Body}
		t.refusals.refused(t, refusedCredentials, statusError(res.StatusCode, b, req.Method+" "+req.URL.Path))
	case res.StatusCode >= 200 && res.StatusCode < 300:
		t.refusals.accepted(t)
	}
	return res, nil
}
