package c7enginetest

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/flowline/flowline/pkg/config"
)

func TestMain(m *testing.M) { Main(m) }

// TestSharedDeployAndStart: Shared starts one engine per test binary
// (unless FLOWLINE_C7_TEST_URL names one), and the REST helpers deploy to it, start an instance and read it back.
func TestSharedDeployAndStart(t *testing.T) {
	url := Shared(t)
	if again := Shared(t); again != url {
		t.Fatalf("second Shared = %s, want the same engine %s", again, url)
	}
	if env, _ := config.Lookup("C7_TEST_URL"); env != "" {
		if shared.engine != nil {
			t.Fatalf("Shared started an engine although FLOWLINE_C7_TEST_URL=%s", env)
		}
	} else if shared.engine == nil || shared.engine.URL() != url {
		t.Fatalf("Shared did not start an engine of its own (engine %v, URL %s)", shared.engine, url)
	}
	const key = "c7enginetest-shared"
	depID := Deploy(t, url, "c7enginetest", map[string][]byte{key + ".bpmn": UserTaskBPMN(key)})
	var defs []struct {
		Key          string `json:"key"`
		DeploymentID string `json:"deploymentId"`
	}
	Get(t, url, "/process-definition?key="+key, &defs)
	if len(defs) != 1 || defs[0].DeploymentID != depID {
		t.Errorf("process definitions of %s = %+v, want one from deployment %s", key, defs, depID)
	}
	id := StartInstance(t, url, key, map[string]any{"n": 7, "ok": true, "s": "x", "none": nil})
	var inst struct {
		ID    string `json:"id"`
		Ended bool   `json:"ended"`
	}
	Get(t, url, "/process-instance/"+id, &inst)
	if inst.ID != id || inst.Ended {
		t.Errorf("instance %s = %+v, want it running", id, inst)
	}
	var vars map[string]struct {
		Type  string `json:"type"`
		Value any    `json:"value"`
	}
	Get(t, url, "/process-instance/"+id+"/variables", &vars)
	for name, want := range map[string]string{"n": "Integer", "ok": "Boolean", "s": "String", "none": "Null"} {
		if vars[name].Type != want {
			t.Errorf("variable %s has type %q, want %s (all: %+v)", name, vars[name].Type, want, vars)
		}
	}
}

// TestSharedFromEnvironment: with FLOWLINE_C7_TEST_URL set, the shared
// engine is that one (checked to answer), and none is started.
func TestSharedFromEnvironment(t *testing.T) {
	running := Shared(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + "/engine-rest"
	ln.Close()
	for _, tc := range []struct {
		env     string
		want    string
		wantErr string
	}{
		{env: running, want: running},
		{env: running + "/", want: running},
		{env: closed, wantErr: "FLOWLINE_C7_TEST_URL=" + closed},
		{env: "127.0.0.1:8080", wantErr: "FLOWLINE_C7_TEST_URL"},
	} {
		t.Setenv("FLOWLINE_C7_TEST_URL", tc.env)
		var s sharedEngine
		got, err := s.get()
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("FLOWLINE_C7_TEST_URL=%s: %q, %v; want an error naming %q", tc.env, got, err, tc.wantErr)
			}
		} else if err != nil || got != tc.want {
			t.Errorf("FLOWLINE_C7_TEST_URL=%s: %q, %v; want %s", tc.env, got, err, tc.want)
		}
		if s.engine != nil {
			s.stop()
			t.Errorf("FLOWLINE_C7_TEST_URL=%s: an engine was started", tc.env)
		}
	}
}

func TestSettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"", true},
		{"http://127.0.0.1:8080/engine-rest", true},
		{"https://c7.example.com/engine-rest", true},
		{"127.0.0.1:8080", false},
		{"ftp://host/engine-rest", false},
		{"http:///engine-rest", false},
	} {
		err := settings{URL: tc.url}.Validate()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, config.ErrInvalid)) {
			t.Errorf("Validate(%q) = %v, want ok=%v (else config.ErrInvalid)", tc.url, err, tc.ok)
		}
	}
}
