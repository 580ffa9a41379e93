// Package lease spreads the partitions of a service over its replicas with
// leases in a JetStream key-value bucket, so that a partition is never worked
// on by two replicas at once and is never left without an owner for longer
// than the lease TTL.
//
// # Keys
//
// The bucket (file storage, history 1) has the bucket TTL (stream MaxAge)
// set, so every key disappears TTL after its last write:
//
//   - "partition.<N>": the lease on partition N. Its value is JSON naming the
//     owner replica and a random claim id. It is created with kv.Create
//     (which fails while the key exists) and renewed every TTL/4 with
//     kv.Update on the revision last written, so a renewal fails once the
//     key expired or was taken over.
//   - "member.<replicaID>": a heartbeat every replica writes every TTL/4. The
//     live members are the member keys present.
//   - "resting.<N>.<replicaID>": written while a replica leaves partition N
//     alone after its work there returned (two TTLs), refreshed with its
//     heartbeat; the other replicas take N even beyond their share.
//
// # Fencing
//
// A replica treats itself as the owner of a partition only until
// (start of its last successful create/renew request) + TTL − TTL/4, on the
// monotonic clock. The broker stored that write no earlier than the request
// started, so the key lives at least until that start + TTL; nobody else can
// create it before then. When the deadline passes without a successful
// renewal, or a renewal finds the key gone or rewritten, the partition's work
// context is cancelled at once: the old owner's work is cancelled at least
// TTL/4 before a new owner can start, even when the old owner is cut off
// from NATS. The work function must stop its side effects when its context
// is done. Assumptions: the broker's clock does not jump forward and runs at
// the same rate as ours (within TTL/4 over a TTL), and the bucket TTL is
// never shortened while replicas run (Run refuses to shorten it).
//
// # Balance
//
// With M live members and P partitions, members are sorted and each gets
// P/M, the first P%M one more. A replica above its share gives up its
// highest partitions: it cancels their work, waits for work to return (so
// it can checkpoint), keeps renewing meanwhile, and only then deletes the
// key (with the revision it holds, so it never deletes another owner's
// lease). A replica below its share claims free partitions. A replica alone
// owns everything. Deletions and new members are watched, so a clean
// hand-over does not wait for the next tick (TTL/4).
package lease

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/backoff"
)

// Key prefixes in the bucket.
const (
	partitionPrefix = "partition."
	memberPrefix    = "member."
	// restingPrefix: "resting.<N>.<replicaID>", written while a replica
	// leaves partition N alone (see Manager.resting) and refreshed with its
	// heartbeat: the other replicas take N even beyond their share.
	restingPrefix = "resting."
)

// DefaultTTL is the lease TTL when Config.TTL is zero.
const DefaultTTL = 10 * time.Second

// Causes of a work context's cancellation (see context.Cause). When Run's
// context is cancelled, the cause is that context's cause.
var (
	// ErrReleased: the partition is given up to rebalance; the lease is kept
	// (and renewed) until work returns.
	ErrReleased = errors.New("lease: partition given up for rebalancing")
	// ErrLost: a renewal found the lease key gone or owned by another claim.
	ErrLost = errors.New("lease: lost")
	// ErrExpired: no renewal succeeded in time; another replica may own the
	// partition TTL/4 from now.
	ErrExpired = errors.New("lease: not renewed in time")
	// errWorkReturned: work returned by itself.
	errWorkReturned = errors.New("lease: work returned")
	// errLost marks a renewal that proved the lease lost.
	errLost = errors.New("lease lost")
)

// Config configures a Manager.
type Config struct {
	// Bucket is the key-value bucket holding the leases, e.g.
	// "flowline-aggregator-leases". Required.
	Bucket string
	// ReplicaID names this replica (e.g. the pod name); unique among the
	// replicas sharing Bucket, and a valid KV key (letters, digits, - _ = / .).
	// Required.
	ReplicaID string
	// TTL is how long a lease outlives its last renewal (default 10s). A
	// crashed replica's partitions are taken over about TTL after its last
	// renewal; renewals happen every TTL/4.
	TTL time.Duration
	// Replicas is the number of JetStream replicas of the bucket (default 1).
	Replicas int
}

