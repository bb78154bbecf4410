"""A Celery app for the end-to-end tests: one slow task, Redis broker and backend."""
import os
import time

from celery import Celery

URL = os.environ["BROKER_URL"]
app = Celery("tasks", broker=URL, backend=URL)
app.conf.worker_hijack_root_logger = False


@app.task
def slow(seconds):
    """Say it started, sleep, then return a result the test can find in Redis."""
    print("slow started %s" % seconds, flush=True)
    time.sleep(seconds)
    return "done %s" % seconds
