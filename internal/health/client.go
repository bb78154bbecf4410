package health

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/supervise/supervise/internal/wire"
)

// CheckOptions are the options of `supervise check`.
type CheckOptions struct {
	// URL, when set, is probed; else the endpoint on Listen, /livez or,
	// with Ready, /readyz (with ?verbose, for the reasons).
	URL, Listen string
	Ready       bool
	Timeout     time.Duration
}

// Check probes a running supervise as `supervise check` does and returns
// its exit status: 0 healthy; 1 not, or no answer, with the reason written
// to w. A URL or listen address that cannot be probed is an *OptionError.
func Check(o CheckOptions, w io.Writer) (int, error) {
	url := o.URL
	if url != "" {
		if err := CheckURL(url); err != nil {
			return 0, &OptionError{Option: OptURL, Value: url, Err: err}
		}
	} else {
		path := "/livez?verbose"
		if o.Ready {
			path = "/readyz?verbose"
		}
		var err error
		if url, err = ProbeURL(o.Listen, path); err != nil {
			return 0, &OptionError{Option: OptListen, Value: o.Listen, Err: err}
		}
	}
	ok, body, err := Probe(url, o.Timeout)
	switch {
	case err != nil:
		fmt.Fprintf(w, "supervise check: %s: %v\n", url, err)
		return 1, nil
	case !ok:
		fmt.Fprintln(w, body)
		return 1, nil
	}
	return 0, nil
}

// ProbeURL turns a listen address into the URL of an endpoint, dialling
// loopback when the server listens on every address.
func ProbeURL(listen, path string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("address %q: want HOST:PORT, like 127.0.0.1:9797 or :9797", listen)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + path, nil
}

// CheckURL reports whether rawURL is one Probe can use: http://HOST[:PORT]/PATH.
func CheckURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("URL %q: want http://HOST:PORT/PATH", rawURL)
	}
	return nil
}

// Probe GETs url (http only) and reports whether it answered 200, with
// the body (bounded). It blocks at most timeout.
func Probe(rawURL string, timeout time.Duration) (bool, string, error) {
	if err := CheckURL(rawURL); err != nil {
		return false, "", err
	}
	u, _ := url.Parse(rawURL)
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	deadline := time.Now().Add(timeout)
	conn, err := net.DialTimeout("tcp", host, timeout)
	if err != nil {
		return false, "", err
	}
	defer conn.Close()
	conn.SetDeadline(deadline)
	path := u.RequestURI()
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n", path, u.Host); err != nil {
		return false, "", err
	}
	resp, err := wire.ReadResponse(bufio.NewReader(io.LimitReader(conn, 64<<10)))
	if err != nil {
		return false, "", err
	}
	return resp.Code == 200, strings.TrimRight(string(resp.Body), "\n"), nil
}
