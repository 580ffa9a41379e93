package esnode

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Security makes Start run a secured node (xpack.security.enabled=true).
//
// Users are file-realm users (config/users with PBKDF2 password hashes and
// config/users_roles), each given the superuser role. They are rewritten at
// every Start, also on a DataDir. Start authenticates as the first user (by
// name) to wait for the node to become healthy.
//
// TLS serves HTTP over TLS (xpack.security.http.ssl.*) with a certificate
// esnode generates: a private CA and a server certificate for 127.0.0.1,
// ::1 and localhost signed by it, written under the node's config dir
// (Elasticsearch reads SSL files only there). Node.CACert returns the CA;
// Node.URL then starts with https://. A DataDir keeps its certificates
// across restarts. Transport TLS is not configured: a single-node cluster
// bound to loopback runs in development mode, where Elasticsearch's
// "transport SSL must be enabled" bootstrap check only warns.
type Security struct {
	// Users maps user names to passwords; at least one is required. Names
	// may not contain ':', ',' or white space, nor be one of
	// Elasticsearch's reserved users (elastic, kibana_system, ...).
	Users map[string]string
	// TLS enables HTTPS with an esnode-generated certificate.
	TLS bool
}

// reservedUsers are the built-in users of the reserved realm, which comes
// before the file realm and would shadow file users of the same name.
var reservedUsers = []string{
	"elastic", "kibana", "kibana_system", "logstash_system", "beats_system",
	"apm_system", "remote_monitoring_user",
}

// Files under the node's config dir that Security writes.
const (
	usersFile      = "users"
	usersRolesFile = "users_roles"
	certsDir       = "flowline-certs"
	caCertFile     = "ca.crt"
	httpCertFile   = "http.crt"
	httpKeyFile    = "http.key"
)

// pbkdf2Cost is the iteration count of the users file hashes
// (Elasticsearch's {PBKDF2} hasher uses the same default).
const pbkdf2Cost = 10000

// validate checks s (nil is valid: no security).
func (s *Security) validate() error {
	if s == nil {
		return nil
	}
	if len(s.Users) == 0 {
		return errors.New("esnode: Security needs at least one user (Start authenticates as one to check health)")
	}
	for name, pw := range s.Users {
		if name == "" || strings.ContainsAny(name, ":, \t\r\n\x00") || len(name) > 507 {
			return fmt.Errorf("esnode: Security: invalid user name %q", name)
		}
		for _, r := range reservedUsers {
			if name == r {
				return fmt.Errorf("esnode: Security: user name %q is reserved by Elasticsearch", name)
			}
		}
		if pw == "" {
			return fmt.Errorf("esnode: Security: user %s has an empty password", name)
		}
	}
	return nil
}

// healthUser is the user Start authenticates as: the first by name.
func (s *Security) healthUser() (name, password string) {
	names := make([]string, 0, len(s.Users))
	for n := range s.Users {
		names = append(names, n)
	}
	sort.Strings(names)
	return names[0], s.Users[names[0]]
}

// settings returns the node settings for s (nil: none). Paths are
// relative to the config dir.
func (s *Security) settings() map[string]string {
	if s == nil {
		return nil
	}
	out := map[string]string{"xpack.security.enabled": "true"}
	if s.TLS {
		out["xpack.security.http.ssl.enabled"] = "true"
		out["xpack.security.http.ssl.certificate"] = certsDir + "/" + httpCertFile
		out["xpack.security.http.ssl.key"] = certsDir + "/" + httpKeyFile
	}
	return out
}

// nodeSettingsFor is the flavor's nodeSettings plus the settings of sec,
// which extra may repeat but not contradict.
func (f *flavor) nodeSettingsFor(sec *Security, extra map[string]string) (map[string]string, error) {
	out, err := f.nodeSettings(extra)
	if err != nil {
		return nil, err
	}
	for k, v := range sec.settings() {
		if x, ok := extra[k]; ok && x != v {
			return nil, fmt.Errorf("esnode: setting %s=%s contradicts Options.Security (which sets %s)", k, x, v)
		}
		out[k] = v
	}
	return out, nil
}

