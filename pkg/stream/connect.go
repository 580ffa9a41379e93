package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/backoff"
	"github.com/flowline/flowline/pkg/config"
)

// Conn is a NATS connection with its JetStream context. The caller owns it
// and closes it with Close (which drains).
type Conn struct {
	NC *nats.Conn
	JS jetstream.JetStream
	// Payloads holds message bodies too large to travel inline; set by
	// Open (nil after Connect, which touches no stream or bucket).
	Payloads *Payloads
}

// ErrCredentialsRejected marks a NATS server's refusal of the configured
// credentials (authorization violation, expired or revoked). Connect and
// Open keep retrying it (credentials may be fixed on the server while the
// service waits), logging at ERROR instead of WARN.
var ErrCredentialsRejected = errors.New("NATS rejected the credentials")

// The first attempts are retried from retryMin, doubling up to retryMax.
const (
	retryMin = 500 * time.Millisecond
	retryMax = 10 * time.Second
)

// Open is how a service starts on JetStream: it connects to NATS as client
// name, makes sure Flowline's streams exist (EnsureStreams) and opens the
// payload bucket (OpenPayloads, into Conn.Payloads), retrying
// either with backoff until it succeeds or ctx is done, so a service
// started before its broker (a NATS node restarting, a cluster electing its
// leaders, JetStream not yet enabled) becomes ready once JetStream answers.
// Each failed attempt is logged at WARN, or at ERROR when the server
// rejected the credentials (ErrCredentialsRejected, naming the setting),
// and passed to waiting (nil: not reported), e.g. to make readiness say
// why. Settings of existing streams that differ from streams and that this
// service does not manage are logged at ERROR, one line per setting, and
// left alone. The caller owns the returned connection. Open returns an
// error only when ctx is done.
func Open(ctx context.Context, cfg config.NATS, streams config.Streams, name string, log *slog.Logger, waiting func(reason error)) (*Conn, error) {
	var conn *Conn
	err := retry(ctx, cfg, log, waiting, func(ctx context.Context) error {
		if conn == nil {
			c, err := dial(cfg, name, log)
			if err != nil {
				return err
			}
			conn = c
		}
		err := EnsureStreams(ctx, conn.JS, streams)
		var diff *DiffError
		if errors.As(err, &diff) {
			for _, d := range diff.Diffs {
				log.Error("stream setting differs from this service's configuration; left as it is because this service does not manage stream settings (FLOWLINE_STREAM_MANAGE is false; the service that has it true applies them)",
					"stream", d.Stream, "setting", d.Setting, "stream_value", d.Have, "config_value", d.Want, "variable", d.Variable)
			}
			err = nil
		}
		if err == nil && conn.Payloads == nil {
			conn.Payloads, err = OpenPayloads(ctx, conn.JS, streams)
		}
		if err != nil {
			return fmt.Errorf("JetStream is not ready: %w", err)
		}
		return nil
	})
	if err != nil {
		if conn != nil {
			conn.NC.Close()
		}
		return nil, err
	}
	return conn, nil
}

// Connect connects to NATS as client name with cfg's auth and TLS, without
// touching any stream (Open also ensures them). It keeps reconnecting
// forever once connected; the first connection is retried until ctx is
// done, logging at WARN (ERROR when the credentials are rejected).
func Connect(ctx context.Context, cfg config.NATS, name string, log *slog.Logger) (*Conn, error) {
	var conn *Conn
	err := retry(ctx, cfg, log, nil, func(context.Context) error {
		c, err := dial(cfg, name, log)
		conn = c
		return err
	})
	return conn, err
}

// retry runs op until it succeeds or ctx is done, telling waiting and the
// log why each attempt failed.
func retry(ctx context.Context, cfg config.NATS, log *slog.Logger, waiting func(error), op func(context.Context) error) error {
	url := config.Redact(cfg.URL)
	b := backoff.New(retryMin, retryMax)
	for {
		err := op(ctx)
		if err == nil {
			return nil
		}
		err = classify(err, cfg)
		if ctx.Err() != nil {
			return fmt.Errorf("stream: connect to %s: %w (last error: %v)", url, ctx.Err(), err)
		}
		if waiting != nil {
			waiting(err)
		}
		d := b.Next()
		if errors.Is(err, ErrCredentialsRejected) {
			log.Error("NATS rejected the credentials, retrying", "url", url, "error", err, "retry_in", d)
		} else {
			log.Warn("NATS JetStream not ready yet, retrying", "url", url, "error", err, "retry_in", d)
		}
		if !backoff.Sleep(ctx, d) {
			return fmt.Errorf("stream: connect to %s: %w (last error: %v)", url, ctx.Err(), err)
		}
	}
}

// classify wraps an authentication failure in ErrCredentialsRejected,
// naming the settings that hold the credentials.
func classify(err error, cfg config.NATS) error {
	for _, auth := range []error{nats.ErrAuthorization, nats.ErrAuthExpired, nats.ErrAuthRevoked, nats.ErrAccountAuthExpired} {
		if errors.Is(err, auth) {
			return fmt.Errorf("%w (check %s): %v", ErrCredentialsRejected, credentialSettings(cfg), err)
		}
	}
	return err
}

// credentialSettings names the variables that hold the credentials cfg
// presents.
func credentialSettings(cfg config.NATS) string {
	switch {
	case cfg.User != "":
		return "FLOWLINE_NATS_USER and FLOWLINE_NATS_PASSWORD"
	case cfg.Token != "":
		return "FLOWLINE_NATS_TOKEN"
	case cfg.CredsFile != "":
		return "FLOWLINE_NATS_CREDS_FILE " + cfg.CredsFile
	}
	for _, raw := range strings.Split(cfg.URL, ",") {
		if u, err := url.Parse(strings.TrimSpace(raw)); err == nil && u.User != nil {
			return "the user or token in FLOWLINE_NATS_URL"
		}
	}
	return "none is set: the server wants FLOWLINE_NATS_USER and _PASSWORD, _TOKEN or _CREDS_FILE"
}

// dial makes one connection attempt.
func dial(cfg config.NATS, name string, log *slog.Logger) (*Conn, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.Timeout(cfg.ConnectTimeout.D()),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		// Credentials rotated on the server while connected: keep
		// reconnecting (and saying so at ERROR) instead of giving up after
		// the second refusal.
		nats.IgnoreAuthErrorAbort(),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if err = classify(err, cfg); errors.Is(err, ErrCredentialsRejected) {
				log.Error("nats error", "error", err)
				return
			}
			log.Warn("nats async error", "error", err)
		}),
	}
	switch {
	case cfg.User != "":
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	case cfg.Token != "":
		opts = append(opts, nats.Token(cfg.Token))
	case cfg.CredsFile != "":
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.TLSCA != "" {
		opts = append(opts, nats.RootCAs(cfg.TLSCA))
	}
	if cfg.TLSCert != "" {
		opts = append(opts, nats.ClientCert(cfg.TLSCert, cfg.TLSKey))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("stream: jetstream: %w", err)
	}
	return &Conn{NC: nc, JS: js}, nil
}

// Close drains the connection: pending publishes are flushed, subscriptions
// finish.
func (c *Conn) Close() {
	if err := c.NC.Drain(); err != nil {
		c.NC.Close()
	}
	for c.NC.IsDraining() {
		time.Sleep(10 * time.Millisecond)
	}
}
