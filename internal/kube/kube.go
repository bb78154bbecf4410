package kube

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/supervise/supervise/internal/wire"
)

// DefaultServiceAccountDir is where Kubernetes mounts a pod's service
// account token, CA certificate and namespace.
const DefaultServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// Pod is how to reach the API server and which pod to ask about.
type Pod struct {
	// Addr is the API server's HOST:PORT.
	Addr string
	// Name and Namespace identify the pod.
	Name, Namespace string
	// Container is the name of the container supervise runs in, when
	// known (see ContainerFromMountinfo); the caller may set it.
	Container string
	// TokenFile is the service account token, read at each request (the
	// kubelet rotates it). CA is the pool the server's certificate must
	// chain to.
	TokenFile string
	CA        *x509.CertPool
}

// ErrNotInPod is returned by InCluster outside a Kubernetes pod.
var ErrNotInPod = errors.New("not in a Kubernetes pod")

// InCluster finds the pod supervise runs in, the way client libraries do:
// KUBERNETES_SERVICE_HOST and _PORT for the API server, the service
// account files in dir (DefaultServiceAccountDir when empty), the pod's
// name from POD_NAME or the hostname, its namespace from POD_NAMESPACE or
// the mounted namespace file. getenv is os.Getenv in production.
func InCluster(getenv func(string) string, dir string) (*Pod, error) {
	host, port := getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT")
	if host == "" {
		return nil, ErrNotInPod
	}
	if dir == "" {
		dir = DefaultServiceAccountDir
	}
	if port == "" {
		port = "443"
	}
	p := &Pod{Addr: net.JoinHostPort(host, port), TokenFile: filepath.Join(dir, "token")}
	if _, err := os.Stat(p.TokenFile); err != nil {
		return nil, fmt.Errorf("no service account token: %w", err)
	}
	pem, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("no service account CA: %w", err)
	}
	p.CA = x509.NewCertPool()
	if !p.CA.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", filepath.Join(dir, "ca.crt"))
	}
	p.Namespace = getenv("POD_NAMESPACE")
	if p.Namespace == "" {
		b, err := os.ReadFile(filepath.Join(dir, "namespace"))
		if err != nil {
			return nil, fmt.Errorf("no POD_NAMESPACE and no namespace file: %w", err)
		}
		p.Namespace = strings.TrimSpace(string(b))
	}
	p.Name = getenv("POD_NAME")
	if p.Name == "" {
		if p.Name, err = os.Hostname(); err != nil {
			return nil, fmt.Errorf("no POD_NAME and no hostname: %w", err)
		}
	}
	p.Container = selfContainer()
	return p, nil
}

// ForbiddenError is a 403: the service account may not read its pod.
type ForbiddenError struct{ Namespace, Name string }

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("the service account may not get pod %s/%s (403): add a Role with the rule "+
		"{apiGroups: [\"\"], resources: [\"pods\"], verbs: [\"get\"]} and bind it to the pod's service account", e.Namespace, e.Name)
}

// maxResponse bounds what is read of the API server's answer: a pod
// object is a few KiB, a large one tens.
const maxResponse = 1 << 20

// Get GETs the pod. The Reading it returns has Sent, Received and Date
// set. It blocks until ctx ends at the latest.
func (p *Pod) Get(ctx context.Context) (PodInfo, Reading, error) {
	var rd Reading
	token, err := os.ReadFile(p.TokenFile)
	if err != nil {
		return PodInfo{}, rd, fmt.Errorf("read token: %w", err)
	}
	host, _, _ := net.SplitHostPort(p.Addr)
	d := tls.Dialer{Config: &tls.Config{RootCAs: p.CA, ServerName: host, MinVersion: tls.VersionTLS12}}
	rd.Sent = time.Now()
	conn, err := d.DialContext(ctx, "tcp", p.Addr)
	if err != nil {
		return PodInfo{}, rd, fmt.Errorf("connect to the API server %s: %w", p.Addr, err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	path := "/api/v1/namespaces/" + p.Namespace + "/pods/" + p.Name
	// HTTP/1.0 with Connection: close: the answer is the body up to EOF,
	// never chunked (wire.ReadResponse).
	req := "GET " + path + " HTTP/1.0\r\nHost: " + p.Addr + "\r\nAuthorization: Bearer " + strings.TrimSpace(string(token)) +
		"\r\nAccept: application/json\r\nUser-Agent: supervise\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return PodInfo{}, rd, fmt.Errorf("GET %s: %w", path, err)
	}
	resp, err := wire.ReadResponse(bufio.NewReader(io.LimitReader(conn, maxResponse)))
	rd.Received = time.Now()
	if err != nil {
		return PodInfo{}, rd, fmt.Errorf("GET %s: %w", path, err)
	}
	rd.Date = resp.Date
	switch resp.Code {
	case 200:
		info, err := ParsePod(resp.Body)
		return info, rd, err
	case 403:
		return PodInfo{}, rd, &ForbiddenError{p.Namespace, p.Name}
	}
	return PodInfo{}, rd, fmt.Errorf("GET %s: HTTP %d: %s", path, resp.Code, firstLine(string(resp.Body)))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
