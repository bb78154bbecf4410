package kube

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParsePod(t *testing.T) {
	cases := []struct {
		body     string
		want     time.Duration
		deleting bool
		err      bool
	}{
		{`{"metadata":{"name":"w","deletionGracePeriodSeconds":45},"spec":{"terminationGracePeriodSeconds":300}}`, 45 * time.Second, true, false},
		{`{"metadata":{"name":"w"},"spec":{"terminationGracePeriodSeconds":300}}`, 300 * time.Second, false, false},
		{`{"metadata":{"deletionGracePeriodSeconds":0}}`, 0, true, false},
		{`{"metadata":{}}`, 0, false, true},
		{`{"metadata":{"deletionGracePeriodSeconds":-1}}`, 0, false, true},
		{`not json`, 0, false, true},
	}
	for _, c := range cases {
		g, err := ParsePod([]byte(c.body))
		if (err != nil) != c.err || g.Period != c.want || g.Deleting != c.deleting {
			t.Errorf("ParsePod(%s) = %+v, %v", c.body, g, err)
		}
	}
}

func TestReadResponse(t *testing.T) {
	code, body, err := ReadResponse(bufio.NewReader(strings.NewReader("HTTP/1.0 403 Forbidden\r\nContent-Type: application/json\r\n\r\n{\"reason\":\"Forbidden\"}")))
	if err != nil || code != 403 || string(body) != `{"reason":"Forbidden"}` {
		t.Errorf("got %d %q %v", code, body, err)
	}
	for _, bad := range []string{"", "garbage\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "HTTP/1.1 200 OK\r\nX: y"} {
		if _, _, err := ReadResponse(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("ReadResponse(%q): no error", bad)
		}
	}
}

func TestInCluster(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if _, err := InCluster(getenv, t.TempDir()); !errors.Is(err, ErrNotInPod) {
		t.Fatalf("outside a pod: %v", err)
	}
	dir := t.TempDir()
	env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"] = "10.96.0.1", "443"
	if _, err := InCluster(getenv, dir); err == nil {
		t.Fatal("no token: no error")
	}
	os.WriteFile(filepath.Join(dir, "token"), []byte("t"), 0o600)
	os.WriteFile(filepath.Join(dir, "ca.crt"), selfSigned(t), 0o600)
	os.WriteFile(filepath.Join(dir, "namespace"), []byte("jobs\n"), 0o600)
	env["POD_NAME"] = "worker-0"
	p, err := InCluster(getenv, dir)
	if err != nil || p.Addr != "10.96.0.1:443" || p.Namespace != "jobs" || p.Name != "worker-0" {
		t.Fatalf("InCluster = %+v, %v", p, err)
	}
	env["POD_NAMESPACE"] = "other"
	if p, _ := InCluster(getenv, dir); p.Namespace != "other" {
		t.Errorf("POD_NAMESPACE ignored: %s", p.Namespace)
	}
}

func FuzzParsePod(f *testing.F) {
	f.Add([]byte(`{"metadata":{"deletionGracePeriodSeconds":45},"spec":{"terminationGracePeriodSeconds":300}}`))
	f.Add([]byte(`{"spec":{"terminationGracePeriodSeconds":9223372036854775807}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := ParsePod(b)
		if err == nil && (g.Period < 0 || g.Period > 365*24*time.Hour) {
			t.Fatalf("ParsePod(%q) = %+v", b, g)
		}
	})
}

func FuzzReadResponse(f *testing.F) {
	f.Add("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}")
	f.Add("HTTP/1.1 403 Forbidden\r\n\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		code, _, err := ReadResponse(bufio.NewReader(strings.NewReader(s)))
		if err == nil && (code < 100 || code > 999) {
			t.Fatalf("ReadResponse(%q) = %d", s, code)
		}
	})
}

// selfSigned returns a new self-signed certificate in PEM.
func selfSigned(t *testing.T) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
