package config

import (
	"strings"
	"testing"
	"time"
)

func TestRedactHidesEveryCredentialOfAURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nats://flow:s3cret@broker:4222", "nats://flow:xxxxx@broker:4222"},
		{"nats://s3cret@broker:4222", "nats://xxxxx@broker:4222"}, // a NATS token
		{"nats://broker:4222", "nats://broker:4222"},
		{"nats://a:s3cret@n1:4222, nats://b:s3cret@n2:4222", "nats://a:xxxxx@n1:4222, nats://b:xxxxx@n2:4222"},
		{"https://elastic:s3cret@es:9200/path?token=s3cret&pretty=1", "https://elastic:xxxxx@es:9200/path?pretty=1&token=xxxxx"},
		{"http://127.0.0.1:8080/v1/records", "http://127.0.0.1:8080/v1/records"},
		{"http://user:s3cret@host\x7f:80", "http://xxxxx@host\x7f:80"}, // does not parse
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestInvalidURLErrorsNeverQuoteTheirPassword: a validation error names
// the variable and the URL, without its credentials, whether the URL does
// not parse or has the wrong scheme.
func TestInvalidURLErrorsNeverQuoteTheirPassword(t *testing.T) {
	for _, v := range []Validator{
		NATS{URL: "http://flow:s3cret@broker:4222", ConnectTimeout: Duration(time.Second)},
		NATS{URL: "nats://flow:s3cret@broker:port", ConnectTimeout: Duration(time.Second)},
		NATS{URL: "nats://flow:s3cret@bro ker:4222", ConnectTimeout: Duration(time.Second)},
		Elasticsearch{URL: "ftp://elastic:s3cret@es:9200"},
		Elasticsearch{URL: "http://elastic:s3cret@es:9200\x7f"},
	} {
		err := v.Validate()
		if err == nil {
			t.Errorf("%+v: no error", v)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "_URL") {
			t.Errorf("error %q quotes the password or does not name the variable", err)
		}
	}
}
