package esnode

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSecuredNode: a node with Security (users and TLS) serves HTTPS with a
// certificate signed by Node.CACert, answers 401 without credentials or with
// a wrong password and 200 with either user's, and cannot be reached by a
// client that does not trust the CA.
func TestSecuredNode(t *testing.T) {
	requireRealNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	users := map[string]string{"flowline": "s3cret-Pa55word", "other": "another-s3cret"}
	t0 := time.Now()
	n, err := Start(ctx, Options{HeapMB: 512, Security: &Security{Users: users, TLS: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	t.Logf("secured node %s healthy in %v", n.URL(), time.Since(t0).Round(time.Millisecond))

	if !strings.HasPrefix(n.URL(), "https://127.0.0.1:") {
		t.Errorf("URL() = %q, want https://127.0.0.1:port", n.URL())
	}
	caPEM := n.CACert()
	block, _ := pem.Decode(caPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("CACert() is not a PEM certificate: %q", caPEM)
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !ca.IsCA {
		t.Fatalf("CACert(): %v (IsCA %v)", err, ca != nil && ca.IsCA)
	}
	caPEM[0] = 'X' // a copy: the node's CA is not changed through it
	if n.CACert()[0] != '-' {
		t.Error("CACert returns the node's own slice")
	}

	// The passwords are stored hashed only.
	conf := filepath.Join(n.dir, "config")
	for _, f := range []string{usersFile, usersRolesFile} {
		b, err := os.ReadFile(filepath.Join(conf, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, pw := range users {
			if strings.Contains(string(b), pw) {
				t.Errorf("config/%s contains a password in clear", f)
			}
		}
	}

	trusting, err := healthClient(n.CACert())
	if err != nil {
		t.Fatal(err)
	}
	defer trusting.CloseIdleConnections()
	get := func(c *http.Client, user, password string) (int, string, error) {
		req, _ := http.NewRequest(http.MethodGet, n.URL()+"/_cluster/health", nil)
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	status, body, err := get(trusting, "", "")
	if err != nil || status != http.StatusUnauthorized || !strings.Contains(body, "security_exception") {
		t.Errorf("no credentials: %d %v %s, want 401 security_exception", status, err, body)
	}
	status, body, err = get(trusting, "flowline", "wrong-password")
	if err != nil || status != http.StatusUnauthorized {
		t.Errorf("wrong password: %d %v %s, want 401", status, err, body)
	}
	for user, pw := range users {
		status, body, err = get(trusting, user, pw)
		if err != nil || status != http.StatusOK || !strings.Contains(body, `"status"`) {
			t.Errorf("user %s: %d %v %s, want 200", user, status, err, body)
		}
	}
	// Superusers: a user may create an index.
	req, _ := http.NewRequest(http.MethodPut, n.URL()+"/secured-test", nil)
	req.SetBasicAuth("other", users["other"])
	if resp, err := trusting.Do(req); err != nil {
		t.Error(err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("create index as other: %s %s", resp.Status, b)
		}
	}

	// Without the CA: the certificate is not trusted.
	systemRoots := &http.Client{Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{}}, Timeout: 5 * time.Second}
	_, _, err = get(systemRoots, "flowline", users["flowline"])
	var unknownCA x509.UnknownAuthorityError
	if !errors.As(err, &unknownCA) {
		t.Errorf("client without the CA: err = %v, want x509.UnknownAuthorityError", err)
	}
	// Plain HTTP is not served.
	plain := strings.Replace(n.URL(), "https://", "http://", 1)
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(plain + "/_cluster/health"); err == nil {
		resp.Body.Close()
		t.Errorf("plain HTTP answered %s", resp.Status)
	}
}

func TestSecurityValidation(t *testing.T) {
	for name, sec := range map[string]*Security{
		"no users":       {TLS: true},
		"colon in name":  {Users: map[string]string{"a:b": "password"}},
		"space in name":  {Users: map[string]string{"a b": "password"}},
		"empty password": {Users: map[string]string{"a": ""}},
		"reserved user":  {Users: map[string]string{"elastic": "password"}},
	} {
		if _, err := Start(context.Background(), Options{Security: sec}); err == nil || !strings.Contains(err.Error(), "Security") {
			t.Errorf("%s: Start err = %v", name, err)
		}
	}
	sec := &Security{Users: map[string]string{"u": "password"}, TLS: true}
	_, err := Start(context.Background(), Options{Security: sec, Settings: map[string]string{"xpack.security.enabled": "false"}})
	if err == nil || !strings.Contains(err.Error(), "contradicts Options.Security") {
		t.Errorf("security disabled in Settings: err = %v", err)
	}
	got, err := elasticsearchFlavor.nodeSettingsFor(sec, map[string]string{"xpack.security.enabled": "true", "thread_pool.write.queue_size": "5"})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"xpack.security.enabled":              "true",
		"xpack.security.http.ssl.enabled":     "true",
		"xpack.security.http.ssl.certificate": certsDir + "/" + httpCertFile,
		"xpack.security.http.ssl.key":         certsDir + "/" + httpKeyFile,
		"thread_pool.write.queue_size":        "5",
	} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if got, _ := elasticsearchFlavor.nodeSettingsFor(nil, nil); got["xpack.security.enabled"] != "false" {
		t.Errorf("without Security, xpack.security.enabled = %q", got["xpack.security.enabled"])
	}
}

// TestPBKDF2Hash: the users-file hash is Elasticsearch's {PBKDF2} format
// (PBKDF2-HMAC-SHA512, 32-byte salt, 256-bit key) and salted.
func TestPBKDF2Hash(t *testing.T) {
	h, err := pbkdf2Hash("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	rest, ok := strings.CutPrefix(h, "{PBKDF2}")
	parts := strings.Split(rest, "$")
	if !ok || len(parts) != 3 || parts[0] != strconv.Itoa(pbkdf2Cost) {
		t.Fatalf("hash %q", h)
	}
	salt, err1 := base64.StdEncoding.DecodeString(parts[1])
	key, err2 := base64.StdEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || len(salt) != 32 || len(key) != 32 {
		t.Fatalf("hash %q: salt %d bytes (%v), key %d bytes (%v)", h, len(salt), err1, len(key), err2)
	}
	want, _ := pbkdf2.Key(sha512.New, "s3cret", salt, pbkdf2Cost, 32)
	if string(want) != string(key) {
		t.Error("key does not verify")
	}
	if h2, _ := pbkdf2Hash("s3cret"); h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
}

// TestGenerateCerts: the server certificate verifies against the CA for
// 127.0.0.1, ::1 and localhost, and its key matches.
func TestGenerateCerts(t *testing.T) {
	caPEM, certPEM, keyPEM, err := generateCerts(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatalf("key pair: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA PEM")
	}
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: host, Roots: pool}); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: pool}); err == nil {
		t.Error("certificate valid for example.com")
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "localhost"}); err == nil {
		t.Error("certificate verifies without the CA")
	}
}

// TestWriteFilesKeepsCertificates: the users files are rewritten at every
// start, the certificates of an earlier start (a DataDir's) are kept.
func TestWriteFilesKeepsCertificates(t *testing.T) {
	conf := t.TempDir()
	sec := &Security{Users: map[string]string{"b": "pw-b", "a": "pw-a"}, TLS: true}
	ca1, err := sec.writeFiles(conf)
	if err != nil {
		t.Fatal(err)
	}
	roles, _ := os.ReadFile(filepath.Join(conf, usersRolesFile))
	if string(roles) != "superuser:a,b\n" {
		t.Errorf("users_roles = %q", roles)
	}
	if fi, err := os.Stat(filepath.Join(conf, certsDir, httpKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi.Mode(), err)
	}
	sec.Users = map[string]string{"c": "pw-c"}
	ca2, err := sec.writeFiles(conf)
	if err != nil {
		t.Fatal(err)
	}
	if string(ca1) != string(ca2) {
		t.Error("the CA changed on the second start")
	}
	users, _ := os.ReadFile(filepath.Join(conf, usersFile))
	if !strings.HasPrefix(string(users), "c:{PBKDF2}") || strings.Count(string(users), "\n") != 1 {
		t.Errorf("users after the second start = %q", users)
	}
	if ca, err := (&Security{Users: map[string]string{"a": "pw"}}).writeFiles(t.TempDir()); err != nil || ca != nil {
		t.Errorf("without TLS: CA %q, err %v", ca, err)
	}
}
