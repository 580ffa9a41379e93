package esnode

import (
	"fmt"

	"github.com/flowline/flowline/pkg/config"
)

// Config is what the environment says about the local node that `flowline
// dev`, `flowline elasticsearch`, `flowline bench` and the tests
// (internal/testenv) provision: FLOWLINE_ES_VERSION, read through
// pkg/config. Its default is DefaultVersion, pre-filled by NewConfig (a
// struct tag cannot name the constant), so --help lists it.
type Config struct {
	Version string `envconfig:"ES_VERSION" prefilled:"true" desc:"Elasticsearch version of the local node (integ-test-zip from Maven Central)"`
}

// NewConfig returns a Config holding the defaults: to load into, or to list
// in --help.
func NewConfig() *Config { return &Config{Version: DefaultVersion} }

// Validate implements config.Validator. An empty version (the variable set
// to "") means DefaultVersion.
func (c Config) Validate() error {
	if c.Version == "" {
		return nil
	}
	if err := checkVersion(c.Version); err != nil {
		return fmt.Errorf("%w: %s_ES_VERSION: %v", config.ErrInvalid, config.Prefix, err)
	}
	return nil
}

// LoadConfig reads and validates Config from the environment.
func LoadConfig() (Config, error) {
	c := NewConfig()
	if err := config.Load(c); err != nil {
		return Config{}, err
	}
	if c.Version == "" {
		c.Version = DefaultVersion
	}
	return *c, nil
}
