"""A Dramatiq application for supervise's tests: one actor that sleeps as
long as it is told, logs its start, and marks its end in Redis."""
import os
import sys
import time

import dramatiq
from dramatiq.brokers.redis import RedisBroker

broker = RedisBroker(url=os.environ["REDIS_URL"])
dramatiq.set_broker(broker)


@dramatiq.actor(max_retries=0, time_limit=3_600_000)
def slow(seconds, job):
    print(f"slow started {seconds} id={job}", file=sys.stderr, flush=True)
    time.sleep(float(seconds))
    broker.client.set(f"done:{job}", seconds)
    print(f"slow done {seconds} id={job}", file=sys.stderr, flush=True)
