package wire

import (
	"bufio"
	"strings"
	"testing"
	"time"
)

func TestReadResponse(t *testing.T) {
	r, err := ReadResponse(bufio.NewReader(strings.NewReader("HTTP/1.0 403 Forbidden\r\nContent-Type: application/json\r\n" +
		"Date: Wed, 02 Dec 2026 12:00:08 GMT\r\n\r\n{\"reason\":\"Forbidden\"}")))
	if err != nil || r.Code != 403 || string(r.Body) != `{"reason":"Forbidden"}` || !r.Date.Equal(time.Date(2026, 12, 2, 12, 0, 8, 0, time.UTC)) {
		t.Errorf("got %+v %v", r, err)
	}
	r, err = ReadResponse(bufio.NewReader(strings.NewReader("HTTP/1.1 503 Service Unavailable\r\nA: b\r\n\r\n[-]x failed\n")))
	if err != nil || r.Code != 503 || string(r.Body) != "[-]x failed\n" {
		t.Errorf("got %+v %v", r, err)
	}
	for _, bad := range []string{"", "garbage\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n", "HTTP/1.1 200 OK\r\n", "SSH-2.0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "HTTP/1.1 200 OK\r\nX: y", "HTTP/1.1 99 Low\r\n\r\n"} {
		if _, err := ReadResponse(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("ReadResponse(%q): no error", bad)
		}
	}
}

func FuzzReadResponse(f *testing.F) {
	f.Add("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}")
	f.Add("HTTP/1.1 403 Forbidden\r\n\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ReadResponse(bufio.NewReader(strings.NewReader(s)))
		if err == nil && (r.Code < 100 || r.Code > 999) {
			t.Fatalf("ReadResponse(%q) = %d", s, r.Code)
		}
	})
}
