"""A web API that only enqueues Huey tasks (a producer), as the compose
example's api container does: `python3 api.py PORT`. It imports the local
app module, which imports huey, but starts no consumer."""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from app import work


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        work(1.0, self.path.strip("/") or "api")
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
print("api listening", flush=True)
server.serve_forever()
