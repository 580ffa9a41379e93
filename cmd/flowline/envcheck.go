package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"

	"github.com/flowline/flowline/pkg/config"
	"github.com/flowline/flowline/pkg/telemetry"
)

// knownVariables is every variable some command reads.
func knownVariables(cmds map[string]command) []string {
	var known []string
	for _, c := range cmds {
		keys, err := config.Keys(c.spec()...)
		if err != nil {
			continue // a spec envconfig cannot read fails the command's own load
		}
		for _, k := range keys {
			if !slices.Contains(known, k) {
				known = append(known, k)
			}
		}
	}
	return known
}

// checkEnv compares the FLOWLINE_ variables set with what command name
// reads and what any command reads.
func checkEnv(name string, cmd command, cmds map[string]command) config.EnvReport {
	read, _ := config.Keys(cmd.spec()...)
	return config.CheckEnvironment(read, knownVariables(cmds))
}

// reportEnv logs, as the command starts, the FLOWLINE_ variables it will
// not read: WARN for a name no command reads (with the closest known
// name: most likely a typo) and for an old name (with the new one), INFO
// for names other commands read.
func reportEnv(log *slog.Logger, name string, r config.EnvReport) {
	for _, u := range r.Unknown {
		if u.Known != "" {
			log.Warn("unknown variable, ignored: did you mean "+u.Known+"?", "command", name, "variable", u.Name, "did_you_mean", u.Known)
		} else {
			log.Warn("unknown variable, ignored", "command", name, "variable", u.Name)
		}
	}
	for _, d := range r.Deprecated {
		log.Warn("deprecated variable: it is still read, but rename it to "+d.Known, "command", name, "variable", d.Name, "new_name", d.Known)
	}
	if len(r.Elsewhere) > 0 {
		log.Info("variables other commands read, not this one", "command", name, "variables", r.Elsewhere)
	}
}

// envLogger is the logger of reportEnv: JSON on stderr, like the
// services' logs.
func envLogger(w io.Writer) *slog.Logger { return telemetry.NewLogger(w, slog.LevelInfo) }

const configSummary = "check the environment for commands without running them: flowline config check [COMMAND...] (default: every service command, the imports when their URL is set); exit 1 when a value is invalid or a variable unknown"

// optional is a config section a command runs only when it is set up: the
// imports a service process runs beside itself (ingest's Zeebe import,
// dev's imports) when their URL is set.
type optional interface{ Enabled() bool }

// importCommands are the commands whose whole job is an import: their
// section is required there.
var importCommands = []string{"zeebe-import", "c7-import"}

// runConfig is `flowline config check [COMMAND...]`: it loads and
// validates each command's configuration from the environment, reports
// variables no command reads, and exits non-zero on any problem.
func runConfig(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		return usageError{errors.New("want: flowline config check [COMMAND...]")}
	}
	cmds := commands()
	names := args[1:]
	if len(names) == 0 { // the service commands that would run
		for n, c := range cmds {
			if !runsServices(c.spec()) || n == "dev" {
				continue
			}
			if slices.Contains(importCommands, n) && !enabledImport(c.spec()) {
				continue
			}
			names = append(names, n)
		}
		sort.Strings(names)
	}
	problems := 0
	var read []string
	for _, n := range names {
		c, ok := cmds[n]
		if !ok {
			return usageError{fmt.Errorf("unknown command %q", n)}
		}
		specs := c.spec()
		keys, _ := config.Keys(specs...)
		read = append(read, keys...)
		var errs []error
		for _, spec := range specs {
			if err := config.Process(spec); err != nil {
				errs = append(errs, err)
				continue
			}
			if o, ok := spec.(optional); ok && !o.Enabled() && !slices.Contains(importCommands, n) {
				continue // not run by this command unless set up
			}
			if v, ok := spec.(config.Validator); ok {
				if err := v.Validate(); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if len(errs) == 0 {
			fmt.Fprintf(stdout, "%-14s ok\n", n)
			continue
		}
		problems += len(errs)
		for _, err := range errs {
			fmt.Fprintf(stdout, "%-14s %v\n", n, err)
		}
	}
	if _, err := config.LoadTelemetry(); err != nil {
		problems++
		fmt.Fprintf(stdout, "%-14s %v\n", "traces", err)
	}
	r := config.CheckEnvironment(read, knownVariables(cmds))
	for _, u := range r.Unknown {
		problems++
		if u.Known != "" {
			fmt.Fprintf(stdout, "unknown variable %s: did you mean %s?\n", u.Name, u.Known)
		} else {
			fmt.Fprintf(stdout, "unknown variable %s\n", u.Name)
		}
	}
	for _, d := range r.Deprecated {
		fmt.Fprintf(stdout, "deprecated variable %s: rename it to %s\n", d.Name, d.Known)
	}
	if problems > 0 {
		return fmt.Errorf("%d problem(s) in the environment", problems)
	}
	return nil
}

// enabledImport says whether an import command's section is set up.
func enabledImport(specs []any) bool {
	for _, s := range specs {
		if err := config.Process(s); err != nil {
			return true // a broken value is worth reporting
		}
		if o, ok := s.(optional); ok {
			return o.Enabled()
		}
	}
	return false
}
