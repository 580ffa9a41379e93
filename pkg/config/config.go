// Package config loads service configuration from the environment.
//
// Every variable carries the prefix FLOWLINE_ (see Prefix). Each service owns a
// config struct built from the shared sections below plus its own fields; all
// of them have envconfig tags, defaults and a Validate method. Load fills and
// validates a struct; Usage prints every variable with its default, which is
// what `flowline <cmd> --help` shows. A default that lives in a Go constant
// (a struct tag cannot name one) is pre-filled into the struct instead of
// tagged: Load keeps it when the variable is unset, and Usage shows it.
//
// Knobs of tests and benchmarks, which belong to no command, are read with
// Lookup; every FLOWLINE_ variable is read through this package.
package config

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"reflect"
	"strings"
	"text/tabwriter"
	"text/template"

	"github.com/kelseyhightower/envconfig"
)

// Prefix is the environment prefix of every Flowline variable.
const Prefix = "FLOWLINE"

// ErrInvalid wraps every validation failure.
var ErrInvalid = errors.New("invalid configuration")

// Validator is implemented by every config struct.
type Validator interface{ Validate() error }

// Load reads spec from the environment (Process) and validates it.
func Load(spec Validator) error {
	if err := Process(spec); err != nil {
		return err
	}
	return spec.Validate()
}

// Process reads spec (a pointer to a config struct) from the environment,
// and resolves the defaults that depend on other settings (Resolver),
// without validating it. A field whose variable is unset and has no default
// tag keeps the value spec holds.
func Process(spec any) error {
	if err := envconfig.Process(Prefix, spec); err != nil {
		return plainError(err)
	}
	if err := applyRenamed(spec); err != nil {
		return err
	}
	if r, ok := spec.(Resolver); ok {
		r.Resolve()
	}
	return nil
}

// usageTemplate lists one variable a line, from envconfig's information
// about each (Key, Tags, Field). A variable whose default differs per
// service, so cannot be a tag (a lease bucket's), is tagged
// `prefilled:"true"` and shows the value the spec was filled with; no other
// field's value is ever shown, so a spec loaded from the environment cannot
// print a secret.
var usageTemplate = template.Must(template.New("usage").Funcs(template.FuncMap{
	"default_of": func(tags reflect.StructTag, field reflect.Value) string {
		if d := tags.Get("default"); d != "" {
			return d
		}
		if tags.Get("prefilled") == "true" && !field.IsZero() {
			return fmt.Sprint(field.Interface())
		}
		return ""
	},
}).Parse(`{{range .}}{{.Key}}	{{default_of .Tags .Field}}	{{.Tags.Get "desc"}}
{{end}}`))

// Usage writes one table of every variable of specs (pointers to config
// structs) with its default and description; a variable shared by several
// specs is listed once.
func Usage(w io.Writer, specs ...any) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tDESCRIPTION")
	seen := map[string]bool{}
	for _, spec := range specs {
		var rows strings.Builder
		if err := envconfig.Usaget(Prefix, spec, &rows, usageTemplate); err != nil {
			return err
		}
		for _, row := range strings.Split(strings.TrimSuffix(rows.String(), "\n"), "\n") {
			name, _, _ := strings.Cut(row, "\t")
			if row == "" || seen[name] {
				continue
			}
			seen[name] = true
			fmt.Fprintln(tw, row)
		}
	}
	return tw.Flush()
}

// Lookup returns the value of FLOWLINE_<name> and whether it is set. It is
// for the knobs of tests and benchmarks, which no command reads and so no
// --help lists; a command's settings belong in a config section read with
// Load.
func Lookup(name string) (string, bool) {
	return os.LookupEnv(Prefix + "_" + name)
}

// invalid formats a validation error for variable name.
func invalid(name, format string, args ...any) error {
	return fmt.Errorf("%w: %s_%s: %s", ErrInvalid, Prefix, name, fmt.Sprintf(format, args...))
}

func checkURL(name, raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		// A url.Error quotes the URL whole, password included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return invalid(name, "%q: %v", Redact(raw), err)
	}
	for _, s := range schemes {
		if u.Scheme == s && u.Host != "" {
			return nil
		}
	}
	return invalid(name, "%q must be a URL with scheme %s and a host", Redact(raw), strings.Join(schemes, " or "))
}

func checkPositive(name string, v int64) error {
	if v <= 0 {
		return invalid(name, "must be positive, got %d", v)
	}
	return nil
}