// Status is a snapshot of a Manager's view.
type Status struct {
	// Owned lists the partitions whose lease this replica holds, including
	// ones being given up whose work has not returned yet; sorted.
	Owned []int32
	// Target is this replica's share at the last balancing round.
	Target int
	// Members are the live replicas seen at the last balancing round, sorted.
	Members []string
	// Settled: see Manager.Settled.
	Settled bool
}

// Manager holds this replica's partition leases. Create it with New and
// call Run once; Owned, Holds, Settled and Status are safe to call
// concurrently with Run, from any goroutine. No state is shared between
// Managers; several may share one JetStream context.
type Manager struct {
	js  jetstream.JetStream
	cfg Config
	log *slog.Logger

	ttl        time.Duration // fencing TTL: cfg.TTL, never longer than the bucket's
	renewEvery time.Duration // also the tick, heartbeat and request timeout
	margin     time.Duration
	seed       uint32

	started atomic.Bool
	kv      jetstream.KeyValue
	nudge   chan struct{}
	wg      sync.WaitGroup // one per lease keeper
	aux     sync.WaitGroup // watchers being stopped

	mu         sync.Mutex
	leases     map[int32]*lease
	target     int
	members    []string
	settled    bool
	parts      []int32 // last discovered partitions
	discovered bool
	// resting: partitions whose work returned while this replica owned
	// them (it could not make progress here), not claimed again by this
	// replica until the time given, so that another replica can take them
	// over and a failing one does not retake them in a tight loop.
	resting map[int32]time.Time
}

// lease is one held partition. The keeper goroutine owns the revision; the
// fields here are fixed after creation except those under Manager.mu.
type lease struct {
	p      int32
	key    string
	value  []byte
	ctx    context.Context // work's
	cancel context.CancelCauseFunc
	done   chan struct{} // closed when work returned

	// Under Manager.mu:
	releasing bool      // given up for rebalancing
	lost      bool      // a renewal found another claim or no key
	deadline  time.Time // until when we may act as owner (monotonic)
}

// New returns a Manager for replica cfg.ReplicaID using js; it does not talk
// to NATS until Run.
func New(js jetstream.JetStream, cfg Config, log *slog.Logger) *Manager {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	return &Manager{
		js:         js,
		cfg:        cfg,
		log:        log.With("component", "lease", "bucket", cfg.Bucket, "replica", cfg.ReplicaID),
		ttl:        cfg.TTL,
		renewEvery: cfg.TTL / 4,
		margin:     cfg.TTL / 4,
		seed:       seedOf(cfg.ReplicaID),
		nudge:      make(chan struct{}, 1),
		leases:     map[int32]*lease{},
		resting:    map[int32]time.Time{},
	}
}

