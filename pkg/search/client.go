// Package search is Flowline's Elasticsearch layer: the client built from
// config, index templates and runtime indices, and bulk indexing with every
// item classified.
package search

import (
	"context"
	"errors"
	"fmt"
	"io"
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

// NewClient builds a client from cfg. The client does not retry by itself:
// callers decide (see Bulk and the writer). Safe for concurrent use.
func NewClient(cfg config.Elasticsearch) (*elasticsearch.Client, error) {
	ec := elasticsearch.Config{
		Addresses:    splitList(cfg.URL),
		Username:     cfg.Username,
		Password:     cfg.Password,
		APIKey:       cfg.APIKey,
		DisableRetry: true,
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConnsPerHost: 32,
			IdleConnTimeout:     90 * time.Second,
		},
		CompressRequestBody: false,
	}
	if cfg.CACert != "" {
		ca, err := os.ReadFile(cfg.CACert)
		if err != nil {
			return nil, fmt.Errorf("search: read FLOWLINE_ES_CA_CERT: %w", err)
		}
		ec.CACert = ca
		ec.Transport = nil // the client builds a TLS transport with the CA
	}
	c, err := elasticsearch.NewClient(ec)
	if err != nil {
		return nil, fmt.Errorf("search: client: %w", err)
	}
	return c, nil
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
	_, err := read(c.Cluster.Health(c.Cluster.Health.WithContext(ctx)))("cluster health")
	return err
}

// read returns a function that reads a response's body, closes it, and turns
// transport failures and error statuses into errors classified as
// ErrUnavailable or ErrRejected, naming what was attempted.
func read(res *esapi.Response, err error) func(what string) ([]byte, error) {
	return func(what string) ([]byte, error) {
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, what, err)
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

// StatusError is an error response from Elasticsearch.
type StatusError struct {
	Status int
	Body   string
	what   string
	kind   error
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%v: %s: HTTP %d: %s", e.kind, e.what, e.Status, e.Body)
}

// Unwrap makes errors.Is(err, ErrUnavailable / ErrRejected) work.
func (e *StatusError) Unwrap() error { return e.kind }
