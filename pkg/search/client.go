// Package search is Flowline's search-engine layer, for Elasticsearch and
// OpenSearch alike: the client built from config, index templates and
// runtime indices, and bulk indexing with every item classified.
package search

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/opensearch-project/opensearch-go/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowline/flowline/pkg/config"
)

// ErrUnavailable wraps failures that are worth retrying: the cluster is
// unreachable, overloaded (429) or failing (5xx).
var ErrUnavailable = errors.New("search engine unavailable")

// ErrRejected wraps failures that retrying will not fix (4xx other than 429).
var ErrRejected = errors.New("search engine rejected the request")

// ErrAuth additionally marks rejections of the credentials rather than of
// the request: 401 (authentication failed) and 403 (not permitted). Such an
// error is also ErrRejected; it says nothing about the documents sent, so a
// caller should not dead-letter them because of it.
var ErrAuth = errors.New("search engine refused the credentials")

// Client is Flowline's one connection to the search engine, Elasticsearch
// (through go-elasticsearch v8) or OpenSearch (through opensearch-go v4,
// since go-elasticsearch refuses servers that are not Elasticsearch). Every
// operation of this package, and every service's own request, goes through
// Do, which speaks the REST API the two engines share; the few places where
// they differ (points in time, index lifecycle) ask Engine.
//
// The engine is FLOWLINE_SEARCH_ENGINE, or else detected on the first
// request (see detectEngine) and kept. Safe for concurrent use.
type Client struct {
	cfg    config.Search
	rt     http.RoundTripper
	tracer trace.TracerProvider // nil: requests are not traced

	conn atomic.Pointer[connection] // nil until the engine is known

	mu        sync.Mutex    // guards detecting and detectErr
	detecting chan struct{} // closed when the detection under way ends; nil when none runs
	detectErr error         // why the last detection failed
}

// connection is the engine's client, once the engine is known.
type connection struct {
	engine config.Engine
	es     *elasticsearch.Client // Elasticsearch
	os     *opensearch.Client    // OpenSearch
}

// detectTimeout bounds one detection of the engine (one GET / per URL).
const detectTimeout = 10 * time.Second

// ErrUnknownEngine means the cluster could not be recognised as
// Elasticsearch or OpenSearch; FLOWLINE_SEARCH_ENGINE says which it is.
var ErrUnknownEngine = errors.New("search engine not recognised")

// ClientOption is an option of NewClient.
type ClientOption func(*clientOptions)

type clientOptions struct {
	refusals *Refusals
	tracer   trace.TracerProvider
}

// TraceWith makes every request (Do) a client span of tp, named by the
// engine, method and path ("elasticsearch POST /_bulk", "elasticsearch
// POST /{index}/_search"), with what it does (db.operation), the
// method, path and answer's status; bodies are not recorded. (The
// clients' own instrumentation covers their typed API calls only, which
// Flowline does not use, and OpenSearch's client has none.)
func TraceWith(tp trace.TracerProvider) ClientOption {
	return func(o *clientOptions) { o.tracer = tp }
}

