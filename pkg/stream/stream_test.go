package stream

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flowline/flowline/pkg/config"
)

func TestSubjects(t *testing.T) {
	if RecordsSubject(7) != "flowline.records.7" || DocsSubject(7) != "flowline.docs.7" || DLQSubject("writer") != "flowline.dlq.writer" {
		t.Fatal("subject names changed")
	}
	if C7Subject("eu", "variable-update") != "flowline.c7.eu.variable-update" || C7DocsSubject("eu") != "flowline.docs.c7.eu" {
		t.Fatal("c7 subject names changed")
	}
	for subject, want := range map[string]string{"flowline.c7.eu.deployment": "eu", "flowline.c7.eu": "", "flowline.docs.1": "", "flowline.c7..x": ""} {
		if got, ok := C7SourceOf(subject); got != want && ok || (want != "") != ok {
			t.Errorf("C7SourceOf(%q) = %q, %v; want %q", subject, got, ok, want)
		}
	}
	for _, tt := range []struct {
		subject string
		want    int32
		ok      bool
	}{
		{"flowline.records.12", 12, true}, {"flowline.docs.0", 0, true}, {"flowline.records.x", 0, false}, {"flowline.records.-1", 0, false},
		// A Camunda 7 source named like a number is no partition.
		{C7DocsSubject("12"), 0, false},
	} {
		got, err := PartitionOf(tt.subject)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("PartitionOf(%q) = %d, %v", tt.subject, got, err)
		}
	}
}

// authServer runs a real nats-server requiring the given auth.
func authServer(t *testing.T, opts server.Options) string {
	t.Helper()
	opts.Host, opts.Port, opts.JetStream, opts.StoreDir, opts.NoSigs = "127.0.0.1", -1, true, t.TempDir(), true
	s, err := server.NewServer(&opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(s.Shutdown)
	return s.ClientURL()
}

func TestConnectAuthAndEnsureStreams(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	userURL := authServer(t, server.Options{Username: "flow", Password: "line"})
	tokenURL := authServer(t, server.Options{Authorization: "s3cret"})
	tests := []struct {
		name string
		cfg  config.NATS
		ok   bool
	}{
		{"user and password", config.NATS{URL: userURL, User: "flow", Password: "line"}, true},
		{"wrong password", config.NATS{URL: userURL, User: "flow", Password: "nope"}, false},
		{"token", config.NATS{URL: tokenURL, Token: "s3cret"}, true},
		{"no token", config.NATS{URL: tokenURL}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.ConnectTimeout = config.Duration(time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			c, err := Connect(ctx, tt.cfg, "test", log)
			if !tt.ok {
				if err == nil {
					c.Close()
					t.Fatal("connected without valid credentials")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			streams := config.Streams{Replicas: 1, RecordsMaxAge: config.Duration(time.Hour), DLQMaxAge: config.Duration(time.Hour)}
			for range 2 { // idempotent
				if err := EnsureStreams(ctx, c.JS, streams); err != nil {
					t.Fatal(err)
				}
			}
			st, err := c.JS.Stream(ctx, DocsStream)
			if err != nil {
				t.Fatal(err)
			}
			if st.CachedInfo().Config.Retention.String() != "WorkQueue" {
				t.Errorf("docs stream retention = %v", st.CachedInfo().Config.Retention)
			}
			// Unchanged settings are left alone; changed ones are applied
			// by the owner of the settings.
			before, _ := c.JS.Stream(ctx, RecordsStream)
			if !sameStreamConfig(before.CachedInfo().Config, StreamConfigs(streams)[0]) {
				t.Errorf("the records stream as created does not match its wanted config: %+v", before.CachedInfo().Config)
			}
			streams.RecordsMaxAge, streams.Manage = config.Duration(2*time.Hour), true
			if err := EnsureStreams(ctx, c.JS, streams); err != nil {
				t.Fatal(err)
			}
			after, err := c.JS.Stream(ctx, RecordsStream)
			if err != nil || after.CachedInfo().Config.MaxAge != 2*time.Hour {
				t.Errorf("records MaxAge after a change = %v, %v; want 2h", after.CachedInfo().Config.MaxAge, err)
			}
			// Compression, on an existing stream too.
			streams.Compression = "s2"
			if err := EnsureStreams(ctx, c.JS, streams); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{RecordsStream, DocsStream} {
				st, err := c.JS.Stream(ctx, name)
				if err != nil || st.CachedInfo().Config.Compression != jetstream.S2Compression {
					t.Errorf("%s compression after a change = %v, %v; want s2", name, st.CachedInfo().Config.Compression, err)
				}
			}
		})
	}
}

// TestCompressionTakenAndSpelledAsTheVariable: a server that stored
// another compression than asked (one before 2.10 ignores it) is a
// configuration error naming the variable; differences are reported in
// the variable's spelling.
func TestCompressionTakenAndSpelledAsTheVariable(t *testing.T) {
	want := jetstream.StreamConfig{Name: RecordsStream, Compression: jetstream.S2Compression}
	if err := compressionTaken(jetstream.StreamConfig{Name: RecordsStream}, want); !errors.Is(err, config.ErrInvalid) ||
		!strings.Contains(err.Error(), "FLOWLINE_STREAM_COMPRESSION=s2 needs nats-server 2.10") {
		t.Errorf("ignored compression: %v", err)
	}
	if err := compressionTaken(want, want); err != nil {
		t.Errorf("kept compression: %v", err)
	}
	d := diffStreamConfig(jetstream.StreamConfig{Name: RecordsStream}, want)
	if len(d) != 1 || d[0].Have != "none" || d[0].Want != "s2" || d[0].Variable != "FLOWLINE_STREAM_COMPRESSION" {
		t.Errorf("diff %+v, want compression none -> s2 (FLOWLINE_STREAM_COMPRESSION)", d)
	}
}
