package config

import (
	"errors"
	"strings"
	"testing"
)

// envSpec is a config struct of the tests below.
type envSpec struct {
	Count     int               `envconfig:"TEST_COUNT" default:"3"`
	Ratio     float64           `envconfig:"TEST_RATIO" default:"0.5"`
	On        bool              `envconfig:"TEST_ON" default:"false"`
	Wait      Duration          `envconfig:"TEST_WAIT" default:"1s"`
	Size      Bytes             `envconfig:"TEST_SIZE" default:"1MiB"`
	Token     int               `envconfig:"TEST_TOKEN"`
	Retention string            `envconfig:"ARCHIVER_RETENTION"`
	Policy    string            `envconfig:"ARCHIVER_RETENTION_ILM_POLICY"`
	Pairs     map[string]string `envconfig:"TEST_PAIRS"`
}

// TestConfigurationErrorsInPlainWords: a value that does not parse is
// reported with its variable, its value (unless the name says secret) and
// what it should be, and wraps ErrInvalid.
func TestConfigurationErrorsInPlainWords(t *testing.T) {
	for _, tt := range []struct {
		key, value string
		want       string
	}{
		{"FLOWLINE_TEST_COUNT", "three", `FLOWLINE_TEST_COUNT="three": want a whole number`},
		{"FLOWLINE_TEST_COUNT", "99999999999999999999", `FLOWLINE_TEST_COUNT="99999999999999999999": out of range`},
		{"FLOWLINE_TEST_RATIO", "half", `FLOWLINE_TEST_RATIO="half": want a number`},
		{"FLOWLINE_TEST_ON", "yes please", `FLOWLINE_TEST_ON="yes please": want true or false`},
		{"FLOWLINE_TEST_WAIT", "1 day", `FLOWLINE_TEST_WAIT="1 day": not a duration: want one such as 500ms, 30s, 5m, 1h, 1d or 1d12h`},
		{"FLOWLINE_TEST_SIZE", "64 parsecs", `FLOWLINE_TEST_SIZE="64 parsecs": not a size`},
		{"FLOWLINE_TEST_TOKEN", "s3cr3t", `FLOWLINE_TEST_TOKEN=(hidden): want a whole number`},
		{"FLOWLINE_TEST_PAIRS", "list-view=1s", `FLOWLINE_TEST_PAIRS="list-view=1s": invalid map item: "list-view=1s": want key:value pairs separated by commas`},
	} {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			t.Setenv(tt.key, tt.value)
			var s envSpec
			err := Process(&s)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to hold %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "envconfig") || strings.Contains(err.Error(), "strconv") || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q speaks of the library, or shows a secret", err)
			}
		})
	}
}

// TestUnitsInVariables: every duration accepts days, every size units.
func TestUnitsInVariables(t *testing.T) {
	t.Setenv("FLOWLINE_TEST_WAIT", "1d")
	t.Setenv("FLOWLINE_TEST_SIZE", "64MiB")
	var s envSpec
	if err := Process(&s); err != nil {
		t.Fatal(err)
	}
	if s.Wait.String() != "1d" || s.Size != 64<<20 {
		t.Errorf("wait %s, size %d", s.Wait, s.Size)
	}
}

// TestRenamedVariablesAreStillRead: the old name fills the field when the
// new one is unset; the new one wins when both are set.
func TestRenamedVariablesAreStillRead(t *testing.T) {
	t.Setenv("FLOWLINE_RETENTION", "30d")
	t.Setenv("FLOWLINE_RETENTION_ILM_POLICY", "old-policy")
	var s envSpec
	if err := Process(&s); err != nil {
		t.Fatal(err)
	}
	if s.Retention != "30d" || s.Policy != "old-policy" {
		t.Errorf("old names: retention %q, policy %q", s.Retention, s.Policy)
	}
	t.Setenv("FLOWLINE_ARCHIVER_RETENTION", "7d")
	s = envSpec{}
	if err := Process(&s); err != nil {
		t.Fatal(err)
	}
	if s.Retention != "7d" {
		t.Errorf("both names set: retention %q, want the new name's 7d", s.Retention)
	}
}

