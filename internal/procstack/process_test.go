package procstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestReadUsage reads this process's CPU and peak RSS from /proc: both
// grow when it works and allocates.
func TestReadUsage(t *testing.T) {
	before, err := ReadTreeUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		buf[x%len(buf)]++
	}
	after, err := ReadTreeUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after.CPU <= before.CPU {
		t.Errorf("CPU did not grow: %v -> %v", before.CPU, after.CPU)
	}
	if after.PeakRSSMB < 64 {
		t.Errorf("peak RSS %.1f MB after touching 64 MiB", after.PeakRSSMB)
	}
}

// TestChildren finds a shell's child process.
func TestChildren(t *testing.T) {
	p, err := StartProcess("sh", "/bin/sh", []string{"-c", "sleep 5 & wait"}, nil, filepath.Join(t.TempDir(), "sh.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	pid := p.PID()
	testenv.Eventually(t, 5*time.Second, func() error {
		if len(Children(pid)) != 1 {
			return fmt.Errorf("children of %d: %v, want the sleep", pid, Children(pid))
		}
		return nil
	})
}

// TestStartNATSStartsEmptyInAReusedDirectory: a rerun in the same work
// directory must dial its own server (not the URL file the previous one
// left) and find no stream the previous run filled.
func TestStartNATSStartsEmptyInAReusedDirectory(t *testing.T) {
	bin := testenv.Flowline(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first, err := StartNATS(ctx, Config{Bin: bin, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(first.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "LEFTOVER", Subjects: []string{"leftover"}}); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	first.Stop()

	second, err := StartNATS(ctx, Config{Bin: bin, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Stop()
	nc, err = nats.Connect(second.NATSURL)
	if err != nil {
		t.Fatalf("second run's URL %s: %v", second.NATSURL, err)
	}
	defer nc.Close()
	js, err = jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Stream(ctx, "LEFTOVER"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("the first run's stream in the second run: %v, want %v", err, jetstream.ErrStreamNotFound)
	}
}

// TestKillPauseResumeRestart: the faults the harness injects act on the
// process, and a restart runs the same command again into the same log.
func TestKillPauseResumeRestart(t *testing.T) {
	log := filepath.Join(t.TempDir(), "sh.log")
	p, err := StartProcess("sh", "/bin/sh", []string{"-c", "echo started; exec sleep 60"}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	state := func() string {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID()))
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		return f[0]
	}
	starts := func(want int) {
		t.Helper()
		testenv.Eventually(t, 5*time.Second, func() error {
			if n := strings.Count(p.Tail(10), "started"); n != want {
				return fmt.Errorf("log holds %d starts, want %d: %q", n, want, p.Tail(10))
			}
			return nil
		})
	}
	starts(1)
	if err := p.Pause(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if s := state(); s != "T" {
			return fmt.Errorf("state %s after Pause, want T (stopped)", s)
		}
		return nil
	})
	if err := p.Resume(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if s := state(); s == "T" {
			return fmt.Errorf("still stopped after Resume")
		}
		return nil
	})
	if err := p.Restart(); err == nil {
		t.Fatal("Restart of a running process succeeded")
	}
	first := p.PID()
	p.Kill()
	if done, err := p.Exited(); !done || err == nil {
		t.Fatalf("after Kill: exited %v (%v), want a killed process", done, err)
	}
	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	if p.PID() == first {
		t.Fatalf("restarted with the same pid %d", first)
	}
	if err := p.CheckAlive(); err != nil {
		t.Fatal(err)
	}
	starts(2)
	if p.RSSMB() <= 0 {
		t.Errorf("RSS of a running process: %v MiB", p.RSSMB())
	}
}

// TestStablePortIsBelowTheEphemeralRange: the ports a restarting process
// keeps are never ones the kernel hands out to connections.
func TestStablePortIsBelowTheEphemeralRange(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		t.Fatal(err)
	}
	var low int
	fmt.Sscan(string(b), &low)
	for range 20 {
		p, err := StablePort()
		if err != nil {
			t.Fatal(err)
		}
		if p < 10000 || p >= low {
			t.Fatalf("port %d, want 10000..%d", p, low-1)
		}
	}
}

func TestWaitProgress(t *testing.T) {
	const interval, stall = time.Millisecond, 30 * time.Millisecond
	type report struct {
		done   bool
		phase  string
		left   int64
		status string
		err    error
	}
	cases := map[string]struct {
		// step returns what cond reports on its nth call.
		step      func(n int) report
		ctx       time.Duration // 0: no deadline
		wantErr   error
		wantCalls int    // at least
		wantText  string // in the error
	}{
		"done at once": {step: func(int) report { return report{done: true} }, wantCalls: 1},
		// A backlog that keeps shrinking is waited for past the stall
		// time as a whole.
		"slow but moving": {step: func(n int) report {
			time.Sleep(2 * time.Millisecond)
			return report{done: n == 40, left: int64(40 - n), status: fmt.Sprintf("open %d", 40-n)}
		}, wantCalls: 41},
		"stuck": {step: func(int) report { return report{left: 7, status: "open 7"} }, wantErr: ErrStalled, wantText: "open 7"},
		// Counts that move without falling (messages going back and forth
		// between pending and redelivered) and statuses that change are no
		// progress.
		"noise": {step: func(n int) report {
			return report{left: int64(7 + n%2), status: fmt.Sprintf("open %d, poll %d", 7+n%2, n)}
		}, wantErr: ErrStalled},
		"unknown counts": {step: func(n int) report { return report{left: -1, status: fmt.Sprintf("error %d", n)} }, wantErr: ErrStalled},
		// A later phase starts high (the archiver's backlog once the
		// records are in) and falls on its own.
		"phases": {step: func(n int) report {
			time.Sleep(2 * time.Millisecond)
			if n < 20 {
				return report{phase: "records", left: int64(20 - n)}
			}
			return report{done: n == 60, phase: "archiver", left: int64(1000 - n)}
		}, wantCalls: 61},
		// Flapping between phases is no progress either.
		"phases flapping": {step: func(n int) report { return report{phase: fmt.Sprint(n % 2), left: 3} }, wantErr: ErrStalled},
		// Moving, then frozen: given up on a stall after the last fall.
		"moves then freezes": {step: func(n int) report {
			left := int64(max(5, 20-n))
			return report{left: left, status: fmt.Sprintf("open %d", left)}
		}, wantErr: ErrStalled, wantCalls: 16, wantText: "open 5"},
		"an error": {step: func(int) report { return report{err: io.ErrUnexpectedEOF} }, wantErr: io.ErrUnexpectedEOF},
		// The context's end says where the wait was.
		"deadline": {step: func(n int) report {
			return report{left: int64(1_000_000 - n), status: fmt.Sprintf("open %d", 1_000_000-n)}
		}, ctx: 50 * time.Millisecond, wantErr: context.DeadlineExceeded, wantText: "last: open"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if c.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.ctx)
				defer cancel()
			}
			calls := 0
			err := WaitProgress(ctx, interval, stall, func() (Remaining, error) {
				calls++
				r := c.step(calls - 1)
				return Remaining{Done: r.done, Phase: r.phase, Left: r.left, Status: r.status}, r.err
			})
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, c.wantErr)
			}
			if calls < c.wantCalls {
				t.Errorf("%d calls, want at least %d", calls, c.wantCalls)
			}
			if c.wantText != "" && !strings.Contains(err.Error(), c.wantText) {
				t.Errorf("the error %q does not say %q", err, c.wantText)
			}
		})
	}
}
