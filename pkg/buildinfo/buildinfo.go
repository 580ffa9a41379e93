// Package buildinfo says which Flowline a binary is: its version and the
// source revision it was built from, for `flowline version`, the
// flowline_build_info metric and traces' service.version.
//
// A release build sets both with the linker
// (-ldflags "-X github.com/flowline/flowline/pkg/buildinfo.version=v1.2.0
// -X github.com/flowline/flowline/pkg/buildinfo.revision=<commit>", as the
// Dockerfile does from its VERSION and REVISION build arguments); a build
// in a git checkout reads the revision Go stamped into the binary.
package buildinfo

import (
	"runtime/debug"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Set by the linker; empty otherwise.
var version, revision string

// Info is a binary's version and revision.
type Info struct {
	Version  string // a release's version, the module's, or "devel"
	Revision string // a commit, "-dirty" appended for uncommitted changes; "unknown" when not stamped
	Go       string // the Go version it was built with
}

var read = sync.OnceValue(func() Info {
	i := Info{Version: version, Revision: revision}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		i.Go = bi.GoVersion
		if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			i.Version = bi.Main.Version
		}
		if i.Revision == "" {
			var modified bool
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					i.Revision = s.Value
				case "vcs.modified":
					modified = s.Value == "true"
				}
			}
			if i.Revision != "" && modified {
				i.Revision += "-dirty"
			}
		}
	}
	if i.Version == "" {
		i.Version = "devel"
	}
	if i.Revision == "" {
		i.Revision = "unknown"
	}
	return i
})

// Get returns the binary's build information.
func Get() Info { return read() }

// String is "flowline <version> (<revision>, <go version>)".
func (i Info) String() string {
	return "flowline " + i.Version + " (" + i.Revision + ", " + i.Go + ")"
}

// Collector is the flowline_build_info gauge, 1, labelled with the
// binary's version, revision and Go version: what a dashboard joins on to
// show which build each process runs.
func Collector() prometheus.Collector {
	i := Get()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "flowline_build_info",
		Help:        "1, labelled with the version, source revision and Go version of the running binary.",
		ConstLabels: prometheus.Labels{"version": i.Version, "revision": i.Revision, "goversion": i.Go},
	})
	g.Set(1)
	return g
}
