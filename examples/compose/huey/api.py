"""A minimal API: POST /compute?seconds=N enqueues a task; GET /status
counts what is queued and what has a result."""
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from tasks import compute, huey


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        q = parse_qs(urlparse(self.path).query)
        result = compute(float(q.get("seconds", ["60"])[0]))
        self.reply(202, {"queued": result.id})

    def do_GET(self):
        if urlparse(self.path).path != "/status":
            return self.reply(404, {"error": "not found"})
        self.reply(200, {"pending": huey.pending_count(), "results": huey.result_count()})

    def reply(self, code, body):
        data = (json.dumps(body) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
