"""An RQ worker started from the application's own module, as webhook
services do: `python3 -m worker REDIS_URL`. auto finds "import rq" here."""
import sys

from redis import Redis
from rq import Queue, Worker

conn = Redis.from_url(sys.argv[1])
Worker([Queue("default", connection=conn)], connection=conn).work()
