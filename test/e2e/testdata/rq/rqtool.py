"""Enqueue jobs and report their state, for the RQ end-to-end tests.

rqtool.py URL enqueue SECONDS [SECONDS...]   prints one job id per line
rqtool.py URL state JOB_ID [JOB_ID...]       prints "id status where result horse_pid"
"""
import sys

from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import (CanceledJobRegistry, DeferredJobRegistry, FailedJobRegistry,
                         FinishedJobRegistry, ScheduledJobRegistry, StartedJobRegistry)

import jobs


def main():
    conn = Redis.from_url(sys.argv[1])
    q = Queue("default", connection=conn)
    cmd, args = sys.argv[2], sys.argv[3:]
    if cmd == "enqueue":
        for s in args:
            print(q.enqueue(jobs.slow, float(s), job_timeout=3600, result_ttl=3600).id)
        return
    registries = [("started", StartedJobRegistry), ("finished", FinishedJobRegistry),
                  ("failed", FailedJobRegistry), ("deferred", DeferredJobRegistry),
                  ("scheduled", ScheduledJobRegistry), ("canceled", CanceledJobRegistry)]
    queued = set(q.job_ids)
    for job_id in args:
        where = [name for name, reg in registries if job_id in reg(queue=q)]
        if job_id in queued:
            where.append("queued")
        try:
            job = Job.fetch(job_id, connection=conn)
            # RQ 2.x returns a JobStatus enum, 1.13 a plain string.
            status, result = getattr(job.get_status(), "value", job.get_status()), job.result
        except Exception:  # the job hash is gone: the job vanished
            status, result = "missing", None
        horse = (conn.get("horse:" + job_id) or b"0").decode()
        print(job_id, status, ",".join(where) or "nowhere", repr(result).replace(" ", "_"), horse)


if __name__ == "__main__":
    main()
