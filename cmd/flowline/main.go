// Command flowline runs Flowline's services: one per subcommand (how compose
// and Kubernetes run them), or all of them in one process with `flowline dev`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"text/tabwriter"

	"github.com/flowline/flowline/pkg/buildinfo"
	"github.com/flowline/flowline/pkg/config"
)

// command is one subcommand: a one-line summary, the config it reads (for
// --help), and its entry point.
type command struct {
	summary string
	spec    func() []any // pointers to the command's config sections, for --help
	run     func(ctx context.Context, args []string, stdout io.Writer) error
	flags   func() *flag.FlagSet // the command's flags, for --help (nil: none listed)
}

func commands() map[string]command {
	return map[string]command{
		"ingest":        {"run the ingest service (push API -> JetStream)", specIngest, runIngest, nil},
		"aggregator":    {"run the aggregator service (records -> documents) and the Camunda 7 fold (pages -> documents)", specAggregator, runAggregator, nil},
		"writer":        {"run the writer service (documents -> Elasticsearch)", specWriter, runWriter, nil},
		"archiver":      {"run the archiver service", specArchiver, runArchiver, nil},
		"dev":           {"run everything locally: embedded NATS, local Elasticsearch, all services (the Camunda 7 import too when FLOWLINE_C7_URL is set), a demo workload", specDev, runDev, func() *flag.FlagSet { fs, _, _, _, _ := devFlags(); return fs }},
		"replay":        {"stream NDJSON files of Zeebe records (plain or gzip) to ingest: flowline replay --ingest URL [--token-file F] FILE...", specReplay, runReplay, func() *flag.FlagSet { fs, _, _ := replayFlags(); return fs }},
		"zeebe-import":  {"import the Zeebe Elasticsearch exporter's zeebe-record_* indices into JetStream, following new records", specZeebeImport, runZeebeImport, nil},
		"c7-import":     {"import a Camunda 7 engine's history (FLOWLINE_C7_URL) through its Optimize REST API into JetStream, following new data", specC7Import, runC7Import, nil},
		"generate":      {"simulate a Zeebe engine: flowline generate --workload typical|realistic --instances N --partitions P [--rate R] [--ingest URL | --out FILE]", specGenerate, runGenerate, func() *flag.FlagSet { fs, _ := generateFlags(); return fs }},
		"elasticsearch": {"provision and run a local single-node Elasticsearch until interrupted", specElasticsearch, runElasticsearch, func() *flag.FlagSet { fs, _, _ := searchNodeFlags("elasticsearch"); return fs }},
		"opensearch":    {"provision and run a local single-node OpenSearch (with painless, analysis-common, parent-join, mapper-extras) until interrupted", specElasticsearch, runOpenSearch, func() *flag.FlagSet { fs, _, _ := searchNodeFlags("opensearch"); return fs }},
		"c7-engine":     {"build and run a local Camunda 7 engine (REST API on 127.0.0.1) until interrupted: flowline c7-engine [--port N] [--data-dir D] [--url-file F]", specC7Engine, runC7Engine, func() *flag.FlagSet { fs, _ := c7EngineFlags(); return fs }},
		"bench":         {"measure Flowline end to end on this machine against the bulk-load ceiling and a peer (fresh Elasticsearch and JetStream)", specBench, runBench, func() *flag.FlagSet { fs, _ := benchFlags(); return fs }},
		"faults":        {"kill anywhere: a three-node NATS cluster, a fresh Elasticsearch and two replicas of each service as processes, one fault per round under load, then every document compared with a clean reference run", specFaults, runFaults, func() *flag.FlagSet { fs, _ := faultsFlags(); return fs }},
		"dlq":           {dlqSummary, specDLQ, runDLQ, func() *flag.FlagSet { fs, _ := dlqFlags(""); return fs }},
		"nats":          {"run a local NATS server with JetStream (embedded nats-server) until interrupted", specNone, runNATS, func() *flag.FlagSet { fs, _ := natsFlags(); return fs }},
		"config":        {configSummary, specNone, func(_ context.Context, args []string, stdout io.Writer) error { return runConfig(args, stdout) }, nil},
		"probe":         {probeSummary, specNone, runProbe, func() *flag.FlagSet { fs, _ := probeFlags(); return fs }},
		"version":       {"print the version, the source revision and the Go version of this binary (also --version)", specNone, runVersion, nil},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	switch {
	case len(args) == 0 || isHelp(args[0]) && len(args) == 1:
		usage(stdout, cmds)
		return 0
	case args[0] == "help" || isHelp(args[0]): // flowline help COMMAND, flowline --help COMMAND
		cmd, ok := cmds[args[1]]
		if !ok {
			fmt.Fprintf(stderr, "flowline help: unknown command %q\n\n", args[1])
			usage(stderr, cmds)
			return 2
		}
		commandUsage(stdout, args[1], cmd)
		return 0
	case args[0] == "--version" || args[0] == "-version":
		args = []string{"version"}
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "flowline: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	for _, a := range args[1:] {
		if isHelp(a) {
			commandUsage(stdout, args[0], cmd)
			return 0
		}
	}
	if len(cmd.spec()) > 0 {
		reportEnv(envLogger(stderr), args[0], checkEnv(args[0], cmd, cmds))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := cmd.run(ctx, args[1:], stdout); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "flowline %s: %v\n", args[0], err)
			return 2
		}
		fmt.Fprintf(stderr, "flowline %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// runVersion prints the binary's build information.
func runVersion(_ context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("unexpected arguments %v", args)}
	}
	_, err := fmt.Fprintln(stdout, buildinfo.Get())
	return err
}

// specNone is the config spec of a command configured by flags alone.
func specNone() []any { return nil }

// usageError is a bad flag or argument.
type usageError struct{ error }

func isHelp(a string) bool { return a == "-h" || a == "--help" || a == "help" || a == "-help" }

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: flowline <command> [flags]   (flowline help <command>, or flowline <command> --help, lists its flags and settings)")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, cmds[n].summary)
	}
}

func commandUsage(w io.Writer, name string, cmd command) {
	fmt.Fprintf(w, "usage: flowline %s\n\n%s\n", name, cmd.summary)
	if cmd.flags != nil {
		fmt.Fprintln(w, "\nflags:")
		fs := cmd.flags()
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	if len(cmd.spec()) == 0 {
		return
	}
	fmt.Fprint(w, "\nConfiguration comes from the environment:\n\n")
	if err := printConfigUsage(w, cmd.spec()); err != nil {
		fmt.Fprintf(w, "(cannot list settings: %v)\n", err)
	}
	if runsServices(cmd.spec()) {
		fmt.Fprint(w, "\nTraces, with OpenTelemetry's own variables (the exporter reads the other OTEL_EXPORTER_OTLP_* ones):\n\n")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, v := range config.TelemetryVariables {
			fmt.Fprintf(tw, "%s\t%s\n", v[0], v[1])
		}
		_ = tw.Flush()
	}
}

// runsServices says whether a command with these config sections runs
// services (it reads the runtime section), which export traces.
func runsServices(specs []any) bool {
	for _, s := range specs {
		if _, ok := s.(*config.Runtime); ok {
			return true
		}
	}
	return false
}

// parseFlags parses a command's flags, turning errors into usageError.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments %v", fs.Args())}
	}
	return nil
}