// Run manages leases until ctx is cancelled; call it once.
//
// discover lists the partitions that exist; it is called every balancing
// round (every TTL/4, and when a lease is released or a member appears) with
// a context bounded by TTL. On error it is logged at WARN and the previous
// list is kept. The list may grow over time; partitions other replicas hold
// count too.
//
// work runs in its own goroutine while this replica owns p. Its context is
// cancelled (see the Err* causes) when p is given up for rebalancing, when
// the lease is lost or could not be renewed in time, or when ctx is
// cancelled; work must then stop promptly (it may checkpoint first: the
// lease is kept until it returns, unless it is lost). If work returns while
// the lease is held, p is released and may be claimed again at the next
// round.
//
// On shutdown Run deletes its member key, cancels all work, waits for every
// work to return, and deletes the leases it still holds, so other replicas
// take over at once. It returns nil after that, or an error if the
// configuration is invalid or the bucket's TTL ended up shorter than
// Config.TTL. An existing bucket's longer TTL is kept (never shortened).
func (m *Manager) Run(ctx context.Context, discover func(context.Context) ([]int32, error), work func(ctx context.Context, p int32)) error {
	if !m.started.CompareAndSwap(false, true) {
		return errors.New("lease: Run called twice")
	}
	if m.cfg.Bucket == "" || m.cfg.ReplicaID == "" {
		return errors.New("lease: Bucket and ReplicaID are required")
	}
	if !validKey(memberPrefix + m.cfg.ReplicaID) {
		return fmt.Errorf("lease: replica id %q is not a valid key (letters, digits, - _ = / .)", m.cfg.ReplicaID)
	}
	if m.ttl < 100*time.Millisecond {
		return fmt.Errorf("lease: TTL %s too short", m.ttl)
	}
	var setupErr error
	err := backoff.Retry(ctx, m.log, backoff.New(m.renewEvery/4, 10*time.Second), "lease bucket setup", func(ctx context.Context) error {
		kv, err := m.open(ctx)
		if errors.Is(err, errShorter) {
			setupErr = err
			return backoff.Permanent(err)
		}
		m.kv = kv
		return err
	})
	if setupErr != nil {
		return setupErr
	}
	if err != nil { // ctx cancelled before NATS was reachable
		return nil
	}

	bg := context.WithoutCancel(ctx) // for requests that must outlive ctx
	m.heartbeat(ctx)
	hbCtx, hbStop := context.WithCancel(ctx)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		t := time.NewTicker(m.renewEvery)
		defer t.Stop()
		for {
			select {
			case <-hbCtx.Done():
				return
			case <-t.C:
				m.heartbeat(hbCtx)
			}
		}
	}()
	watchDone := make(chan struct{})
	go func() { defer close(watchDone); m.watch(hbCtx) }()

	tick := time.NewTicker(m.renewEvery)
	for ctx.Err() == nil {
		m.balance(ctx, bg, discover, work)
		select {
		case <-ctx.Done():
		case <-tick.C:
		case <-m.nudge:
		}
	}
	tick.Stop()

	// Shutdown: leave the membership first, so that the others count us out
	// and claim our partitions as soon as their keys go.
	hbStop()
	<-hbDone
	<-watchDone
	dctx, cancel := context.WithTimeout(bg, m.renewEvery)
	if err := m.kv.Delete(dctx, memberPrefix+m.cfg.ReplicaID); err != nil {
		m.log.Warn("could not delete member key; it expires by itself", "error", err, "within", m.ttl)
	}
	cancel()
	// Work contexts derive from ctx, so all work is cancelled already; the
	// keepers renew until it returns, then delete the keys.
	m.wg.Wait()
	m.aux.Wait()
	m.mu.Lock()
	m.settled = false
	m.mu.Unlock()
	m.log.Info("leases released")
	return nil
}

var errShorter = errors.New("lease: bucket TTL shorter than configured")

// open creates or updates the bucket. It never shortens an existing bucket's
// TTL: keys renewed under a longer TTL by running replicas would expire
// before those replicas' deadlines.
func (m *Manager) open(ctx context.Context) (jetstream.KeyValue, error) {
	ctx, cancel := context.WithTimeout(ctx, max(m.ttl, 5*time.Second))
	defer cancel()
	ttl := m.ttl
	if kv, err := m.js.KeyValue(ctx, m.cfg.Bucket); err == nil {
		st, err := kv.Status(ctx)
		if err != nil {
			return nil, err
		}
		if st.TTL() > ttl {
			m.log.Warn("lease bucket has a longer TTL than configured; keeping it (takeover after a crash takes that long)", "bucket_ttl", st.TTL(), "ttl", ttl)
			ttl = st.TTL()
		}
	} else if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, err
	}
	kv, err := m.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      m.cfg.Bucket,
		Description: "Flowline partition leases",
		History:     1,
		TTL:         ttl,
		Storage:     jetstream.FileStorage, // leases must survive a broker restart
		Replicas:    m.cfg.Replicas,
	})
	if err != nil {
		return nil, err
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, err
	}
	if st.TTL() < m.ttl { // shortened concurrently, or TTL 0 would keep crashed leases forever
		if st.TTL() == 0 {
			return nil, fmt.Errorf("%w: bucket %s has no TTL", errShorter, m.cfg.Bucket)
		}
		return nil, fmt.Errorf("%w: bucket %s has TTL %s, configured %s", errShorter, m.cfg.Bucket, st.TTL(), m.ttl)
	}
	return kv, nil
}

type memberValue struct {
	Replica string    `json:"replica"`
	Time    time.Time `json:"time"`
}

type leaseValue struct {
	Replica string    `json:"replica"`
	Claim   string    `json:"claim"` // random per claim: tells our writes from any other
	Since   time.Time `json:"since"`
}

