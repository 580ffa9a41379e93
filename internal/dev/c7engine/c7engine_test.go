package c7engine_test

import (
	"archive/zip"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/dev/c7engine"
	"github.com/flowline/flowline/internal/dev/devproc/devproctest"
	"github.com/flowline/flowline/internal/testenv/c7enginetest"
)

// historicInstance is the part of a history or Optimize process instance
// the tests read.
type historicInstance struct {
	ID                   string `json:"id"`
	ProcessDefinitionKey string `json:"processDefinitionKey"`
	State                string `json:"state"`
}

// TestEngineDeployStartReadAndStop runs an engine, deploys a process with a
// user task, starts an instance and reads it back through the history and
// Optimize endpoints, then stops the engine.
func TestEngineDeployStartReadAndStop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e := c7enginetest.Start(ctx, t, c7engine.Options{})
	url := e.URL()
	if !regexp.MustCompile(`^http://127\.0\.0\.1:[0-9]+/engine-rest$`).MatchString(url) {
		t.Fatalf("URL() = %q, want http://127.0.0.1:PORT/engine-rest", url)
	}

	var engines []struct {
		Name string `json:"name"`
	}
	c7enginetest.Get(t, url, "/engine", &engines)
	if len(engines) != 1 || engines[0].Name != "default" {
		t.Fatalf("GET /engine = %+v, want [{default}]", engines)
	}

	const key = "c7engine-user-task"
	depID := c7enginetest.Deploy(t, url, "c7engine-test", map[string][]byte{key + ".bpmn": c7enginetest.UserTaskBPMN(key)})
	var dep struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	c7enginetest.Get(t, url, "/deployment/"+depID, &dep)
	if dep.ID != depID || dep.Name != "c7engine-test" {
		t.Errorf("deployment = %+v, want id %s named c7engine-test", dep, depID)
	}
	id := c7enginetest.StartInstance(t, url, key, map[string]any{"orderId": "A-1", "amount": 42})

	var hist []historicInstance
	c7enginetest.Get(t, url, "/history/process-instance?processInstanceId="+id, &hist)
	if len(hist) != 1 || hist[0].ID != id || hist[0].ProcessDefinitionKey != key || hist[0].State != "ACTIVE" {
		t.Errorf("history of %s = %+v, want one ACTIVE instance of %s", id, hist, key)
	}
	var vars []struct {
		Name  string `json:"name"`
		Value any    `json:"value"`
	}
	c7enginetest.Get(t, url, "/history/variable-instance?processInstanceId="+id+"&sortBy=variableName&sortOrder=asc", &vars)
	if len(vars) != 2 || vars[0].Name != "amount" || vars[0].Value != float64(42) || vars[1].Name != "orderId" || vars[1].Value != "A-1" {
		t.Errorf("variables of %s = %+v, want amount=42, orderId=A-1", id, vars)
	}
	var tasks []struct {
		TaskDefinitionKey string `json:"taskDefinitionKey"`
	}
	c7enginetest.Get(t, url, "/task?processInstanceId="+id, &tasks)
	if len(tasks) != 1 || tasks[0].TaskDefinitionKey != "task" {
		t.Errorf("tasks of %s = %+v, want the user task", id, tasks)
	}
	var running []historicInstance
	c7enginetest.Get(t, url, "/optimize/process-instance/running?maxResults=10", &running)
	if len(running) != 1 || running[0].ID != id || running[0].ProcessDefinitionKey != key {
		t.Errorf("Optimize running instances = %+v, want %s", running, id)
	}

	pid, dir := e.PID(), filepath.Dir(e.LogPath())
	if err := e.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- e.Wait() }()
	select {
	case err := <-waited:
		t.Logf("Wait after Stop: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("Wait hangs after Stop")
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("engine pid %d after Stop: kill -0 = %v, want ESRCH", pid, err)
	}
	if err := c7engine.CheckReady(ctx, url); err == nil {
		t.Errorf("%s still answers after Stop", url)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("engine dir %s after Stop: %v, want removed", dir, err)
	}
	if err := e.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestRestartOnDataDirKeepsData: an engine on a DataDir finds its
// deployment and instance again after a restart; a second engine on the
// same DataDir is refused while the first runs.
func TestRestartOnDataDirKeepsData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	dir := t.TempDir()
	first := c7enginetest.Start(ctx, t, c7engine.Options{DataDir: dir})
	const key = "c7engine-restart"
	depID := c7enginetest.Deploy(t, first.URL(), "c7engine-restart", map[string][]byte{key + ".bpmn": c7enginetest.UserTaskBPMN(key)})
	id := c7enginetest.StartInstance(t, first.URL(), key, nil)

	if e, err := c7engine.Start(ctx, c7engine.Options{DataDir: dir}); !errors.Is(err, c7engine.ErrDataDirInUse) {
		if e != nil {
			e.Stop()
		}
		t.Fatalf("second engine on a DataDir in use: err = %v, want ErrDataDirInUse", err)
	}
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}

	second := c7enginetest.Start(ctx, t, c7engine.Options{DataDir: dir})
	var deps []struct {
		ID string `json:"id"`
	}
	c7enginetest.Get(t, second.URL(), "/deployment?name=c7engine-restart", &deps)
	if len(deps) != 1 || deps[0].ID != depID {
		t.Errorf("deployments after restart = %+v, want %s", deps, depID)
	}
	var hist []historicInstance
	c7enginetest.Get(t, second.URL(), "/history/process-instance?processInstanceId="+id, &hist)
	if len(hist) != 1 || hist[0].State != "ACTIVE" {
		t.Errorf("history of %s after restart = %+v, want it ACTIVE", id, hist)
	}
	if second.LogPath() != filepath.Join(dir, "engine.log") {
		t.Errorf("LogPath() = %s, want engine.log in the DataDir", second.LogPath())
	}
	b, err := os.ReadFile(second.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "=== c7engine: "); n != 2 {
		t.Errorf("log %s holds %d start headers, want 2 (appended across restarts)", second.LogPath(), n)
	}
	if err := second.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "h2", "flowline-c7.mv.db")); err != nil {
		t.Errorf("H2 database after Stop: %v", err)
	}
}

