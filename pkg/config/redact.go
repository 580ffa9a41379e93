package config

import (
	"net/url"
	"regexp"
	"strings"
)

// redacted replaces a secret in a redacted URL.
const redacted = "xxxxx"

// secretQueryKey matches query parameters that carry credentials.
var secretQueryKey = regexp.MustCompile(`(?i)(pass|secret|token|key|auth|sig|cred)`)

// userinfo is the user:password@ part of a URL that does not parse.
var userinfo = regexp.MustCompile(`//[^/?#@]*@`)

// Redact returns raw (a URL, or a comma-separated list of URLs as
// FLOWLINE_NATS_URL and FLOWLINE_ES_URL take) fit for a log line or an
// error: a password becomes xxxxx, and so does a user name given without
// one (NATS reads nats://TOKEN@host as a token); query parameters whose
// name suggests a credential (token, password, key, ...) are redacted too.
// Every URL Flowline logs or puts in an error goes through it. A URL that
// does not parse keeps only what cannot be a credential.
func Redact(raw string) string {
	if !strings.Contains(raw, ",") {
		return redactOne(raw)
	}
	parts := strings.Split(raw, ",")
	for i, p := range parts {
		parts[i] = redactOne(p)
	}
	return strings.Join(parts, ",")
}

func redactOne(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return userinfo.ReplaceAllString(raw, "//"+redacted+"@")
	}
	if u.User != nil {
		if _, hasPassword := u.User.Password(); hasPassword {
			u.User = url.UserPassword(u.User.Username(), redacted)
		} else {
			u.User = url.User(redacted)
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if secretQueryKey.MatchString(k) {
				q.Set(k, redacted)
			}
		}
		u.RawQuery = q.Encode()
	}
	s := u.String()
	// Keep the list's spacing as given.
	if lead := len(raw) - len(strings.TrimLeft(raw, " \t")); lead > 0 {
		s = raw[:lead] + s
	}
	return s
}
