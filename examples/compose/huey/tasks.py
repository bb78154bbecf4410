"""Huey tasks: long computations that must not be lost on a stop."""
import logging
import os
import pathlib
import time

from huey import SqliteHuey, crontab, signals

huey = SqliteHuey(filename=os.environ.get("HUEY_DB", "/data/huey.db"))
HEARTBEAT = pathlib.Path("/tmp/huey-heartbeat")
log = logging.getLogger("tasks")


@huey.task()
def compute(seconds):
    """Stand-in for an NMR calculation: minutes of work."""
    end = time.monotonic() + float(seconds)
    while time.monotonic() < end:
        time.sleep(min(1.0, max(0.0, end - time.monotonic())))
        HEARTBEAT.touch()
    return seconds


@huey.signal(signals.SIGNAL_INTERRUPTED)
def requeue(signal, task, *args, **kwargs):
    """A task cut short by a stop (the grace period ran out) goes back in
    the queue, to run again in full on the next worker."""
    log.warning("task %s interrupted by the stop: queued again", task.id)
    huey.enqueue(task)


@huey.periodic_task(crontab(minute="*"))
def heartbeat():
    """Runs every minute while the consumer's scheduler and workers live."""
    HEARTBEAT.touch()