// NewClient builds a client from cfg: basic auth (FLOWLINE_ES_USERNAME and
// _PASSWORD) or an API key (FLOWLINE_ES_API_KEY, the base64 "id:key" form;
// Elasticsearch only), and for https URLs the server is verified against
// FLOWLINE_ES_CA_CERT (a PEM file; only its certificates are trusted) or else
// the system roots. The client does not retry by itself: callers decide (see
// BulkExecutor and the writer). It logs nothing, so credentials never reach
// a log; errors name URLs without their passwords. With ReportTo it reports
// refused credentials to a Refusals, which says so. It connects to nothing
// until the first request.
func NewClient(cfg config.Search, opts ...ClientOption) (*Client, error) {
	var o clientOptions
	for _, opt := range opts {
		opt(&o)
	}
	tr, err := newTransport(cfg.ES.CACert)
	if err != nil {
		return nil, err
	}
	var rt http.RoundTripper = tr
	if o.refusals != nil {
		rt = &reportingTransport{next: tr, refusals: o.refusals}
	}
	c := &Client{cfg: cfg, rt: rt, tracer: o.tracer}
	if cfg.Engine != "" {
		if err := c.connect(cfg.Engine); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// connect builds the engine's client and publishes it.
func (c *Client) connect(engine config.Engine) error {
	cn := &connection{engine: engine}
	switch engine {
	case config.EngineElasticsearch:
		ec := elasticsearch.Config{
			Addresses:           splitList(c.cfg.ES.URL),
			Username:            c.cfg.ES.Username,
			Password:            c.cfg.ES.Password,
			APIKey:              c.cfg.ES.APIKey,
			DisableRetry:        true,
			Transport:           c.rt,
			CompressRequestBody: false,
		}
		es, err := elasticsearch.NewClient(ec)
		if err != nil {
			return fmt.Errorf("search: client: %w", err)
		}
		cn.es = es
	case config.EngineOpenSearch:
		if c.cfg.ES.APIKey != "" {
			return fmt.Errorf("search: %w: FLOWLINE_ES_API_KEY is for Elasticsearch, and %s is OpenSearch, which takes FLOWLINE_ES_USERNAME and _PASSWORD", config.ErrInvalid, config.Redact(c.cfg.ES.URL))
		}
		off := false
		oc := opensearch.Config{
			Addresses:             splitList(c.cfg.ES.URL),
			Username:              c.cfg.ES.Username,
			Password:              c.cfg.ES.Password,
			DisableRetry:          true,
			DiscoverNodesOnStart:  &off, // also keeps OPENSEARCH_GO_ROUTER from turning it on
			HealthCheckMaxRetries: -1,
			MaxRetryClusterHealth: -1,
			Transport:             c.rt,
		}
		os, err := opensearch.NewClient(oc)
		if err != nil {
			return fmt.Errorf("search: client: %w", err)
		}
		cn.os = os
	default:
		return fmt.Errorf("search: %w: unknown engine %q", config.ErrInvalid, engine)
	}
	c.conn.Store(cn)
	return nil
}

// Engine returns the cluster's engine, detecting it first if need be: one
// detection at a time (bounded by detectTimeout), which concurrent callers
// wait for as long as their own ctx lets them; a failed detection's error
// goes to the callers that waited for it, and the next call tries again.
// An unreachable cluster is ErrUnavailable; a cluster that is neither
// engine ErrUnknownEngine; an API key for an OpenSearch cluster
// config.ErrInvalid.
func (c *Client) Engine(ctx context.Context) (config.Engine, error) {
	for {
		if cn := c.conn.Load(); cn != nil {
			return cn.engine, nil
		}
		c.mu.Lock()
		if c.conn.Load() != nil {
			c.mu.Unlock()
			continue
		}
		if wait := c.detecting; wait != nil {
			c.mu.Unlock()
			select {
			case <-wait:
			case <-ctx.Done():
				return "", fmt.Errorf("%w: waiting for the search engine to be detected: %w", ErrUnavailable, ctx.Err())
			}
			if c.conn.Load() != nil {
				continue
			}
			c.mu.Lock()
			err := c.detectErr
			c.mu.Unlock()
			return "", err
		}
		done := make(chan struct{})
		c.detecting = done
		c.mu.Unlock()

		dctx, cancel := context.WithTimeout(ctx, detectTimeout)
		engine, err := detectEngine(dctx, c.rt, c.cfg.ES)
		cancel()
		if err == nil {
			err = c.connect(engine)
		}
		c.mu.Lock()
		c.detecting, c.detectErr = nil, err
		close(done)
		c.mu.Unlock()
		if err != nil {
			return "", err
		}
	}
}

// detectEngine asks each URL of cfg for GET / until one answers:
// Elasticsearch says so in its X-Elastic-Product header (on every answer,
// also on errors and where GET / itself is missing), OpenSearch in
// version.distribution. An answer that is neither is ErrUnknownEngine; a
// 401 without the header is ErrAuth (the engine cannot be told before the
// credentials are accepted).
func detectEngine(ctx context.Context, rt http.RoundTripper, cfg config.Elasticsearch) (config.Engine, error) {
	var errs []error
	for _, u := range splitList(cfg.URL) {
		engine, err := askEngine(ctx, rt, u, cfg)
		if err == nil {
			return engine, nil
		}
		errs = append(errs, err)
	}
	err := errors.Join(errs...)
	if errors.Is(err, ErrRejected) {
		// e.g. a user without the privilege to read GET /
		return "", fmt.Errorf("%w (set FLOWLINE_SEARCH_ENGINE to elasticsearch or opensearch to skip detecting it)", err)
	}
	return "", err
}

func askEngine(ctx context.Context, rt http.RoundTripper, base string, cfg config.Elasticsearch) (config.Engine, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("search: %w: FLOWLINE_ES_URL: %v", config.ErrInvalid, err)
	}
	what := "GET / of " + config.Redact(base) + " (which engine)"
	user, password := cfg.Username, cfg.Password
	if u.User != nil {
		user = u.User.Username()
		password, _ = u.User.Password()
		u.User = nil
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("search: %s: %w", what, err)
	}
	switch {
	case cfg.APIKey != "":
		req.Header.Set("Authorization", "ApiKey "+cfg.APIKey)
	case user != "":
		req.SetBasicAuth(user, password)
	}
	res, err := rt.RoundTrip(req)
	b, err := readHTTP(what, res, err)
	if res != nil && res.Header.Get("X-Elastic-Product") == "Elasticsearch" {
		return config.EngineElasticsearch, nil
	}
	if err != nil {
		return "", err
	}
	var info struct {
		Version struct {
			Distribution string `json:"distribution"`
		} `json:"version"`
	}
	if json.Unmarshal(b, &info) == nil && info.Version.Distribution == "opensearch" {
		return config.EngineOpenSearch, nil
	}
	return "", fmt.Errorf("%w at %s (neither an X-Elastic-Product header nor version.distribution \"opensearch\"): set FLOWLINE_SEARCH_ENGINE to elasticsearch or opensearch", ErrUnknownEngine, config.Redact(base))
}

// Request is one REST call of Do.
type Request struct {
	Method string
	// Path is the endpoint, e.g. "/flowline-variable/_search"; index names
	// in it are the caller's to escape.
	Path  string
	Query url.Values
	// Body is sent as JSON, or as NDJSON when NDJSON is set.
	Body   []byte
	NDJSON bool
	// What names the call in errors ("bulk", "create index x").
	What string
}

// Do sends r to the cluster and returns the answer's body. Transport
// failures and error statuses are errors classified as ErrUnavailable or
// ErrRejected (StatusError, which also carries the body), naming r.What.
func (c *Client) Do(ctx context.Context, r Request) (_ []byte, err error) {
	if _, err := c.Engine(ctx); err != nil {
		return nil, detectionFailed(r.What, err)
	}
	cn := c.conn.Load()
	target := r.Path
	if len(r.Query) > 0 {
		target += "?" + r.Query.Encode()
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, target, body)
	if err != nil {
		return nil, fmt.Errorf("search: %s: %w", r.What, err)
	}
	if r.Body != nil {
		ct := "application/json"
		if r.NDJSON {
			ct = "application/x-ndjson"
		}
		req.Header.Set("Content-Type", ct)
	}
	if c.tracer != nil {
		var span trace.Span
		ctx, span = c.tracer.Tracer("flowline/search").Start(ctx, string(cn.engine)+" "+r.Method+" "+pathTemplate(r.Path), trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("db.system", string(cn.engine)), attribute.String("db.operation", r.What),
				attribute.String("http.request.method", r.Method), attribute.String("url.path", r.Path)))
		defer span.End()
		req = req.WithContext(ctx)
		defer func() {
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, err.Error())
			}
		}()
	}
	var res *http.Response
	if cn.os != nil {
		res, err = cn.os.Stream(req)
	} else {
		res, err = cn.es.Perform(req)
	}
	if res != nil && c.tracer != nil {
		trace.SpanFromContext(ctx).SetAttributes(attribute.Int("http.response.status_code", res.StatusCode))
	}
	b, err := readHTTP(r.What, res, err)
	return b, err
}

