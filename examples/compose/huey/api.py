"""A minimal API: POST /compute?seconds=N enqueues a task."""
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from tasks import compute


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        q = parse_qs(urlparse(self.path).query)
        result = compute(int(q.get("seconds", ["60"])[0]))
        self.send_response(202)
        self.end_headers()
        self.wfile.write(("queued %s\n" % result.id).encode())


ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