// TestCheckEnvFindsMisspelledVariables: a FLOWLINE_ variable no command
// reads is reported with the closest known name; one another command
// reads, and an old name, are told apart; what the command reads is not
// reported.
func TestCheckEnvFindsMisspelledVariables(t *testing.T) {
	read := []string{"FLOWLINE_WRITER_WORKERS", "FLOWLINE_NATS_URL", "FLOWLINE_ARCHIVER_RETENTION"}
	known := append([]string{"FLOWLINE_AGGREGATOR_FETCH_BATCH", "FLOWLINE_ARCHIVER_WAIT_PERIOD"}, read...)
	environ := []string{"PATH=/bin", "FLOWLINE_WRITER_WORKERS=2", "FLOWLINE_NATS_URL=nats://x", "FLOWLINE_WRITER_WORKRES=2",
		"FLOWLINE_ARCHIVER_WAIT_PERIOD=1d", "FLOWLINE_RETENTION=30d", "FLOWLINE_COMPLETELY_DIFFERENT=x", "FLOWLINE_BENCH_DOCS=5", "FLOWLINE_C7_TEST_URL=http://e"}
	r := CheckEnv(environ, read, known)
	var unknown []string
	for _, u := range r.Unknown {
		unknown = append(unknown, u.Name+"->"+u.Known)
	}
	if got := strings.Join(unknown, " "); got != "FLOWLINE_COMPLETELY_DIFFERENT-> FLOWLINE_WRITER_WORKRES->FLOWLINE_WRITER_WORKERS" {
		t.Errorf("unknown: %s", got)
	}
	if strings.Join(r.Elsewhere, " ") != "FLOWLINE_ARCHIVER_WAIT_PERIOD FLOWLINE_BENCH_DOCS FLOWLINE_C7_TEST_URL" {
		t.Errorf("read elsewhere: %v", r.Elsewhere)
	}
	if len(r.Deprecated) != 1 || r.Deprecated[0] != (Suggestion{"FLOWLINE_RETENTION", "FLOWLINE_ARCHIVER_RETENTION"}) {
		t.Errorf("deprecated: %v", r.Deprecated)
	}
}

func TestClosest(t *testing.T) {
	known := []string{"FLOWLINE_WRITER_WORKERS", "FLOWLINE_WRITER_ACK_WAIT", "FLOWLINE_NATS_URL", "FLOWLINE_ES_URL"}
	for _, tt := range []struct{ in, want string }{
		{"FLOWLINE_WRITER_WORKRES", "FLOWLINE_WRITER_WORKERS"},
		{"FLOWLINE_WRITER_WORKER", "FLOWLINE_WRITER_WORKERS"},
		{"FLOWLINE_NAT_URL", "FLOWLINE_NATS_URL"},
		{"FLOWLINE_ESURL", "FLOWLINE_ES_URL"},
		{"FLOWLINE_WRITER_ACKWAIT", "FLOWLINE_WRITER_ACK_WAIT"},
		{"FLOWLINE_SOMETHING_ELSE", ""},
	} {
		if got := Closest(tt.in, known); got != tt.want {
			t.Errorf("Closest(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestKeysListWhatASpecReads: the names of every variable of the specs,
// each once.
func TestKeysListWhatASpecReads(t *testing.T) {
	var withNATS struct {
		NATS NATS `envconfig:"NATS"`
	}
	keys, err := Keys(&envSpec{}, &withNATS, &envSpec{})
	if err != nil {
		t.Fatal(err)
	}
	joined := " " + strings.Join(keys, " ") + " "
	for _, want := range []string{"FLOWLINE_TEST_COUNT", "FLOWLINE_ARCHIVER_RETENTION", "FLOWLINE_NATS_URL", "FLOWLINE_NATS_CONNECT_TIMEOUT"} {
		if strings.Count(joined, " "+want+" ") != 1 {
			t.Errorf("keys %v: %s not once", keys, want)
		}
	}
}
