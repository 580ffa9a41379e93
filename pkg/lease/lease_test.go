package lease

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/stream"
)

const bucket = "flowline-test-leases"

// checker is the shared view of who works on which partition; it records an
// overlap when a work starts on a partition whose previous work has not
// ended.
type checker struct {
	mu       sync.Mutex
	owner    map[int32]string
	ever     map[int32]map[string]bool
	overlaps []string
}

func newChecker() *checker {
	return &checker{owner: map[int32]string{}, ever: map[int32]map[string]bool{}}
}

func (c *checker) start(p int32, who string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o, ok := c.owner[p]; ok {
		c.overlaps = append(c.overlaps, fmt.Sprintf("partition %d: %s started while %s still works on it", p, who, o))
	}
	c.owner[p] = who
	if c.ever[p] == nil {
		c.ever[p] = map[string]bool{}
	}
	c.ever[p][who] = true
}

func (c *checker) end(p int32, who string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.owner[p] == who {
		delete(c.owner, p)
	}
}

// owners returns partition -> current worker.
func (c *checker) owners() map[int32]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[int32]string{}
	for p, o := range c.owner {
		out[p] = o
	}
	return out
}

func (c *checker) assertNoOverlap(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, o := range c.overlaps {
		t.Error(o)
	}
}

// replica is one running Manager.
type replica struct {
	m      *Manager
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

func startReplica(t *testing.T, js jetstream.JetStream, id string, ttl time.Duration, discover func(context.Context) ([]int32, error), work func(context.Context, int32)) *replica {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{m: New(js, Config{Bucket: bucket, ReplicaID: id, TTL: ttl}, testenv.Logger(t)), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- r.m.Run(ctx, discover, work) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the replica and waits for Run to return.
func (r *replica) stop(t *testing.T) error {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		select {
		case r.err = <-r.done:
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	})
	return r.err
}

func fixed(n int) func(context.Context) ([]int32, error) {
	return func(context.Context) ([]int32, error) { return seq(n), nil }
}

func seq(n int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(i)
	}
	return out
}

func owns(r *replica, want []int32) error {
	if got := r.m.Owned(); !slices.Equal(got, want) {
		return fmt.Errorf("%s owns %v, want %v", r.m.cfg.ReplicaID, got, want)
	}
	return nil
}

// keys lists the bucket's keys.
func keys(t *testing.T, kv jetstream.KeyValue) []string {
	t.Helper()
	k, err := kv.Keys(context.Background())
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func bucketOf(t *testing.T, js jetstream.JetStream) jetstream.KeyValue {
	t.Helper()
	kv, err := js.KeyValue(context.Background(), bucket)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// One replica owns every partition, picks up new ones, keeps each lease
// while its work drains, and deletes every key on shutdown.
func TestSingleReplicaOwnsAllAndReleasesOnShutdown(t *testing.T) {
	s := testenv.NATS(t)
	c := testenv.Connect(t, s)
	var n atomic.Int32
	n.Store(8)
	discover := func(context.Context) ([]int32, error) {
		if n.Load() < 0 {
			return nil, errors.New("topology unavailable")
		}
		return seq(int(n.Load())), nil
	}
	var mu sync.Mutex
	var problems []string
	heldWhileDraining := map[int32]bool{}
	kvc := make(chan jetstream.KeyValue, 1)
	var a *replica
	started := make(chan struct{})
	work := func(ctx context.Context, p int32) {
		<-started
		if !a.m.Holds(p) {
			mu.Lock()
			problems = append(problems, fmt.Sprintf("partition %d: Holds false while working", p))
			mu.Unlock()
		}
		<-ctx.Done()
		if !a.m.Holds(p) {
			mu.Lock()
			problems = append(problems, fmt.Sprintf("partition %d: Holds false while draining", p))
			mu.Unlock()
		}
		if !errors.Is(context.Cause(ctx), context.Canceled) {
			mu.Lock()
			problems = append(problems, fmt.Sprintf("partition %d cancelled with %v, want shutdown", p, context.Cause(ctx)))
			mu.Unlock()
		}
		time.Sleep(50 * time.Millisecond) // checkpoint
		kv := <-kvc
		kvc <- kv
		e, err := kv.Get(context.Background(), partitionKey(p))
		mu.Lock()
		heldWhileDraining[p] = err == nil && strings.Contains(string(e.Value()), `"replica":"a"`)
		mu.Unlock()
	}
	a = startReplica(t, c.JS, "a", time.Second, discover, work)
	close(started)
	testenv.Eventually(t, 5*time.Second, func() error {
		if !a.m.Settled() {
			return errors.New("not settled")
		}
		return owns(a, seq(8))
	})
	kv := bucketOf(t, c.JS)
	kvc <- kv
	if st, err := kv.Status(context.Background()); err != nil || st.TTL() != time.Second {
		t.Fatalf("bucket TTL: %v, %v", st, err)
	}
	wantKeys := []string{"member.a"}
	for p := range 8 {
		wantKeys = append(wantKeys, partitionKey(int32(p)))
	}
	slices.Sort(wantKeys)
	if got := keys(t, kv); !slices.Equal(got, wantKeys) {
		t.Fatalf("keys %v, want %v", got, wantKeys)
	}
	if st := a.m.Status(); st.Target != 8 || !slices.Equal(st.Members, []string{"a"}) {
		t.Errorf("status %+v", st)
	}

	// Leases outlive several TTLs while renewed.
	time.Sleep(2500 * time.Millisecond)
	if err := owns(a, seq(8)); err != nil {
		t.Fatal(err)
	}

	// More partitions appear; a failing discover keeps the previous list.
	n.Store(10)
	testenv.Eventually(t, 3*time.Second, func() error { return owns(a, seq(10)) })
	n.Store(-1)
	time.Sleep(600 * time.Millisecond)
	if err := owns(a, seq(10)); err != nil {
		t.Fatal(err)
	}

	if err := a.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := keys(t, kv); len(got) != 0 {
		t.Errorf("keys left after shutdown: %v", got)
	}
	if len(a.m.Owned()) != 0 || a.m.Settled() || a.m.Holds(0) {
		t.Errorf("after Run: owned %v settled %v", a.m.Owned(), a.m.Settled())
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
	for p := range int32(10) {
		if !heldWhileDraining[p] {
			t.Errorf("partition %d: lease not held while work drained", p)
		}
	}
}

// Replicas join and leave; shares follow, no partition is ever worked on
// twice, and a clean leave hands over without waiting for the TTL.
func TestScaling(t *testing.T) {
	const ttl = 2 * time.Second
	s := testenv.NATS(t)
	chk := newChecker()
	workAs := func(id string) func(context.Context, int32) {
		return func(ctx context.Context, p int32) {
			chk.start(p, id)
			<-ctx.Done()
			time.Sleep(100 * time.Millisecond) // checkpoint
			chk.end(p, id)
		}
	}
	run := func(id string) *replica {
		return startReplica(t, testenv.Connect(t, s).JS, id, ttl, fixed(8), workAs(id))
	}
	settledWith := func(want map[*replica][]int32) func() error {
		return func() error {
			for r, parts := range want {
				if err := owns(r, parts); err != nil {
					return err
				}
				if !r.m.Settled() {
					return fmt.Errorf("%s not settled", r.m.cfg.ReplicaID)
				}
			}
			return nil
		}
	}
	workers := func() map[string]int {
		out := map[string]int{}
		for _, o := range chk.owners() {
			out[o]++
		}
		return out
	}

	a := run("a")
	testenv.Eventually(t, 5*time.Second, settledWith(map[*replica][]int32{a: seq(8)}))

	b := run("b")
	// a gives up its highest partitions; b gets them.
	testenv.Eventually(t, 4*ttl, settledWith(map[*replica][]int32{a: {0, 1, 2, 3}, b: {4, 5, 6, 7}}))
	testenv.Eventually(t, time.Second, func() error {
		if w := workers(); w["a"] != 4 || w["b"] != 4 {
			return fmt.Errorf("workers %v", w)
		}
		return nil
	})

	c := run("c")
	testenv.Eventually(t, 4*ttl, func() error {
		la, lb, lc := len(a.m.Owned()), len(b.m.Owned()), len(c.m.Owned())
		if la != 3 || lb != 3 || lc != 2 || !c.m.Settled() {
			return fmt.Errorf("shares a=%d b=%d c=%d, c settled %v", la, lb, lc, c.m.Settled())
		}
		return nil
	})

	for _, leaving := range []*replica{c, b} {
		if err := leaving.stop(t); err != nil {
			t.Fatal(err)
		}
		left := time.Now()
		var want map[*replica][]int32
		if leaving == c {
			want = map[*replica][]int32{a: nil, b: nil}
		} else {
			want = map[*replica][]int32{a: seq(8)}
		}
		testenv.Eventually(t, 4*ttl, func() error {
			total := 0
			for r := range want {
				total += len(r.m.Owned())
				if len(want) == 2 && len(r.m.Owned()) != 4 {
					return fmt.Errorf("%s owns %v", r.m.cfg.ReplicaID, r.m.Owned())
				}
			}
			if total != 8 {
				return fmt.Errorf("%d partitions owned", total)
			}
			return nil
		})
		// Keys were deleted, not left to expire: the takeover is quick.
		if d := time.Since(left); d > ttl/2 {
			t.Errorf("takeover after %s left took %s", leaving.m.cfg.ReplicaID, d)
		}
	}
	testenv.Eventually(t, time.Second, func() error {
		if w := workers(); w["a"] != 8 {
			return fmt.Errorf("workers %v", w)
		}
		return nil
	})
	chk.assertNoOverlap(t)
	// a kept its lowest partitions throughout; the others moved.
	chk.mu.Lock()
	defer chk.mu.Unlock()
	for p := range int32(8) {
		if moved := len(chk.ever[p]) > 1; moved != (p >= 3) {
			t.Errorf("partition %d worked by %v", p, chk.ever[p])
		}
	}
}

// proxy forwards TCP to a NATS server and can freeze: bytes stop flowing
// both ways (and are delivered in order on thaw), like a network partition.
type proxy struct {
	ln     net.Listener
	mu     sync.Mutex
	cond   *sync.Cond
	frozen bool
	closed bool
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	p.cond = sync.NewCond(&p.mu)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go p.pipe(s, c)
			go p.pipe(c, s)
		}
	}()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.frozen && !p.closed {
				p.cond.Wait()
			}
			closed := p.closed
			p.mu.Unlock()
			if closed {
				return
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) freeze(on bool) {
	p.mu.Lock()
	p.frozen = on
	p.mu.Unlock()
	p.cond.Broadcast()
}

func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.mu.Unlock()
	p.cond.Broadcast()
	p.ln.Close()
	for _, c := range conns {
		c.Close()
	}
}

// A replica cut off from NATS (its requests hang, or its connection is
// gone) whose work does not return: its work is cancelled before anyone else
// starts on its partitions, the other replica takes over after the TTL, and
// the cut-off replica's late requests never hurt the new owner.
func TestCrashTakeover(t *testing.T) {
	for _, mode := range []string{"partitioned", "closed"} {
		t.Run(mode, func(t *testing.T) { testCrashTakeover(t, mode) })
	}
}

func testCrashTakeover(t *testing.T, mode string) {
	const ttl = time.Second
	s := testenv.NATS(t)
	px := newProxy(t, s.Addr().String())
	ca, err := stream.Connect(context.Background(), config.NATS{URL: "nats://" + px.ln.Addr().String(), ConnectTimeout: config.Duration(5 * time.Second)}, "a", testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ca.NC.Close)
	cb := testenv.Connect(t, s)

	chk := newChecker()
	var mu sync.Mutex
	cancelA := map[int32]time.Time{}
	causeA := map[int32]error{}
	holdsA := map[int32]bool{}
	var a *replica
	aStarted := make(chan struct{})
	startB := map[int32]time.Time{}
	var badB []string
	stuck := make(chan struct{})
	var unstick sync.Once
	t.Cleanup(func() { unstick.Do(func() { close(stuck) }) })

	workA := func(ctx context.Context, p int32) {
		chk.start(p, "a")
		<-ctx.Done()
		<-aStarted
		mu.Lock()
		cancelA[p], causeA[p], holdsA[p] = time.Now(), context.Cause(ctx), a.m.Holds(p)
		mu.Unlock()
		chk.end(p, "a") // a must not touch p after its context is done
		<-stuck         // ... but its work does not return
	}
	workB := func(ctx context.Context, p int32) {
		mu.Lock()
		startB[p] = time.Now()
		mu.Unlock()
		chk.start(p, "b")
		<-ctx.Done()
		if c := context.Cause(ctx); !errors.Is(c, context.Canceled) && !errors.Is(c, ErrReleased) {
			mu.Lock()
			badB = append(badB, fmt.Sprintf("partition %d: b's work cancelled with %v", p, c))
			mu.Unlock()
		}
		chk.end(p, "b")
	}

	a = startReplica(t, ca.JS, "a", ttl, fixed(8), workA)
	close(aStarted)
	testenv.Eventually(t, 5*time.Second, func() error {
		if !a.m.Settled() {
			return errors.New("a not settled")
		}
		return owns(a, seq(8))
	})

	t0 := time.Now()
	if mode == "partitioned" {
		px.freeze(true)
	} else {
		ca.NC.Close()
	}
	b := startReplica(t, cb.JS, "b", ttl, fixed(8), workB)
	testenv.Eventually(t, 5*ttl, func() error { return owns(b, seq(8)) })

	mu.Lock()
	var minGap, minStart time.Duration = time.Hour, time.Hour
	for p := range int32(8) {
		ca, cb := cancelA[p], startB[p]
		switch {
		case ca.IsZero():
			t.Errorf("partition %d: a's work never cancelled", p)
		case !errors.Is(causeA[p], ErrExpired):
			t.Errorf("partition %d: a's work cancelled with %v, want ErrExpired", p, causeA[p])
		case holdsA[p]:
			t.Errorf("partition %d: a still Holds it after its work was cancelled", p)
		case !ca.Before(cb):
			t.Errorf("partition %d: b started at +%s, before a's work was cancelled at +%s", p, cb.Sub(t0), ca.Sub(t0))
		}
		minGap, minStart = min(minGap, cb.Sub(ca)), min(minStart, cb.Sub(t0))
	}
	mu.Unlock()
	t.Logf("b took over %s after the cut; a's work was cancelled at least %s before", minStart, minGap)
	// a's key was written at most TTL/4 before the cut and lives TTL; a
	// stops TTL/4 before that.
	if minStart < ttl/2 {
		t.Errorf("b took over %s after the cut, before a's leases could expire", minStart)
	}
	if minGap < ttl/8 {
		t.Errorf("a's work was cancelled only %s before b started", minGap)
	}

	// a comes back (its stale requests reach the broker) and shuts down.
	unstick.Do(func() { close(stuck) })
	if err := a.stop(t); err != nil {
		t.Fatal(err)
	}
	px.freeze(false)
	time.Sleep(ttl)
	if err := owns(b, seq(8)); err != nil {
		t.Error(err)
	}
	kv := bucketOf(t, cb.JS)
	for p := range int32(8) {
		e, err := kv.Get(context.Background(), partitionKey(p))
		if err != nil || !strings.Contains(string(e.Value()), `"replica":"b"`) {
			t.Errorf("partition %d lease after a came back: %v", p, err)
		}
	}
	if err := b.stop(t); err != nil {
		t.Fatal(err)
	}
	chk.assertNoOverlap(t)
	mu.Lock()
	defer mu.Unlock()
	for _, s := range badB {
		t.Error(s)
	}
}

// A replica configured with a shorter TTL never shortens the bucket's TTL
// (keys renewed by the others would expire before their deadlines); it
// fences itself on its own, shorter TTL.
func TestNeverShortensBucketTTL(t *testing.T) {
	s := testenv.NATS(t)
	c := testenv.Connect(t, s)
	idle := func(ctx context.Context, _ int32) { <-ctx.Done() }
	a := startReplica(t, c.JS, "a", 2*time.Second, fixed(2), idle)
	testenv.Eventually(t, 5*time.Second, func() error { return owns(a, seq(2)) })
	b := startReplica(t, c.JS, "b", time.Second, fixed(2), idle)
	testenv.Eventually(t, 5*time.Second, func() error {
		if err := owns(a, []int32{0}); err != nil {
			return err
		}
		return owns(b, []int32{1})
	})
	if st, err := bucketOf(t, c.JS).Status(context.Background()); err != nil || st.TTL() != 2*time.Second {
		t.Fatalf("bucket TTL changed: %v %v", st, err)
	}
	if b.m.ttl != time.Second {
		t.Fatalf("b fences on %s", b.m.ttl)
	}
}

// TestWorkThatReturnsIsNotRetakenAtOnce: work that returns while its
// replica owns the partition (a worker giving up because it cannot make
// progress) releases the lease, and the replica does not claim the
// partition again in a tight loop but only after a rest of two TTLs (time
// for a fresh start, or for another replica whose share it is by then).
func TestWorkThatReturnsIsNotRetakenAtOnce(t *testing.T) {
	s := testenv.NATS(t)
	c := testenv.Connect(t, s)
	const ttl = time.Second
	var mu sync.Mutex
	var starts []time.Time
	startReplica(t, c.JS, "a", ttl, fixed(1), func(context.Context, int32) {
		mu.Lock()
		defer mu.Unlock()
		starts = append(starts, time.Now())
	})
	testenv.Eventually(t, 15*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(starts) < 3 {
			return fmt.Errorf("partition 0 worked on %d times; want 3 (claimed again after each rest)", len(starts))
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(starts); i++ {
		if gap := starts[i].Sub(starts[i-1]); gap < 2*ttl {
			t.Errorf("work %d started %s after work %d returned; want a rest of at least %s", i+1, gap, i, 2*ttl)
		}
	}
}

// TestWorkReturningPastItsDeadlineDoesNotRest: work that returns once the
// lease ran out under it (a paused process waking: its work sees it no
// longer holds the partition before the fence timer runs) is not a
// partition this replica failed on. Resting it would leave it unowned
// when the other replicas hand it back at the next balancing round (the
// fault harness found a partition unowned 22 s that way). Work returning
// in time still rests the partition.
func TestWorkReturningPastItsDeadlineDoesNotRest(t *testing.T) {
	s := testenv.NATS(t)
	js := testenv.Connect(t, s).JS
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		deadline time.Duration // of the lease, from now
		rests    bool
	}{
		{"returned past its deadline", -time.Millisecond, false},
		{"returned in time", time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(js, Config{Bucket: "rest-leases", ReplicaID: "me", TTL: 2 * time.Second}, testenv.Logger(t))
			kv, err := m.open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			m.kv = kv
			l := &lease{p: 7, key: partitionKey(7), value: []byte(`{}`), done: make(chan struct{}), deadline: time.Now().Add(tc.deadline)}
			rev, err := kv.Create(ctx, l.key, l.value)
			if err != nil {
				t.Fatal(err)
			}
			l.ctx, l.cancel = context.WithCancelCause(ctx)
			m.leases[7] = l
			close(l.done) // the work returned, its context not cancelled
			m.wg.Add(1)
			m.keep(ctx, l, rev, time.Now().Add(time.Hour)) // the fence timer has not run yet
			if _, rests := m.resting[7]; rests != tc.rests {
				t.Fatalf("partition resting: %v, want %v", rests, tc.rests)
			}
			if _, err := kv.Get(ctx, l.key); !errors.Is(err, jetstream.ErrKeyNotFound) {
				t.Fatalf("the lease key after the work returned: %v, want it deleted", err)
			}
		})
	}
}

// TestAPartitionRestingElsewhereIsTakenBeyondOnesShare: a replica whose
// work on a partition returns (cannot make progress there) leaves it
// alone for two TTLs. The other replica, which already holds its share,
// takes it anyway, within a TTL, rather than leaving it unowned for the
// whole rest (the fault harness saw a partition unowned 20.8 s that way),
// and does not give it up to rebalance while the rest lasts.
func TestAPartitionRestingElsewhereIsTakenBeyondOnesShare(t *testing.T) {
	const ttl = 2 * time.Second
	s := testenv.NATS(t)
	giveUp := make(chan struct{})
	a := startReplica(t, testenv.Connect(t, s).JS, "a", ttl, fixed(4), func(ctx context.Context, p int32) {
		select {
		case <-giveUp: // already given up once: works from now on
			<-ctx.Done()
			return
		default:
		}
		select {
		case <-ctx.Done():
		case <-giveUp: // the work cannot make progress here: a rests p
		}
	})
	b := startReplica(t, testenv.Connect(t, s).JS, "b", ttl, fixed(4), func(ctx context.Context, p int32) { <-ctx.Done() })
	testenv.Eventually(t, 5*ttl, func() error {
		if len(a.m.Owned()) != 2 || len(b.m.Owned()) != 2 || !a.m.Settled() || !b.m.Settled() {
			return fmt.Errorf("a owns %v, b owns %v: want two each", a.m.Owned(), b.m.Owned())
		}
		return nil
	})
	rested := a.m.Owned()
	close(giveUp)
	restEnds := time.Now().Add(2 * ttl) // a rests them for two TTLs
	testenv.Eventually(t, ttl, func() error {
		if got := b.m.Owned(); len(got) != 4 {
			return fmt.Errorf("b owns %v, a owns %v: want b to take %v, which a rests", got, a.m.Owned(), rested)
		}
		return nil
	})
	// Until the rest ends b keeps them all: the ones a rests are held apart
	// from its share, so b has nothing to give up to rebalance. (Once the
	// rest ends, a's resting keys go and b gives two back.)
	for time.Now().Before(restEnds.Add(-500 * time.Millisecond)) {
		if got := b.m.Owned(); len(got) != 4 {
			t.Fatalf("b gave a partition up while a rests %v: b %v, a %v", rested, got, a.m.Owned())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// After the rest, the share is two each again.
	testenv.Eventually(t, 5*ttl, func() error {
		if len(a.m.Owned()) != 2 || len(b.m.Owned()) != 2 {
			return fmt.Errorf("a owns %v, b owns %v: want two each after the rest", a.m.Owned(), b.m.Owned())
		}
		return nil
	})
}
