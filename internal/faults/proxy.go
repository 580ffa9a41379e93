// Package faults is the fault harness's tooling (issue 17): what it puts
// between Flowline and its dependencies to inject faults that a running
// process cannot be made to produce. Development tooling: no service links
// it.
package faults

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Proxy is an HTTP reverse proxy in front of a search engine that can be
// told to answer bulk requests with 429 (Too Many Requests) for a while, as
// an overloaded Elasticsearch does when its write queue is full: a running
// node's queue size cannot be changed, so the harness injects the
// rejections here. Everything else passes through unchanged. Safe for
// concurrent use.
type Proxy struct {
	srv      *http.Server
	ln       net.Listener
	until    atomic.Int64 // unix nanoseconds until which bulks are refused
	rejected atomic.Int64 // bulk requests refused so far
	// unreachable counts requests whose connection was dropped because
	// the engine did not answer.
	unreachable atomic.Int64
}

// StartProxy starts a proxy to target (the engine's base URL) on a free
// port of 127.0.0.1.
func StartProxy(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("faults: proxy target %q: not a URL with a host", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faults: proxy: %w", err)
	}
	p := &Proxy{ln: ln}
	rp := httputil.NewSingleHostReverseProxy(u)
	// The engine down (stopped by the harness): the client sees its
	// connection dropped, as it would with the node itself, rather than a
	// proxy's 502.
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if r.Context().Err() == nil { // not the client giving up
			p.unreachable.Add(1)
		}
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, herr := hj.Hijack(); herr == nil {
				conn.Close()
				return
			}
		}
		w.WriteHeader(http.StatusBadGateway)
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/_bulk") && time.Now().UnixNano() < p.until.Load() {
			p.rejected.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Elastic-Product", "Elasticsearch")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"type":"es_rejected_execution_exception","reason":"rejected by the fault harness's proxy"},"status":429}`)
			return
		}
		rp.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// URL is the proxy's base URL, to configure as the engine's.
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// RejectBulksFor refuses every bulk request with 429 for d from now.
func (p *Proxy) RejectBulksFor(d time.Duration) { p.until.Store(time.Now().Add(d).UnixNano()) }

// Rejected is how many bulk requests were refused so far.
func (p *Proxy) Rejected() int64 { return p.rejected.Load() }

// Unreachable is how many requests found the engine down so far.
func (p *Proxy) Unreachable() int64 { return p.unreachable.Load() }

// Close stops the proxy.
func (p *Proxy) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