// writeFiles writes the users files and, with TLS, the certificates
// (kept when all of them exist, as on a DataDir's restart) into confDir. It
// returns the CA certificate in PEM (nil without TLS).
func (s *Security) writeFiles(confDir string) (caPEM []byte, err error) {
	if s == nil {
		return nil, nil
	}
	var users, roles strings.Builder
	names := make([]string, 0, len(s.Users))
	for n := range s.Users {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		h, err := pbkdf2Hash(s.Users[n])
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&users, "%s:%s\n", n, h)
	}
	fmt.Fprintf(&roles, "superuser:%s\n", strings.Join(names, ","))
	if err := os.WriteFile(filepath.Join(confDir, usersFile), []byte(users.String()), 0o600); err != nil {
		return nil, fmt.Errorf("esnode: write users: %w", err)
	}
	if err := os.WriteFile(filepath.Join(confDir, usersRolesFile), []byte(roles.String()), 0o600); err != nil {
		return nil, fmt.Errorf("esnode: write users_roles: %w", err)
	}
	if !s.TLS {
		return nil, nil
	}
	dir := filepath.Join(confDir, certsDir)
	caPath := filepath.Join(dir, caCertFile)
	if fileExistsAt(caPath) && fileExistsAt(filepath.Join(dir, httpCertFile)) && fileExistsAt(filepath.Join(dir, httpKeyFile)) {
		if caPEM, err = os.ReadFile(caPath); err != nil {
			return nil, fmt.Errorf("esnode: %w", err)
		}
		return caPEM, nil
	}
	caPEM, certPEM, keyPEM, err := generateCerts(time.Now())
	if err != nil {
		return nil, fmt.Errorf("esnode: generate certificates: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("esnode: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
		perm fs.FileMode
	}{{caCertFile, caPEM, 0o644}, {httpCertFile, certPEM, 0o644}, {httpKeyFile, keyPEM, 0o600}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, f.perm); err != nil {
			return nil, fmt.Errorf("esnode: %w", err)
		}
	}
	return caPEM, nil
}

// pbkdf2Hash hashes password in the users-file format of Elasticsearch's
// {PBKDF2} hasher: PBKDF2 with HMAC-SHA512, a 32-byte salt and a 256-bit key,
// as {PBKDF2}<cost>$<base64 salt>$<base64 key>. The standard library has
// PBKDF2 (bcrypt would need golang.org/x/crypto).
func pbkdf2Hash(password string) (string, error) {
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := pbkdf2.Key(sha512.New, password, salt, pbkdf2Cost, 32)
	if err != nil {
		return "", err
	}
	return "{PBKDF2}" + strconv.Itoa(pbkdf2Cost) + "$" + base64.StdEncoding.EncodeToString(salt) + "$" + base64.StdEncoding.EncodeToString(key), nil
}

// generateCerts returns a fresh CA and a server certificate and key signed
// by it for 127.0.0.1, ::1 and localhost, all PEM (the key PKCS #8), valid
// from an hour before now for ten years.
func generateCerts(now time.Time) (caPEM, certPEM, keyPEM []byte, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	serial := func() *big.Int {
		n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
		return n
	}
	notBefore, notAfter := now.Add(-time.Hour), now.AddDate(10, 0, 0)
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Flowline esnode CA", Organization: []string{"Flowline esnode"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"Flowline esnode"}},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		nil
}

// healthClient is the HTTP client Start polls health with: no proxy, and
// the node's CA as the only trusted root when it serves TLS.
func healthClient(caPEM []byte) (*http.Client, error) {
	tr := &http.Transport{Proxy: nil}
	if caPEM != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("esnode: no certificate in the CA PEM")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}, nil
}

// CACert returns the PEM of the CA that signed the node's HTTPS
// certificate (Security.TLS), or nil when the node serves plain HTTP.
func (n *Node) CACert() []byte { return bytes.Clone(n.caPEM) }
