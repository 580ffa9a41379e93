package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Admin is a process's admin HTTP server: /healthz answers 200 while the
// process serves, /readyz 200 only when every checked service is Ready,
// /metrics the Prometheus registry.
type Admin struct {
	srv *http.Server
	mux *http.ServeMux
	ln  net.Listener
}

// NewAdmin listens on addr. Services are checked on each /readyz request.
func NewAdmin(addr string, gatherer prometheus.Gatherer, services ...Service) (*Admin, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		var notReady []string
		for _, s := range services {
			if err := s.Ready(); err != nil {
				notReady = append(notReady, s.Name()+": "+err.Error())
			}
		}
		if len(notReady) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready\n" + strings.Join(notReady, "\n") + "\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	ready := prometheus.NewRegistry()
	ready.MustRegister(readiness(services))
	mux.Handle("GET /metrics", promhttp.HandlerFor(prometheus.Gatherers{gatherer, ready}, promhttp.HandlerOpts{}))
	return &Admin{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, mux: mux, ln: ln}, nil
}

// EnablePprof also serves the Go runtime's profiles under /debug/pprof/
// (opt-in: profiles reveal internals, so keep the admin port private).
// Call it before Serve.
func (a *Admin) EnablePprof() {
	a.mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	a.mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	a.mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	a.mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	a.mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}

// Addr is the address the admin server listens on.
func (a *Admin) Addr() string { return a.ln.Addr().String() }

// Serve serves until Shutdown.
func (a *Admin) Serve() error {
	if err := a.srv.Serve(a.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops the server.
func (a *Admin) Shutdown(ctx context.Context) error { return a.srv.Shutdown(ctx) }

// readinessDesc is flowline_ready: what /readyz answers, per service, as
// a metric that alerts can watch.
var readinessDesc = prometheus.NewDesc("flowline_ready",
	"1 when the service is ready (its /readyz condition holds), 0 when not; evaluated at each scrape.",
	[]string{"service"}, nil)

// readiness reports each service's Ready at scrape time.
type readiness []Service

func (r readiness) Describe(ch chan<- *prometheus.Desc) { ch <- readinessDesc }

func (r readiness) Collect(ch chan<- prometheus.Metric) {
	for _, s := range r {
		v := 1.0
		if s.Ready() != nil {
			v = 0
		}
		ch <- prometheus.MustNewConstMetric(readinessDesc, prometheus.GaugeValue, v, s.Name())
	}
}