// heartbeat writes this replica's member key.
func (m *Manager) heartbeat(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, m.renewEvery)
	defer cancel()
	v, _ := json.Marshal(memberValue{Replica: m.cfg.ReplicaID, Time: time.Now().UTC()})
	if _, err := m.kv.Put(ctx, memberPrefix+m.cfg.ReplicaID, v); err != nil && ctx.Err() == nil {
		m.log.Warn("member heartbeat failed", "error", err)
	}
	m.mu.Lock()
	var resting []int32
	now := time.Now()
	for p, until := range m.resting {
		if now.Before(until) {
			resting = append(resting, p)
		}
	}
	m.mu.Unlock()
	for _, p := range resting {
		m.announceRest(ctx, p)
	}
}

// announceRest writes (or refreshes) p's resting key of this replica; it
// expires with the bucket's TTL unless the heartbeat refreshes it.
func (m *Manager) announceRest(ctx context.Context, p int32) {
	if _, err := m.kv.Put(ctx, restingKey(p, m.cfg.ReplicaID), nil); err != nil && ctx.Err() == nil {
		m.log.Warn("announcing a resting partition failed; the other replicas take it only within their share", "partition", p, "error", err)
	}
}

func restingKey(p int32, replica string) string {
	return restingPrefix + strconv.Itoa(int(p)) + "." + replica
}

// watch nudges the balancing loop when a key is deleted or a new member
// appears, so hand-overs do not wait for the next tick. Best effort: the
// tick balances anyway.
func (m *Manager) watch(ctx context.Context) {
	w, err := m.kv.WatchAll(ctx, jetstream.UpdatesOnly(), jetstream.MetaOnly())
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("cannot watch lease bucket; balancing on ticks only", "error", err)
		}
		return
	}
	defer m.stopLater(w)
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil {
				continue
			}
			if e.Operation() != jetstream.KeyValuePut {
				m.poke()
				continue
			}
			if id, ok := strings.CutPrefix(e.Key(), memberPrefix); ok {
				m.mu.Lock()
				known := slices.Contains(m.members, id)
				m.mu.Unlock()
				if !known {
					m.poke()
				}
			}
		}
	}
}

func (m *Manager) poke() {
	select {
	case m.nudge <- struct{}{}:
	default:
	}
}

// balance runs one balancing round: discover, list the bucket, give up or
// claim partitions.
func (m *Manager) balance(ctx, bg context.Context, discover func(context.Context) ([]int32, error), work func(context.Context, int32)) {
	dctx, cancel := context.WithTimeout(ctx, m.ttl)
	parts, err := discover(dctx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		m.log.Warn("discovering partitions failed; keeping the previous list", "error", err)
	} else {
		parts = slices.Sorted(slices.Values(parts))
		parts = slices.DeleteFunc(slices.Compact(parts), func(p int32) bool { return p < 0 })
		m.mu.Lock()
		m.parts, m.discovered = parts, true
		m.mu.Unlock()
	}

	members, claimed, restingElsewhere, err := m.list(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("listing leases failed", "error", err)
		}
		return
	}
	members = append(members, m.cfg.ReplicaID)
	slices.Sort(members)
	members = slices.Compact(members)

	m.mu.Lock()
	universe := slices.Clone(m.parts)
	for p := range claimed {
		universe = append(universe, p)
	}
	slices.Sort(universe)
	universe = slices.Compact(universe)
	target := targets(members, len(universe))[m.cfg.ReplicaID]
	// A partition another replica is resting is taken beyond this
	// replica's share, and held apart from it (never given up to
	// rebalance) until the rest ends: the resting replica would not take
	// it back, so giving it up would leave it without an owner.
	var active, free, borrow []int32
	for p, l := range m.leases {
		if !l.releasing && !restingElsewhere[p] {
			active = append(active, p)
		}
	}
	now := time.Now()
	var ended []int32 // rests over: their keys go
	for _, p := range universe {
		if until, ok := m.resting[p]; ok {
			if now.Before(until) {
				continue
			}
			delete(m.resting, p)
			ended = append(ended, p)
		}
		if _, mine := m.leases[p]; !mine && !claimed[p] {
			if restingElsewhere[p] {
				borrow = append(borrow, p)
			} else {
				free = append(free, p)
			}
		}
	}
	release, claim, need := plan(active, free, target, m.seed)
	for _, p := range release {
		l := m.leases[p]
		l.releasing = true
		l.cancel(ErrReleased)
	}
	m.target, m.members = target, members
	discovered := m.discovered
	m.mu.Unlock()

	for _, p := range ended {
		dctx, cancel := context.WithTimeout(ctx, m.renewEvery)
		_ = m.kv.Delete(dctx, restingKey(p, m.cfg.ReplicaID)) // else it expires with the bucket TTL
		cancel()
	}
	if len(release) > 0 {
		m.log.Info("giving up partitions to rebalance", "partitions", release, "target", target, "members", members)
	}
	for _, p := range claim {
		if need == 0 || ctx.Err() != nil {
			break
		}
		ok, err := m.claim(ctx, bg, p, work)
		if err != nil {
			if ctx.Err() == nil {
				m.log.Warn("claiming partition failed", "partition", p, "error", err)
			}
			continue
		}
		if ok {
			need--
		}
	}
	for _, p := range borrow {
		if ctx.Err() != nil {
			break
		}
		if ok, err := m.claim(ctx, bg, p, work); err != nil && ctx.Err() == nil {
			m.log.Warn("claiming a partition another replica rests failed", "partition", p, "error", err)
		} else if ok {
			m.log.Info("took a partition another replica rests, beyond this replica's share", "partition", p)
		}
	}

	m.mu.Lock()
	borrowed := 0
	for p := range m.leases {
		if restingElsewhere[p] {
			borrowed++
		}
	}
	if discovered && len(m.leases)-borrowed == m.target && !m.settled {
		m.settled = true
		m.log.Info("partition share settled", "owned", len(m.leases), "target", m.target, "members", m.members)
	}
	m.mu.Unlock()
}

