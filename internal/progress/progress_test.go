package progress

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLineNotATerminal(t *testing.T) {
	var b bytes.Buffer
	l := New(&b, false)
	l.Show("one")
	l.Show("two") // within PrintEvery of "one": not printed
	l.Note("a note")
	l.End()
	l.Final("last")
	if got, want := b.String(), "one\na note\nlast\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLineOnATerminal(t *testing.T) {
	var b bytes.Buffer
	l := New(&b, true)
	l.Show("one")
	l.Show("two")
	l.Note("a note") // takes the drawn line's place
	l.Show("three")
	l.End()
	l.End() // nothing left to end
	l.Show("four")
	l.Final("last")
	want := "\rone\033[K\rtwo\033[K\ra note\033[K\n\rthree\033[K\n\rfour\033[K\rlast\033[K\n"
	if got := b.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestFollowEndsWithTheFinalState(t *testing.T) {
	var b bytes.Buffer
	var n atomic.Int64
	l := New(&b, false)
	stop := l.Follow(func() string { return strings.Repeat("x", int(n.Load())) })
	n.Store(3)
	stop()
	if got := b.String(); got != "xxx\n" {
		t.Errorf("got %q, want the final state only (no tick within %s)", got, PrintEvery)
	}

	b.Reset()
	l = New(&b, true)
	stop = l.Follow(func() string { return "t" })
	time.Sleep(3 * RedrawEvery)
	stop()
	if got := b.String(); !strings.HasPrefix(got, "\rt\033[K\rt\033[K") || !strings.HasSuffix(got, "\rt\033[K\n") {
		t.Errorf("terminal: got %q, want redraws then the final line", got)
	}
}

func TestNilLineDoesNothing(t *testing.T) {
	l := New(nil, true)
	if l != nil {
		t.Fatal("New(nil) is not nil")
	}
	l.Show("x")
	l.Note("x")
	l.End()
	l.Final("x")
	l.Follow(func() string { return "x" })()
}

func TestRateAndETA(t *testing.T) {
	if r := Rate(500, 2*time.Second); r != 250 {
		t.Errorf("Rate = %v, want 250", r)
	}
	if r := Rate(5, 0); r != 5000 {
		t.Errorf("Rate at 0 s = %v, want 5000 (elapsed floored at 1 ms)", r)
	}
	if e := ETA(10*time.Second, 0.25); e != "30s" {
		t.Errorf("ETA = %s, want 30s", e)
	}
	if e := ETA(10*time.Second, 0); e != "?" {
		t.Errorf("ETA with nothing done = %s, want ?", e)
	}
}