// detectionFailed is the error of a request that was not sent because the
// engine could not be detected. It keeps what the detection's error says
// about the cluster: unavailable, refused credentials (ErrAuth, with its
// 401 or 403), a cluster that is neither engine or a configuration that
// does not fit it (which retrying does not fix). Any other refusal of GET /
// says nothing about the request, so it becomes ErrUnavailable without its
// StatusError: a 400 to GET / must not make a bulk request look malformed.
func detectionFailed(what string, err error) error {
	switch {
	case errors.Is(err, ErrUnknownEngine), errors.Is(err, config.ErrInvalid), errors.Is(err, ErrAuth),
		errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrRejected):
		return fmt.Errorf("%s: %w", what, err)
	default:
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, what, err)
	}
}

// Close releases the client's idle connections and background work.
func (c *Client) Close() {
	if cn := c.conn.Load(); cn != nil && cn.os != nil {
		_ = cn.os.Close()
	}
	if t, ok := c.rt.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}

// newTransport is the client's HTTP transport: proxies from the
// environment, bounded dial and TLS handshake times, enough idle
// connections per node for several bulk requests in flight (so TLS
// handshakes are not repeated), and with caFile the CA pool to verify the
// server with. The CA is set here rather than through the go-elasticsearch
// config, which would replace this transport with a clone of
// http.DefaultTransport (two idle connections per host).
func newTransport(caFile string) (*http.Transport, error) {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
	if caFile == "" {
		return tr, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("search: read FLOWLINE_ES_CA_CERT: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("search: FLOWLINE_ES_CA_CERT %s holds no PEM certificate", caFile)
	}
	tr.TLSClientConfig.RootCAs = pool
	return tr, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Ping checks that the cluster answers its health API (GET / may be absent on
// minimal distributions).
func Ping(ctx context.Context, c *Client) error {
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/_cluster/health", What: "cluster health"})
	return err
}

// readHTTP reads and closes a response (res and err as the transport
// returned them), and turns transport failures and error statuses into
// errors classified as ErrUnavailable or ErrRejected (StatusError), naming
// what was attempted. With an error status it returns the body too.
func readHTTP(what string, res *http.Response, err error) ([]byte, error) {
	if err != nil {
		if res != nil && res.Body != nil {
			res.Body.Close()
		}
		return nil, fmt.Errorf("%w: %s: %v%s", ErrUnavailable, what, err, tlsHint(err))
	}
	defer res.Body.Close()
	b, rerr := io.ReadAll(res.Body)
	if rerr != nil {
		return nil, fmt.Errorf("%w: %s: reading response: %v", ErrUnavailable, what, rerr)
	}
	if res.StatusCode > 299 {
		return b, statusError(res.StatusCode, b, what)
	}
	return b, nil
}

// tlsHint explains a server certificate that could not be verified, which
// retrying does not fix (the error stays ErrUnavailable so that nothing is
// dead-lettered while the configuration is wrong).
func tlsHint(err error) string {
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unknownCA):
		return " (the server certificate is not signed by a trusted CA: set FLOWLINE_ES_CA_CERT to the PEM file of the CA that signed it)"
	case errors.As(err, &hostname):
		return " (the server certificate is not valid for this host name: check FLOWLINE_ES_URL)"
	case errors.As(err, &invalid), errors.As(err, &verify):
		return " (the server certificate could not be verified)"
	}
	return ""
}

// statusError classifies an error status.
func statusError(status int, body []byte, what string) error {
	kind := ErrRejected
	if status == http.StatusTooManyRequests || status >= 500 {
		kind = ErrUnavailable
	}
	if len(body) > 2048 {
		body = body[:2048]
	}
	return &StatusError{Status: status, Body: strings.TrimSpace(string(body)), what: what, kind: kind}
}

// summary is the gist of an Elasticsearch error body: "type: reason" of its
// root cause when it is the usual {"error":{...}} object, else the body cut
// to 300 bytes, so that log lines and dead-letter reasons stay readable.
func summary(body string) string {
	var e struct {
		Error struct {
			Type      string `json:"type"`
			Reason    string `json:"reason"`
			Extra     string `json:"additional_unsuccessful_credentials"` // 401: which credentials failed, and why
			RootCause []struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"root_cause"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(body), &e) == nil && e.Error.Type != "" {
		t, r := e.Error.Type, e.Error.Reason
		if len(e.Error.RootCause) > 0 && e.Error.RootCause[0].Type != "" && e.Error.RootCause[0].Type != t {
			r += " (caused by " + e.Error.RootCause[0].Type + ": " + e.Error.RootCause[0].Reason + ")"
		}
		if e.Error.Extra != "" {
			r += " (" + e.Error.Extra + ")"
		}
		return t + ": " + r
	}
	if len(body) > 300 {
		return body[:300] + "..."
	}
	return body
}

// StatusError is an error response from Elasticsearch. It matches
// ErrUnavailable (429, 5xx) or ErrRejected, and 401 and 403 also ErrAuth.
type StatusError struct {
	Status int
	Body   string
	what   string
	kind   error
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%v: %s: HTTP %d: %s", e.kind, e.what, e.Status, summary(e.Body))
}

// Unwrap makes errors.Is(err, ErrUnavailable / ErrRejected / ErrAuth) work.
func (e *StatusError) Unwrap() []error {
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		return []error{e.kind, ErrAuth}
	}
	return []error{e.kind}
}

// pathTemplate is path with its index and id segments (those not starting
// with "_") written {index}: a span name of few distinct values.
func pathTemplate(path string) string {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, p := range parts {
		if p != "" && !strings.HasPrefix(p, "_") {
			parts[i] = "{index}"
		}
	}
	return "/" + strings.Join(parts, "/")
}