// list returns the live members and the claimed partitions in the bucket.
func (m *Manager) list(ctx context.Context) (members []string, claimed, restingElsewhere map[int32]bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, m.renewEvery)
	defer cancel()
	w, err := m.kv.WatchAll(ctx, jetstream.IgnoreDeletes(), jetstream.MetaOnly())
	if err != nil {
		return nil, nil, nil, err
	}
	defer m.stopLater(w)
	claimed, restingElsewhere = map[int32]bool{}, map[int32]bool{}
	for {
		select {
		case <-ctx.Done():
			return nil, nil, nil, ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return nil, nil, nil, errors.New("watcher closed")
			}
			if e == nil { // all current keys seen
				return members, claimed, restingElsewhere, nil
			}
			if id, ok := strings.CutPrefix(e.Key(), memberPrefix); ok {
				members = append(members, id)
			} else if s, ok := strings.CutPrefix(e.Key(), partitionPrefix); ok {
				if p, err := strconv.ParseInt(s, 10, 32); err == nil && p >= 0 {
					claimed[int32(p)] = true
				}
			} else if s, ok := strings.CutPrefix(e.Key(), restingPrefix); ok {
				ps, replica, _ := strings.Cut(s, ".")
				if p, err := strconv.ParseInt(ps, 10, 32); err == nil && p >= 0 && replica != m.cfg.ReplicaID {
					restingElsewhere[int32(p)] = true
				}
			}
		}
	}
}

// stopLater stops w without waiting: Stop deletes the watcher's consumer
// with a request that can take seconds when NATS is unreachable. Run waits
// for it before returning. w's updates are drained meanwhile, so that its
// delivery never blocks.
func (m *Manager) stopLater(w jetstream.KeyWatcher) {
	m.aux.Add(1)
	go func() {
		defer m.aux.Done()
		stopped := make(chan struct{})
		go func() { _ = w.Stop(); close(stopped) }()
		for {
			select {
			case <-stopped:
				return
			case _, ok := <-w.Updates():
				if !ok {
					<-stopped
					return
				}
			}
		}
	}()
}

