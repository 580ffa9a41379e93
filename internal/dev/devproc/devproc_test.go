package devproc

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFreePortsAndPortAvailable(t *testing.T) {
	ports, err := FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || p > 65535 || seen[p] {
			t.Fatalf("FreePorts = %v: want distinct valid ports", ports)
		}
		seen[p] = true
		if !PortAvailable(p) {
			t.Errorf("port %d from FreePorts is not available", p)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if busy := ln.Addr().(*net.TCPAddr).Port; PortAvailable(busy) {
		t.Errorf("PortAvailable(%d) = true for a bound port", busy)
	}
}

func TestTailBufferAndLastLines(t *testing.T) {
	tb := NewTailBuffer(16)
	for i := range 10 {
		fmt.Fprintf(tb, "line%d\n", i)
	}
	if got := tb.LastLines(2); got != "line8\nline9" {
		t.Errorf("LastLines(2) = %q", got)
	}
	if len(tb.buf) > 16 {
		t.Errorf("tail buffer grew to %d bytes", len(tb.buf))
	}
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\n", 5, "a\nb"},
		{"a\nb\nc", 2, "b\nc"},
		{"", 3, ""},
	} {
		if got := LastLines(tc.in, tc.n); got != tc.want {
			t.Errorf("LastLines(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
	if got := Indent("a\nb"); got != "    a\n    b" {
		t.Errorf("Indent = %q", got)
	}
	if got := Indent(""); got != "    (empty)" {
		t.Errorf("Indent(\"\") = %q", got)
	}
}

func TestFilteredEnv(t *testing.T) {
	got := FilteredEnv([]string{"A=1", "JAVA_HOME=/x", "B=2=3", "ES_JAVA_OPTS=-Xmx9g"}, "JAVA_HOME", "ES_JAVA_OPTS")
	if strings.Join(got, " ") != "A=1 B=2=3" {
		t.Errorf("FilteredEnv = %v", got)
	}
}

func TestLockFileExcludes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "l.lock")
	unlock, err := LockFile(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := LockFile(ctx, p); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second lock while held: err = %v, want deadline exceeded", err)
	}
	if _, err := TryLock(p); !errors.Is(err, ErrLocked) {
		t.Errorf("TryLock while held: err = %v, want ErrLocked", err)
	}
	unlock()
	f, err := TryLock(p)
	if err != nil {
		t.Fatalf("TryLock after unlock: %v", err)
	}
	if _, err := TryLock(p); !errors.Is(err, ErrLocked) {
		t.Errorf("second TryLock: err = %v, want ErrLocked", err)
	}
	f.Close()
	unlock2, err := LockFile(context.Background(), p)
	if err != nil {
		t.Fatalf("lock after close: %v", err)
	}
	unlock2()
}

func TestCheckZip(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jar")
	f, err := os.Create(good)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	if _, err := zw.Create("META-INF/MANIFEST.MF"); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	bad := filepath.Join(dir, "bad.jar")
	if err := os.WriteFile(bad, []byte("not a zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		ok   bool
	}{{good, true}, {bad, false}, {filepath.Join(dir, "missing.jar"), false}} {
		if err := CheckZip(tc.path); (err == nil) != tc.ok {
			t.Errorf("CheckZip(%s) = %v, want ok=%v", filepath.Base(tc.path), err, tc.ok)
		}
	}
}

// closeRecorder records that it was closed.
type closeRecorder chan struct{}

func (c closeRecorder) Close() error { close(c); return nil }

func TestProcessTerminate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string // runs as the group leader; spawns a child in the group
		grace  time.Duration
		killed syscall.Signal
	}{
		{name: "exits on SIGTERM", script: "sleep 300 & touch \"$0\"; wait", grace: 10 * time.Second, killed: syscall.SIGTERM},
		{name: "ignores SIGTERM", script: "trap '' TERM; sleep 300 & touch \"$0\"; wait; sleep 300", grace: 500 * time.Millisecond, killed: syscall.SIGKILL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			closed := make(closeRecorder)
			started := filepath.Join(t.TempDir(), "started") // touched once the child runs
			p, err := StartProcess(exec.Command("/bin/sh", "-c", tc.script, started), closed)
			if err != nil {
				t.Fatal(err)
			}
			pgid := p.PID()
			waitFor(t, func() bool { _, err := os.Stat(started); return err == nil })
			select {
			case <-p.Done():
				t.Fatalf("process exited early: %v", p.Wait())
			default:
			}
			t0 := time.Now()
			if err := p.Terminate(tc.grace); err != nil {
				t.Fatal(err)
			}
			if GroupAlive(pgid) {
				t.Errorf("process group %d alive after Terminate", pgid)
			}
			var ee *exec.ExitError
			if err := p.Wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != tc.killed {
				t.Errorf("Wait = %v, want killed by %v", err, tc.killed)
			}
			if tc.killed == syscall.SIGKILL && time.Since(t0) < tc.grace {
				t.Errorf("SIGKILL came after %v, before the grace of %v", time.Since(t0), tc.grace)
			}
			select {
			case <-closed:
			default:
				t.Error("closer not closed after exit")
			}
			if err := p.Terminate(tc.grace); err != nil {
				t.Errorf("Terminate after exit: %v", err)
			}
		})
	}
}

func TestStartProcessFailureClosesClosers(t *testing.T) {
	closed := make(closeRecorder)
	if _, err := StartProcess(exec.Command(filepath.Join(t.TempDir(), "missing")), closed); err == nil {
		t.Fatal("StartProcess of a missing program succeeded")
	}
	select {
	case <-closed:
	default:
		t.Error("closer not closed after a failed start")
	}
	cmd := exec.Command("/bin/true")
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if _, err := StartProcess(cmd); err == nil || !strings.Contains(err.Error(), "Setpgid") {
		t.Errorf("StartProcess without Setpgid: err = %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
