package lifecycle

import (
	"errors"
	"sync"
)

// Readiness tracks named conditions a service must meet before it is ready;
// safe for concurrent use. A condition starts unmet with its reason.
type Readiness struct {
	mu      sync.Mutex
	pending map[string]string
	order   []string
}

// NewReadiness returns a tracker with the given conditions unmet.
func NewReadiness(conditions ...string) *Readiness {
	r := &Readiness{pending: map[string]string{}}
	for _, c := range conditions {
		r.Unmet(c, "not yet "+c)
	}
	return r
}

// Met marks condition as met.
func (r *Readiness) Met(condition string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.pending, condition)
}

// Unmet marks condition as unmet because of reason.
func (r *Readiness) Unmet(condition, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.pending[condition]; !ok {
		r.order = append(r.order, condition)
	}
	r.pending[condition] = reason
}

// Err is nil when every condition is met, else the reasons of the unmet ones.
func (r *Readiness) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, c := range r.order {
		if reason, ok := r.pending[c]; ok {
			errs = append(errs, errors.New(reason))
		}
	}
	return errors.Join(errs...)
}

// Reporter returns a function that marks condition unmet with the text of
// the error it is given: for a set-up step that says why it is still
// waiting (stream.Open's waiting argument), so that /readyz says it too,
// e.g. that NATS rejected the credentials. Safe for concurrent use.
func (r *Readiness) Reporter(condition string) func(reason error) {
	return func(reason error) { r.Unmet(condition, "not yet "+condition+": "+reason.Error()) }
}
