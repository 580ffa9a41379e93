// Package c7enginetest gives tests a real Camunda 7 engine
// (internal/dev/c7engine): Shared, one engine per test binary (or the one
// at FLOWLINE_C7_TEST_URL, so that a script can start one engine for a whole
// run), Start, an engine of a test's own, and a few helpers for the engine's
// REST API. It imports neither testenv nor pkg/, so any package's tests can
// use it.
package c7enginetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowline/flowline/internal/dev/c7engine"
	"github.com/flowline/flowline/pkg/config"
)

// sharedStartTimeout bounds starting the shared engine, a first build of
// its jar included.
const sharedStartTimeout = 5 * time.Minute

// settings are what the tests read from the environment besides the
// engine's c7engine.Config (FLOWLINE_C7_JAVA_HOME).
type settings struct {
	URL string `envconfig:"C7_TEST_URL" desc:"Camunda 7 REST API of the tests, e.g. http://127.0.0.1:8080/engine-rest (unset: a local engine started once per test binary)"`
}

// Validate implements config.Validator.
func (s settings) Validate() error {
	if s.URL == "" {
		return nil
	}
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: %s_C7_TEST_URL: %q must be an http(s) URL of the engine's REST API", config.ErrInvalid, config.Prefix, s.URL)
	}
	return nil
}

// sharedEngine is the engine of a test binary: found or started once,
// stopped by stop. It is safe for concurrent use.
type sharedEngine struct {
	once   sync.Once
	url    string
	err    error
	engine *c7engine.Engine // nil when the URL came from FLOWLINE_C7_TEST_URL
}

var shared sharedEngine

func (s *sharedEngine) get() (string, error) {
	s.once.Do(func() {
		var st settings
		if s.err = config.Load(&st); s.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), sharedStartTimeout)
		defer cancel()
		if st.URL != "" {
			s.url = strings.TrimRight(st.URL, "/")
			if err := c7engine.CheckReady(ctx, s.url); err != nil {
				s.err = fmt.Errorf("%s_C7_TEST_URL=%s: %w", config.Prefix, s.url, err)
			}
			return
		}
		cfg, err := c7engine.LoadConfig()
		if err != nil {
			s.err = err
			return
		}
		if s.engine, s.err = c7engine.Start(ctx, c7engine.Options{JavaHome: cfg.JavaHome}); s.err == nil {
			s.url = s.engine.URL()
		}
	})
	return s.url, s.err
}

func (s *sharedEngine) stop() {
	if s.engine != nil {
		_ = s.engine.Stop()
	}
}

// Shared returns the REST URL (…/engine-rest) of the test binary's engine:
// FLOWLINE_C7_TEST_URL when set (checked to answer), otherwise a local
// engine started on first use (H2 in memory) and stopped by StopShared. Tests
// sharing it see each other's deployments and instances: use unique keys. A
// test that cannot get one fails; it is never skipped.
func Shared(t testing.TB) string {
	t.Helper()
	u, err := shared.get()
	if err != nil {
		t.Fatalf("c7enginetest: shared engine: %v", err)
	}
	return u
}

// StopShared stops the engine Shared started, if any. A TestMain that runs
// tests using Shared calls it after m.Run (Main does).
func StopShared() { shared.stop() }

// Main runs the tests of a package, then stops the shared engine, and
// exits. Use it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}

// Start starts an engine of the test's own with opts, within ctx, stopped
// at cleanup. An empty opts.JavaHome is FLOWLINE_C7_JAVA_HOME's.
func Start(ctx context.Context, t testing.TB, opts c7engine.Options) *c7engine.Engine {
	t.Helper()
	if opts.JavaHome == "" {
		cfg, err := c7engine.LoadConfig()
		if err != nil {
			t.Fatal(err)
		}
		opts.JavaHome = cfg.JavaHome
	}
	t0 := time.Now()
	e, err := c7engine.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start Camunda 7 engine: %v", err)
	}
	t.Cleanup(func() { _ = e.Stop() })
	t.Logf("Camunda 7 engine %s (pid %d, log %s) ready after %v", e.URL(), e.PID(), e.LogPath(), time.Since(t0).Round(time.Millisecond))
	return e
}

