package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestProbe: exit 0 on 200, 1 on any other answer or none, 2 on a bad
// invocation; the answer's body is printed or named.
func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			_, _ = w.Write([]byte("ready\n"))
		case "/slow":
			time.Sleep(2 * time.Second)
		default:
			http.Error(w, "not ready\nwriter: not yet connected", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	for _, tt := range []struct {
		args    []string
		code    int
		mention string
	}{
		{[]string{srv.URL + "/readyz"}, 0, "ready"},
		{[]string{srv.URL + "/notready"}, 1, "503 Service Unavailable: not ready"},
		{[]string{"--timeout", "200ms", srv.URL + "/slow"}, 1, "deadline exceeded"},
		{[]string{"http://127.0.0.1:1/readyz"}, 1, "connection refused"},
		{[]string{}, 2, "want one URL"},
		{[]string{"ftp://x"}, 2, "not an http(s) URL"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(append([]string{"probe"}, tt.args...), &out, &errOut); code != tt.code {
				t.Fatalf("exit %d, want %d: %s %s", code, tt.code, out.String(), errOut.String())
			}
			if !strings.Contains(out.String()+errOut.String(), tt.mention) {
				t.Errorf("output %q %q lacks %q", out.String(), errOut.String(), tt.mention)
			}
		})
	}
}
