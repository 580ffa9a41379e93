package esnode

import (
	"fmt"

	"github.com/flowline/flowline/pkg/config"
)

// Config is what the environment says about the local node that `flowline
// dev`, `flowline elasticsearch`, `flowline opensearch`, `flowline bench`
// and the tests (internal/testenv) provision: FLOWLINE_ES_VERSION and
// FLOWLINE_OPENSEARCH_VERSION, read through pkg/config. The defaults are
// DefaultVersion and DefaultOpenSearchVersion, pre-filled by NewConfig (a
// struct tag cannot name the constant), so --help lists them.
type Config struct {
	Version           string `envconfig:"ES_VERSION" prefilled:"true" desc:"Elasticsearch version of the local node (integ-test-zip from Maven Central)"`
	OpenSearchVersion string `envconfig:"OPENSEARCH_VERSION" prefilled:"true" desc:"OpenSearch version of the local node (integ-test-zip plus module jars from Maven Central)"`
}

// NewConfig returns a Config holding the defaults: to load into, or to list
// in --help.
func NewConfig() *Config {
	return &Config{Version: DefaultVersion, OpenSearchVersion: DefaultOpenSearchVersion}
}

// Validate implements config.Validator. An empty version (the variable set
// to "") means the default.
func (c Config) Validate() error {
	if c.Version != "" {
		if err := elasticsearchFlavor.checkVersion(c.Version); err != nil {
			return fmt.Errorf("%w: %s_ES_VERSION: %v", config.ErrInvalid, config.Prefix, err)
		}
	}
	if c.OpenSearchVersion != "" {
		if err := openSearchFlavor.checkVersion(c.OpenSearchVersion); err != nil {
			return fmt.Errorf("%w: %s_OPENSEARCH_VERSION: %v", config.ErrInvalid, config.Prefix, err)
		}
	}
	return nil
}

// VersionOf is the configured version of engine (Elasticsearch for "").
func (c Config) VersionOf(engine string) string {
	if engine == OpenSearch {
		return c.OpenSearchVersion
	}
	return c.Version
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
	if c.OpenSearchVersion == "" {
		c.OpenSearchVersion = DefaultOpenSearchVersion
	}
	return *c, nil
}
