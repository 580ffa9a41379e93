package c7

// Unit tests against a fake engine (httptest): what each answer becomes.
// The real engine is exercised by services/c7import's tests.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fakeEngine answers every request with status and body, and records the
// request URLs and basic auth users.
type fakeEngine struct {
	status int
	body   string
	urls   []*url.URL
	users  []string
}

func (f *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.urls = append(f.urls, r.URL)
	u, _, _ := r.BasicAuth()
	f.users = append(f.users, u)
	w.Header().Set("Date", "Sun, 06 Dec 2026 10:00:00 GMT")
	w.WriteHeader(f.status)
	_, _ = w.Write([]byte(f.body))
}

func newFake(t *testing.T, status int, body string) (*fakeEngine, *Client) {
	t.Helper()
	f := &fakeEngine{status: status, body: body}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := New(Options{URL: srv.URL + "/engine-rest", Username: "demo", Password: "s3cret", MaxResponseBytes: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func TestAnswersBecomeTheirErrors(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"unauthorized", 401, `{"type":"AuthenticationException"}`, ErrAuth},
		{"forbidden", 403, `{}`, ErrAuth},
		{"no such endpoint", 404, `{"type":"NotFoundException"}`, ErrNotFound},
		{"server error", 500, `{"type":"ProcessEngineException"}`, ErrUnavailable},
		{"overloaded", 429, ``, ErrUnavailable},
		{"not JSON", 200, `<html>`, ErrUnavailable},
		{"not an array", 200, `{"id":"x"}`, ErrUnavailable},
		{"too large", 200, `[` + strings.Repeat(`{"id":"x"},`, 200) + `{"id":"y"}]`, ErrPageTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newFake(t, tt.status, tt.body)
			_, err := c.After(context.Background(), ActivityInstanceCompleted, -1, 10)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
	c, err := New(Options{URL: "http://127.0.0.1:1/engine-rest", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.After(context.Background(), VariableUpdate, -1, 1); !errors.Is(err, ErrUnavailable) {
		t.Errorf("no engine listening: %v, want ErrUnavailable", err)
	}
}

// After and At send the kind's paging parameters (in the engine's date
// format), maxResults (positive on After: the engine reads 0 as no limit)
// and the kind's fixed parameters, with basic auth.
func TestPagingParameters(t *testing.T) {
	f, c := newFake(t, 200, `[]`)
	at := int64(1_796_527_336_294) // 2026-12-06T03:22:16.294Z
	if _, err := c.After(context.Background(), VariableUpdate, at, 50); err != nil {
		t.Fatal(err)
	}
	if _, err := c.At(context.Background(), IncidentCompleted, at, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.After(context.Background(), ProcessInstanceRunning, -1, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := c.After(context.Background(), VariableUpdate, -1, 0); err == nil {
		t.Error("a page size of 0 (no limit for the engine) is accepted")
	}
	for i, want := range []struct{ path, query string }{
		{"/engine-rest/engine/default/optimize/variable-update", "excludeObjectValues=true&maxResults=50&occurredAfter=2026-12-06T03%3A22%3A16.294%2B0000"},
		{"/engine-rest/engine/default/optimize/incident/completed", "finishedAt=2026-12-06T03%3A22%3A16.294%2B0000&maxResults=0"},
		{"/engine-rest/engine/default/optimize/process-instance/running", "maxResults=5"},
	} {
		if got := f.urls[i]; got.Path != want.path || got.RawQuery != want.query {
			t.Errorf("request %d: %s?%s, want %s?%s", i, got.Path, got.RawQuery, want.path, want.query)
		}
		if f.users[i] != "demo" {
			t.Errorf("request %d: basic auth user %q", i, f.users[i])
		}
	}
}

// Entities without an id or without their kind's timestamp are set apart
// with the reason; the others keep the engine's order and JSON; the page
// says how many the engine returned and the engine's clock.
func TestPageSetsApartEntitiesItCannotOrder(t *testing.T) {
	_, c := newFake(t, 200, `[
		{"id":"a","endTime":"2026-12-06T03:22:16.294+0000","x":1},
		{"endTime":"2026-12-06T03:22:16.295+0000"},
		{"id":"c","endTime":null},
		{"id":"d","endTime":"yesterday"},
		{"id":"e","endTime":"2026-12-06T03:22:17.000+0000"}]`)
	p, err := c.After(context.Background(), ActivityInstanceCompleted, -1, 5)
	if err != nil {
		t.Fatal(err)
	}
	if p.Fetched != 5 || len(p.Entities) != 2 || p.Entities[0].ID != "a" || p.Entities[1].ID != "e" {
		t.Fatalf("page %+v", p)
	}
	if p.Entities[0].Time != 1_796_527_336_294 || !strings.Contains(string(p.Entities[0].Raw), `"x":1`) {
		t.Errorf("entity a: %+v", p.Entities[0])
	}
	reasons := []string{"no id", "id c: no endTime", "id d: endTime"}
	if len(p.Invalid) != len(reasons) {
		t.Fatalf("invalid %+v", p.Invalid)
	}
	for i, r := range reasons {
		if !strings.Contains(p.Invalid[i].Reason, r) || !strings.HasPrefix(p.Invalid[i].Reason, "activity-instance-completed entity") {
			t.Errorf("invalid %d: %q, want it to say %q", i, p.Invalid[i].Reason, r)
		}
	}
	if !p.ServerTime.Equal(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("server time %v", p.ServerTime)
	}
}

func TestPingNamesTheEnginesServed(t *testing.T) {
	f, c := newFake(t, 200, `[{"name":"default"},{"name":"other"}]`)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.urls[0].Path != "/engine-rest/engine" {
		t.Errorf("ping asked %s", f.urls[0].Path)
	}
	_, c = newFake(t, 200, `[{"name":"other"}]`)
	if err := c.Ping(context.Background()); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"other"`) {
		t.Errorf("ping of an engine not served: %v", err)
	}
}

func TestDates(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"2026-12-06T03:22:16.294+0000", 1_796_527_336_294, true},
		{"2026-12-06T04:22:16.294+0100", 1_796_527_336_294, true},
		{"2026-12-06T04:22:16.294+01:00", 1_796_527_336_294, true},
		{"2026-12-06", 0, false},
	} {
		got, err := ParseDate(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseDate(%q) = %d, %v", tt.in, got, err)
		}
	}
	if s := FormatDate(1_796_527_336_294); s != "2026-12-06T03:22:16.294+0000" {
		t.Errorf("FormatDate = %s", s)
	}
	for _, bad := range []string{"ftp://x", "http://x/engine-rest?a=b", "http://x/engine-rest#f", "http://"} {
		if _, err := New(Options{URL: bad}); err == nil {
			t.Errorf("engine URL %q is accepted", bad)
		}
	}
}
