package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/flowline/flowline/internal/dev/natsserver"
)

// natsOptions are `flowline nats`'s flags.
type natsOptions struct {
	store, urlFile            string
	port                      int
	name, clusterName, routes string
	clusterPort               int
}

// natsFlags are `flowline nats`'s flags.
func natsFlags() (*flag.FlagSet, *natsOptions) {
	o := &natsOptions{}
	fs := flag.NewFlagSet("nats", flag.ContinueOnError)
	fs.StringVar(&o.store, "store", filepath.Join(os.TempDir(), "flowline-nats"), "JetStream storage directory (each cluster node its own)")
	fs.IntVar(&o.port, "port", 4222, "client port on 127.0.0.1 (0: a free one)")
	fs.StringVar(&o.urlFile, "url-file", "", "write the server's client URL to this file once it accepts connections")
	fs.StringVar(&o.name, "name", "", "server name, unique in the cluster (with --cluster-name)")
	fs.StringVar(&o.clusterName, "cluster-name", "", "run as a node of this JetStream cluster (with --name, --cluster-port and --routes)")
	fs.IntVar(&o.clusterPort, "cluster-port", 0, "route port on 127.0.0.1 the other nodes connect to")
	fs.StringVar(&o.routes, "routes", "", "the cluster's route URLs, comma-separated (nats-route://127.0.0.1:PORT, this node's own included or not)")
	return fs, o
}

// runNATS runs `flowline nats`: the embedded nats-server with JetStream,
// as `flowline dev` runs it, until interrupted; with --cluster-name, one
// node of a JetStream cluster (replicated streams need three). The
// benchmark and fault harnesses run it as processes of their own.
func runNATS(ctx context.Context, args []string, stdout io.Writer) error {
	fs, o := natsFlags()
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var opts []natsserver.Option
	if o.clusterName != "" {
		if o.name == "" || o.clusterPort <= 0 || o.routes == "" {
			return usageError{fmt.Errorf("--cluster-name needs --name, --cluster-port and --routes")}
		}
		var routes []string
		for _, r := range strings.Split(o.routes, ",") {
			if r = strings.TrimSpace(r); r != "" {
				routes = append(routes, r)
			}
		}
		opts = append(opts, natsserver.WithCluster(o.name, o.clusterName, o.clusterPort, routes))
	}
	ns, err := natsserver.Start(o.store, "127.0.0.1", o.port, opts...)
	if err != nil {
		return err
	}
	defer ns.Shutdown()
	if o.clusterName != "" {
		// Ready once JetStream has formed the cluster with its peers.
		for {
			if err := ns.WaitReady(time.Second); err == nil {
				break
			}
			if ctx.Err() != nil {
				return nil
			}
		}
	}
	fmt.Fprintf(stdout, "NATS JetStream ready at %s (store %s)\n", ns.URL(), o.store)
	if o.urlFile != "" {
		if err := os.WriteFile(o.urlFile, []byte(ns.URL()+"\n"), 0o644); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}
