"""A web API that only enqueues Huey tasks (a producer), as the compose
example's api container does: `python3 api.py PORT`. It imports the local
app module, which imports huey, but starts no consumer."""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from app import work

# Running the consumer here instead would be:
#   from app import huey; huey.create_consumer(workers=2).run()
# (commented out: this API only enqueues; auto must not take it for one).


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