// claim tries to create p's lease and, on success, starts work and its
// keeper. It reports false with no error when someone else holds p.
func (m *Manager) claim(ctx, bg context.Context, p int32, work func(context.Context, int32)) (bool, error) {
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	value, _ := json.Marshal(leaseValue{Replica: m.cfg.ReplicaID, Claim: hex.EncodeToString(nonce), Since: time.Now().UTC()})
	l := &lease{p: p, key: partitionKey(p), value: value, done: make(chan struct{})}

	cctx, cancel := context.WithTimeout(ctx, m.renewEvery)
	start := time.Now()
	rev, err := m.kv.Create(cctx, l.key, value)
	cancel()
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	if err != nil {
		// If the create was stored after all, the key expires within TTL.
		return false, err
	}
	deadline := start.Add(m.ttl - m.margin)
	if !time.Now().Before(deadline) { // the request took too long to be safe
		m.deleteLease(bg, l, rev)
		return false, fmt.Errorf("create took %s", time.Since(start))
	}
	wctx, wcancel := context.WithCancelCause(ctx)
	l.ctx, l.cancel, l.deadline = wctx, wcancel, deadline
	m.mu.Lock()
	m.leases[p] = l
	m.mu.Unlock()
	m.log.Info("partition claimed", "partition", p, "revision", rev)
	m.wg.Add(1)
	go func() {
		defer close(l.done)
		work(l.ctx, p)
	}()
	go m.keep(bg, l, rev, deadline)
	return true, nil
}

// keep renews l until its work returned, cancels the work when the lease is
// lost or its deadline passes, then deletes the key (unless lost) and drops
// l.
func (m *Manager) keep(bg context.Context, l *lease, rev uint64, deadline time.Time) {
	defer m.wg.Done()
	fence := time.AfterFunc(time.Until(deadline), func() {
		if l.ctx.Err() == nil {
			m.log.Warn("lease not renewed in time; cancelling work", "partition", l.p)
		}
		l.cancel(ErrExpired)
	})
	renew := time.NewTimer(m.renewEvery)
	bo := backoff.New(max(m.ttl/40, time.Millisecond), m.ttl/8)
	lost, failing := false, false
loop:
	for {
		select {
		case <-l.done:
			break loop
		case <-renew.C:
		}
		start := time.Now()
		newRev, err := m.renew(bg, l, rev)
		switch {
		case err == nil:
			rev = newRev
			deadline := start.Add(m.ttl - m.margin)
			m.mu.Lock()
			l.deadline = deadline
			m.mu.Unlock()
			fence.Reset(time.Until(deadline))
			bo.Reset()
			renew.Reset(max(0, m.renewEvery-time.Since(start)))
			if failing {
				m.log.Info("lease renewed again", "partition", l.p)
				failing = false
			}
		case errors.Is(err, errLost):
			m.log.Warn("lease lost; cancelling work", "partition", l.p, "error", err)
			m.mu.Lock()
			l.lost = true
			m.mu.Unlock()
			l.cancel(ErrLost)
			lost = true
			break loop
		default:
			d := bo.Next()
			if !failing {
				m.log.Warn("renewing lease failed, retrying", "partition", l.p, "error", err, "retry_in", d)
				failing = true
			}
			renew.Reset(d)
		}
	}
	fence.Stop()
	renew.Stop()
	if lost {
		<-l.done
	} else {
		m.mu.Lock()
		expired := !time.Now().Before(l.deadline)
		m.mu.Unlock()
		// Work that returned because the lease ran out under it (a paused
		// process waking up, a broker that stopped answering) could make
		// progress: that is no reason to leave the partition alone here.
		// Resting it would leave it unowned when the others hand it over
		// to this replica at the next balancing round.
		if l.ctx.Err() == nil && !expired {
			until := time.Now().Add(m.restAfterReturn())
			m.log.Warn("work returned while owning the partition; releasing it, and not claiming it again here before the time given",
				"partition", l.p, "until", until.UTC().Format(time.RFC3339))
			m.mu.Lock()
			m.resting[l.p] = until
			m.mu.Unlock()
			actx, cancel := context.WithTimeout(bg, m.renewEvery)
			m.announceRest(actx, l.p)
			cancel()
		}
		l.cancel(errWorkReturned)
		m.deleteLease(bg, l, rev)
	}
	m.mu.Lock()
	delete(m.leases, l.p)
	m.mu.Unlock()
	m.log.Info("partition released", "partition", l.p, "lost", lost)
	m.poke()
}

