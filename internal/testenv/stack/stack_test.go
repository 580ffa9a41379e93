package stack

import (
	"reflect"
	"strings"
	"testing"

	"github.com/flowline/flowline/internal/testenv"
	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/services/c7import"
)

// The environment C7ImportEnv gives a `flowline c7-import` child process
// loads (as the command loads it) into exactly C7ImportConfig, so an import
// run as a child and one run in a stack work alike.
func TestC7ImportEnvLoadsAsC7ImportConfig(t *testing.T) {
	ns := testenv.NATS(t)
	c := C7{URL: "http://127.0.0.1:18080/engine-rest", Source: "env-test", PageSize: 42}
	want := C7ImportConfig(t, ns, c)
	env := C7ImportEnv(t, ns, c)
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		t.Setenv(name, value)
	}
	var rt config.Runtime
	got := c7import.NewConfig()
	if err := config.Load(&rt); err != nil {
		t.Fatal(err)
	}
	if err := config.Load(&got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("C7ImportEnv %v loads as\n%+v\nwant C7ImportConfig\n%+v", env, got, want)
	}
	if rt.AdminAddr != "127.0.0.1:0" || rt.LogLevel != "info" {
		t.Errorf("runtime %+v: want the admin server on a free port and logging at info", rt)
	}
	if got.Engine.PageSize != 42 || got.Engine.Settle != 0 || got.Engine.Source != "env-test" {
		t.Errorf("engine settings %+v lack the test's", got.Engine)
	}
}