// TestStartFailures: Start refuses bad options at once, and an engine that
// exits or does not answer in time yields an error naming the log, with its
// last lines, and leaves no process behind.
func TestStartFailures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := c7engine.Build(ctx, ""); err != nil { // the broken JDK below cannot build
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().(*net.TCPAddr).Port
	broken := devproctest.FakeJDK(t, t.TempDir(), "broken-jdk", "17.0.99",
		"#!/bin/sh\necho \"broken-jdk: refusing to start $*\" >&2\nexit 3\n")

	for _, tc := range []struct {
		name    string
		opts    c7engine.Options
		timeout time.Duration
		want    error
		output  string // a line of the engine's output the error must quote
	}{
		{name: "port in use", opts: c7engine.Options{Port: busy}, want: c7engine.ErrPortInUse},
		{name: "negative heap", opts: c7engine.Options{HeapMB: -1}, want: c7engine.ErrOptions},
		{name: "managed argument", opts: c7engine.Options{ExtraArgs: []string{"--server.port=1"}}, want: c7engine.ErrOptions},
		{name: "process exits", opts: c7engine.Options{JavaHome: broken}, want: c7engine.ErrExited, output: "broken-jdk: refusing to start -Xmx512m"},
		{name: "no answer in time", timeout: time.Second, want: c7engine.ErrNotReady, output: "=== c7engine: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sctx := ctx
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				sctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			e, err := c7engine.Start(sctx, tc.opts)
			if err == nil {
				e.Stop()
				t.Fatal("Start succeeded")
			}
			t.Logf("error (expected):\n%v", err)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.output == "" {
				return
			}
			if !strings.Contains(err.Error(), tc.output) {
				t.Errorf("error lacks the output line %q", tc.output)
			}
			m := regexp.MustCompile(`; log: (\S+); last lines:`).FindStringSubmatch(err.Error())
			if m == nil {
				t.Fatal("error names no log")
			}
			b, rerr := os.ReadFile(m[1])
			if rerr != nil || !strings.Contains(string(b), tc.output) {
				t.Errorf("log %s: %v; want it kept, holding %q", m[1], rerr, tc.output)
			}
			dir := filepath.Dir(m[1])
			t.Cleanup(func() { os.RemoveAll(dir) })
			if pids := processesUsing(dir); len(pids) > 0 {
				t.Errorf("processes still running from %s: %v", dir, pids)
			}
		})
	}
}

// processesUsing lists the pids whose command line mentions s.
func processesUsing(s string) []string {
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), s) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// TestBuildOnceIntoCache builds the jar into an empty cache from two
// goroutines at once: Maven runs once, the jar lands under the content
// hash, holds the embedded app, and no build directory is left behind.
func TestBuildOnceIntoCache(t *testing.T) {
	realMvn, err := exec.LookPath("mvn")
	if err != nil {
		t.Fatalf("Maven is needed to build the engine (CI has it): %v", err)
	}
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	shim, runs := t.TempDir(), filepath.Join(t.TempDir(), "runs")
	script := "#!/bin/sh\necho run >> '" + runs + "'\nexec '" + realMvn + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(shim, "mvn"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", strings.Join([]string{shim, filepath.Dir(realMvn), "/usr/local/bin", "/usr/bin", "/bin"}, ":"))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	jars, errs := make([]string, 2), make([]error, 2)
	for i := range jars {
		wg.Go(func() { jars[i], errs[i] = c7engine.Build(ctx, "") })
	}
	wg.Wait()
	want := filepath.Join(cache, "flowline", "c7engine", c7engine.SourceHash(), c7engine.JarName)
	for i := range jars {
		if errs[i] != nil || jars[i] != want {
			t.Fatalf("Build %d = %s, %v; want %s", i, jars[i], errs[i], want)
		}
	}
	if again, err := c7engine.Build(ctx, ""); err != nil || again != want {
		t.Errorf("Build on a warm cache = %s, %v", again, err)
	}
	if b, err := os.ReadFile(runs); err != nil || strings.Count(string(b), "run") != 1 {
		t.Errorf("mvn ran %q times (%v), want once for three Builds", b, err)
	}
	zr, err := zip.OpenReader(want)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	found := map[string]bool{}
	for _, f := range zr.File {
		found[f.Name] = true
	}
	for _, name := range []string{"BOOT-INF/classes/application.yaml", "BOOT-INF/classes/dev/flowline/c7engine/Engine.class"} {
		if !found[name] {
			t.Errorf("jar lacks %s", name)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(cache, "flowline", "c7engine", ".build-*")); len(left) > 0 {
		t.Errorf("build directories left behind: %v", left)
	}
}