// restAfterReturn is how long this replica leaves a partition alone after
// its work returned while owning it: two lease TTLs, the time the other
// replicas need to see it free and claim it.
func (m *Manager) restAfterReturn() time.Duration { return 2 * m.ttl }

// renew extends l's lease written at revision rev. It returns errLost when
// the key is gone or holds another claim. If the revision moved but the key
// still holds our claim (an earlier renewal was stored although we saw an
// error), it renews on that revision.
func (m *Manager) renew(bg context.Context, l *lease, rev uint64) (uint64, error) {
	ctx, cancel := context.WithTimeout(bg, m.renewEvery)
	defer cancel()
	newRev, err := m.kv.Update(ctx, l.key, l.value, rev)
	if err == nil || !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return newRev, err
	}
	cur, ok, gerr := m.ours(ctx, l)
	if gerr != nil {
		return 0, gerr
	}
	if !ok {
		return 0, fmt.Errorf("%w: %w", errLost, err)
	}
	return m.kv.Update(ctx, l.key, l.value, cur)
}

// ours reports whether l's key still holds l's claim, and at which revision.
func (m *Manager) ours(ctx context.Context, l *lease) (uint64, bool, error) {
	e, err := m.kv.Get(ctx, l.key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return e.Revision(), bytes.Equal(e.Value(), l.value), nil
}

// deleteLease deletes l's key if it still holds l's claim, so that another
// replica can claim it at once. On failure the key expires within TTL.
func (m *Manager) deleteLease(bg context.Context, l *lease, rev uint64) {
	bo := backoff.New(m.ttl/20, m.ttl/4)
	var err error
	for range 3 {
		ctx, cancel := context.WithTimeout(bg, m.renewEvery)
		err = m.kv.Delete(ctx, l.key, jetstream.LastRevision(rev))
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			cur, ok, gerr := m.ours(ctx, l)
			switch {
			case gerr != nil:
				err = gerr
			case !ok:
				cancel()
				return // expired or taken over: not ours to delete
			default:
				rev = cur
				err = m.kv.Delete(ctx, l.key, jetstream.LastRevision(rev))
			}
		}
		cancel()
		if err == nil {
			return
		}
		backoff.Sleep(bg, bo.Next())
	}
	m.log.Warn("could not delete lease; it expires by itself", "partition", l.p, "error", err, "within", m.ttl)
}

// Partitions is how many partitions the last discovery found (0 before
// one succeeded).
func (m *Manager) Partitions() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.parts)
}

// Owned returns the partitions whose lease this replica holds (including
// ones being given up whose work has not returned), sorted. It is a
// snapshot, safe for concurrent use.
func (m *Manager) Owned() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]int32, 0, len(m.leases))
	for p := range m.leases {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Holds reports whether this replica may act as p's owner now: it holds
// p's lease and the lease's fencing deadline has not passed (checked on the
// monotonic clock, so it is false at once after a process pause even before
// the work context's cancellation is delivered). It stays true while a
// given-up partition's work drains. Work can call it right before an
// irreversible side effect. Safe for concurrent use.
func (m *Manager) Holds(p int32) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.leases[p]
	return ok && !l.lost && time.Now().Before(l.deadline)
}

// Settled reports whether this replica has held exactly its target share
// at the end of a balancing round since Run started (which needs one
// successful discover). It then stays true while Run runs, through later
// rebalancing (use Status to see the current share); it is false before and
// after Run. Meant for readiness: a new replica becomes ready once the
// others handed its share over. Safe for concurrent use.
func (m *Manager) Settled() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.settled
}

// Status returns a snapshot of this replica's view; safe for concurrent use.
func (m *Manager) Status() Status {
	owned := m.Owned()
	m.mu.Lock()
	defer m.mu.Unlock()
	return Status{Owned: owned, Target: m.target, Members: slices.Clone(m.members), Settled: m.settled}
}

func partitionKey(p int32) string { return partitionPrefix + strconv.Itoa(int(p)) }

// validKey is the KV key rule of nats.go.
func validKey(k string) bool {
	if k == "" || k[0] == '.' || k[len(k)-1] == '.' || strings.Contains(k, "..") {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-/_=.", c)) {
			return false
		}
	}
	return true
}
