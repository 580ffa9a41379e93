package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/flowline/flowline/internal/dev/natsserver"
)

// natsFlags are `flowline nats`'s flags.
func natsFlags() (*flag.FlagSet, *string, *int, *string) {
	fs := flag.NewFlagSet("nats", flag.ContinueOnError)
	store := fs.String("store", filepath.Join(os.TempDir(), "flowline-nats"), "JetStream storage directory")
	port := fs.Int("port", 4222, "client port on 127.0.0.1 (0: a free one)")
	urlFile := fs.String("url-file", "", "write the server's client URL to this file once it accepts connections")
	return fs, store, port, urlFile
}

// runNATS runs `flowline nats`: the embedded nats-server with JetStream,
// as `flowline dev` runs it, until interrupted. The benchmark harness runs
// it as a process of its own to measure it apart.
func runNATS(ctx context.Context, args []string, stdout io.Writer) error {
	fs, store, port, urlFile := natsFlags()
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ns, err := natsserver.Start(*store, "127.0.0.1", *port)
	if err != nil {
		return err
	}
	defer ns.Shutdown()
	fmt.Fprintf(stdout, "NATS JetStream ready at %s (store %s)\n", ns.URL(), *store)
	if *urlFile != "" {
		if err := os.WriteFile(*urlFile, []byte(ns.URL()+"\n"), 0o644); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}
