"""A Celery app for the end-to-end tests: one slow task, Redis broker and
backend, set up as users with long tasks set it up: a task's message is
acknowledged only when the task ends (task_acks_late), so a task cut by a
stop goes back to the queue, and each worker process reserves one task
at a time. CELERY_SOFT_SHUTDOWN, when set, is worker_soft_shutdown_timeout
(Celery 5.5+)."""
import os
import time

from celery import Celery

URL = os.environ["BROKER_URL"]
app = Celery("tasks", broker=URL, backend=URL)
app.conf.worker_hijack_root_logger = False
app.conf.task_acks_late = True
app.conf.worker_prefetch_multiplier = 1
if os.environ.get("CELERY_SOFT_SHUTDOWN"):
    app.conf.worker_soft_shutdown_timeout = float(os.environ["CELERY_SOFT_SHUTDOWN"])


@app.task
def slow(seconds):
    """Say it started, sleep, then return a result the test can find in Redis."""
    print("slow started %s" % seconds, flush=True)
    time.sleep(seconds)
    return "done %s" % seconds
