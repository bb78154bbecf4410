"""Enqueues slow jobs and says where they are, for supervise's arq tests:
send SECONDS... prints one job id per line; where ID... prints ID and
done, queued (to run again: arq keeps a job in its queue until it ends)
with its tries so far, or nowhere."""
import asyncio
import sys
import uuid

from arq import create_pool

import tasks


async def main():
    pool = await create_pool(tasks.WorkerSettings.redis_settings)
    if sys.argv[1] == "send":
        for seconds in sys.argv[2:]:
            job = uuid.uuid4().hex
            await pool.enqueue_job("slow", seconds, job, _job_id=job)
            print(job)
    elif sys.argv[1] == "where":
        for job in sys.argv[2:]:
            if await pool.get(f"done:{job}") is not None:
                print(job, "done")
            elif await pool.zscore("arq:queue", job) is not None:
                tries = await pool.get(f"arq:retry:{job}")
                in_progress = await pool.exists(f"arq:in-progress:{job}")
                print(job, "queued", "tries=" + (tries.decode() if tries else "0"), "in-progress=" + str(in_progress))
            else:
                print(job, "nowhere")
    await pool.close()


asyncio.run(main())
