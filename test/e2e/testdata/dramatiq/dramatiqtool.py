"""Sends slow jobs and says where they are, for supervise's Dramatiq
tests: send SECONDS... prints one job id per line; where ID... prints ID
and done, queued (in the queue), unacked (held by a worker that stopped
without acknowledging it, recovered once its heartbeat expires) or
nowhere."""
import sys
import uuid

import tasks

client = tasks.broker.client


def where(job):
    if client.get(f"done:{job}") is not None:
        return "done"
    # The message holding the job: the queue's .msgs hash maps each
    # message id to its body, until it is acknowledged.
    message_id = None
    for mid, body in client.hgetall("dramatiq:default.msgs").items():
        if job.encode() in body:
            message_id = mid
    if message_id is None:
        return "nowhere"
    for key in client.keys("dramatiq:__acks__.*"):
        if client.sismember(key, message_id):
            return "unacked"
    if message_id in client.lrange("dramatiq:default", 0, -1):
        return "queued"
    return "nowhere"


if sys.argv[1] == "send":
    for seconds in sys.argv[2:]:
        job = uuid.uuid4().hex
        tasks.slow.send(seconds, job)
        print(job)
elif sys.argv[1] == "where":
    for job in sys.argv[2:]:
        print(job, where(job))
