"""Huey tasks: long computations that must not be lost on a stop."""
import os
import pathlib
import time

from huey import SqliteHuey, crontab

huey = SqliteHuey(filename=os.environ.get("HUEY_DB", "/data/huey.db"))
HEARTBEAT = pathlib.Path("/tmp/huey-heartbeat")


@huey.task()
def compute(seconds):
    """Stand-in for an NMR calculation: minutes of work."""
    for _ in range(int(seconds)):
        time.sleep(1)
        HEARTBEAT.touch()
    return seconds


@huey.periodic_task(crontab(minute="*"))
def heartbeat():
    """Runs every minute while the consumer's scheduler and workers live."""
    HEARTBEAT.touch()
