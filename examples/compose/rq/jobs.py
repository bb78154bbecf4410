"""Jobs for the RQ example: slow work that records its work-horse pid."""
import os
import time

from rq import get_current_job


def slow(seconds):
    """Sleep for seconds, after recording the work-horse's pid in Redis."""
    job = get_current_job()
    job.connection.set("horse:" + job.id, os.getpid())
    time.sleep(seconds)
    return "done %s" % seconds
