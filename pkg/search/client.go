// Package search is Flowline's Elasticsearch layer: the client built from
// config, index templates and runtime indices, and bulk indexing with every
// item classified.
package search

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/flowline/flowline/pkg/config"
)

// ErrUnavailable wraps failures that are worth retrying: the cluster is
// unreachable, overloaded (429) or failing (5xx).
var ErrUnavailable = errors.New("elasticsearch unavailable")

// ErrRejected wraps failures that retrying will not fix (4xx other than 429).
var ErrRejected = errors.New("elasticsearch rejected the request")

// ErrAuth additionally marks rejections of the credentials rather than of
// the request: 401 (authentication failed) and 403 (not permitted). Such an
// error is also ErrRejected; it says nothing about the documents sent, so a
// caller should not dead-letter them because of it.
var ErrAuth = errors.New("elasticsearch refused the credentials")

// NewClient builds a client from cfg: basic auth (FLOWLINE_ES_USERNAME and
// _PASSWORD) or an API key (FLOWLINE_ES_API_KEY, the base64 "id:key" form),
// and for https URLs the server is verified against FLOWLINE_ES_CA_CERT (a
// PEM file; only its certificates are trusted) or else the system roots.
// The client does not retry by itself: callers decide (see BulkExecutor and the
// writer). It logs nothing, so credentials never reach a log; errors name
// URLs without their passwords. With ReportTo it reports refused
// credentials to a Refusals, which says so. Safe for concurrent use.
func NewClient(cfg config.Elasticsearch, opts ...ClientOption) (*elasticsearch.Client, error) {
	var o clientOptions
	for _, opt := range opts {
		opt(&o)
	}
	tr, err := newTransport(cfg.CACert)
	if err != nil {
		return nil, err
	}
	var rt http.RoundTripper = tr
	if o.refusals != nil {
		rt = &reportingTransport{next: tr, refusals: o.refusals}
	}
	ec := elasticsearch.Config{
		Addresses:           splitList(cfg.URL),
		Username:            cfg.Username,
		Password:            cfg.Password,
		APIKey:              cfg.APIKey,
		DisableRetry:        true,
		Transport:           rt,
		CompressRequestBody: false,
	}
	c, err := elasticsearch.NewClient(ec)
	if err != nil {
		return nil, fmt.Errorf("search: client: %w", err)
	}
	return c, nil
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
func Ping(ctx context.Context, c *elasticsearch.Client) error {
	res, err := c.Cluster.Health(c.Cluster.Health.WithContext(ctx))
	_, err = ReadResponse("cluster health", res, err)
	return err
}

// ReadResponse reads and closes the response of any esapi call (res and
// err as the call returned them), and turns transport failures and error
// statuses into errors classified as ErrUnavailable or ErrRejected
// (StatusError), naming what was attempted. With an error status it
// returns the body too.
func ReadResponse(what string, res *esapi.Response, err error) ([]byte, error) {
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v%s", ErrUnavailable, what, err, tlsHint(err))
	}
	defer res.Body.Close()
	b, rerr := io.ReadAll(res.Body)
	if rerr != nil {
		return nil, fmt.Errorf("%w: %s: reading response: %v", ErrUnavailable, what, rerr)
	}
	if res.IsError() {
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
