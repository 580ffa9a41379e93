package stream

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/config"
)

// Conn is a NATS connection with its JetStream context. The caller owns it
// and closes it with Close (which drains).
type Conn struct {
	NC *nats.Conn
	JS jetstream.JetStream
}

// Connect connects to NATS as client name with cfg's auth and TLS. It keeps
// reconnecting forever once connected; the first connection is retried until
// ctx is done, logging at WARN.
func Connect(ctx context.Context, cfg config.NATS, name string, log *slog.Logger) (*Conn, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.Timeout(cfg.ConnectTimeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
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

	var nc *nats.Conn
	var err error
	for wait := 500 * time.Millisecond; ; wait = min(wait*2, 10*time.Second) {
		nc, err = nats.Connect(cfg.URL, opts...)
		if err == nil {
			break
		}
		log.Warn("nats not reachable yet, retrying", "url", cfg.URL, "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stream: connect to %s: %w (last error: %v)", cfg.URL, ctx.Err(), err)
		case <-time.After(wait):
		}
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
