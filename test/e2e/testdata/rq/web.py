"""A web app that enqueues RQ jobs (a producer): `python3 -m web URL PORT`.
It imports rq for its Queue, but starts no worker."""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from redis import Redis
from rq import Queue

import jobs

queue = Queue("default", connection=Redis.from_url(sys.argv[1]))
# A worker in this process would be: Worker([queue], connection=queue.connection).work()
# (commented out: this app only enqueues; auto must not take it for a worker).


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        job = queue.enqueue(jobs.slow, 1.0)
        self.send_response(202)
        self.end_headers()
        self.wfile.write(job.id.encode())

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler)
print("web listening", flush=True)
server.serve_forever()