// Deploy deploys files (resource name -> content, e.g. "order.bpmn") as
// one deployment called name (POST /deployment/create) and returns the
// deployment id. restURL is an engine's REST base URL (…/engine-rest).
func Deploy(t testing.TB, restURL, name string, files map[string][]byte) string {
	t.Helper()
	id, err := c7engine.Deploy(context.Background(), restURL, name, files)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// StartInstance starts an instance of the latest process definition with
// key (POST /process-definition/key/{key}/start) and returns its id. vars
// are sent untyped ({"value": v}): the engine makes strings String, numbers
// Integer, Long or Double, booleans Boolean, nil Null.
func StartInstance(t testing.TB, restURL, key string, vars map[string]any) string {
	t.Helper()
	typed := make(map[string]map[string]any, len(vars))
	for k, v := range vars {
		typed[k] = map[string]any{"value": v}
	}
	body, err := json.Marshal(map[string]any{"variables": typed})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		ID string `json:"id"`
	}
	call(t, http.MethodPost, restURL+"/process-definition/key/"+url.PathEscape(key)+"/start", "application/json", bytes.NewReader(body), &out)
	if out.ID == "" {
		t.Fatalf("c7enginetest: start %q: no id in the answer", key)
	}
	return out.ID
}

// Get decodes the JSON answer of GET restURL+path (path with its query,
// e.g. "/history/process-instance?processInstanceId=…") into out.
func Get(t testing.TB, restURL, path string, out any) {
	t.Helper()
	call(t, http.MethodGet, restURL+path, "", nil, out)
}

// UserTaskBPMN is a minimal executable process with id key: start event,
// one user task (id "task"), end event; with the historyTimeToLive the
// engine requires.
func UserTaskBPMN(key string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="definitions-` + key + `" targetNamespace="http://flowline.dev/test">
  <bpmn:process id="` + key + `" name="` + key + `" isExecutable="true" camunda:historyTimeToLive="P1D">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="toTask" sourceRef="start" targetRef="task"/>
    <bpmn:userTask id="task" name="Do it"/>
    <bpmn:sequenceFlow id="toEnd" sourceRef="task" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
`)
}

var client = &http.Client{Timeout: 30 * time.Second}

// Do sends method restURL+path with body (nil: none; else sent as JSON) and
// decodes the JSON answer into out (when not nil); an answer other than 200
// or 204 fails the test with it. It drives the engine in tests: complete a
// task (POST /task/{id}/complete), set a variable (PUT
// /process-instance/{id}/variables/{name}), cancel an instance (DELETE
// /process-instance/{id}), and so on.
func Do(t testing.TB, method, restURL, path string, body, out any) {
	t.Helper()
	var r io.Reader
	contentType := ""
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r, contentType = bytes.NewReader(b), "application/json"
	}
	call(t, method, restURL+path, contentType, r, out)
}

// SetClock stops the engine's clock at epochMillis until ResetClock (a hook
// of the development engine, internal/dev/c7engine/app TestClock): every
// history entity created meanwhile carries that timestamp. The clock is the
// whole engine's: use it on an engine of the test's own, not Shared.
func SetClock(t testing.TB, restURL string, epochMillis int64) {
	t.Helper()
	call(t, http.MethodPut, restURL+"/flowline-test/clock?epochMillis="+strconv.FormatInt(epochMillis, 10), "", nil, nil)
}

// ResetClock returns the engine to the system clock.
func ResetClock(t testing.TB, restURL string) {
	t.Helper()
	call(t, http.MethodDelete, restURL+"/flowline-test/clock", "", nil, nil)
}

// call does one request and decodes a 200 answer's JSON into out (when not
// nil); anything but 200 or 204 fails the test with the answer.
func call(t testing.TB, method, u, contentType string, body io.Reader, out any) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("c7enginetest: %s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("c7enginetest: %s %s: %v", method, u, err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		t.Fatalf("c7enginetest: %s %s: %s: %s", method, u, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("c7enginetest: %s %s: %v in %s", method, u, err, b)
		}
	}
}
