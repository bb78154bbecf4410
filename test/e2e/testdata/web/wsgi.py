"""A WSGI app for supervise's tests: GET /?SECONDS answers after that long."""
import sys
import time


def app(environ, start_response):
    seconds = float(environ.get("QUERY_STRING") or 0)
    print(f"request started {seconds}", file=sys.stderr, flush=True)
    time.sleep(seconds)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"done {seconds}\n".encode()]
