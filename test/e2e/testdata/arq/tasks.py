"""An arq application for supervise's tests: one job that sleeps as long
as it is told, logs its start, and marks its end in Redis. The wait arq
gives running jobs after TERM is JOB_COMPLETION_WAIT (arq's default 0:
none)."""
import asyncio
import os
import sys

from arq.connections import RedisSettings


async def slow(ctx, seconds, job):
    print(f"slow started {seconds} id={job} try={ctx['job_try']}", file=sys.stderr, flush=True)
    await asyncio.sleep(float(seconds))
    await ctx["redis"].set(f"done:{job}", seconds)
    print(f"slow done {seconds} id={job}", file=sys.stderr, flush=True)


class WorkerSettings:
    functions = [slow]
    redis_settings = RedisSettings.from_dsn(os.environ["REDIS_URL"])
    job_completion_wait = int(os.environ.get("JOB_COMPLETION_WAIT", "0"))
