package c7engine

import (
	"fmt"
	"path/filepath"

	"github.com/flowline/flowline/pkg/config"
)

// Config is what the environment says about the local engine that `flowline
// c7-engine` and the tests (internal/testenv/c7enginetest) provision:
// FLOWLINE_C7_JAVA_HOME, read through pkg/config.
type Config struct {
	JavaHome string `envconfig:"C7_JAVA_HOME" desc:"JDK (17+) that builds and runs the local Camunda 7 engine (unset: $JAVA_HOME if 17+, else the oldest 17+ under /usr/lib/jvm, else java on PATH)"`
}

// NewConfig returns a Config holding the defaults: to load into, or to list
// in --help.
func NewConfig() *Config { return &Config{} }

// Validate implements config.Validator: a JDK path must be absolute.
func (c Config) Validate() error {
	if c.JavaHome != "" && !filepath.IsAbs(c.JavaHome) {
		return fmt.Errorf("%w: %s_C7_JAVA_HOME: %q is not an absolute path", config.ErrInvalid, config.Prefix, c.JavaHome)
	}
	return nil
}

// LoadConfig reads and validates Config from the environment.
func LoadConfig() (Config, error) {
	c := NewConfig()
	if err := config.Load(c); err != nil {
		return Config{}, err
	}
	return *c, nil
}
