"""Send tasks and report where they are, for the Celery end-to-end tests.

celerytool.py send SECONDS [SECONDS...]   prints one task id per line
celerytool.py where ID [ID...]            prints "id place state result" per task:
    place is "queued" (a message in the broker's queue), "unacked" (taken
    by a worker and not acknowledged: the broker gives it back only after
    its visibility timeout, an hour by default), "done" (a result is
    stored) or "nowhere" (the task vanished)
"""
import json
import sys

import redis

from tasks import URL, app, slow


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "send":
        for s in args:
            print(slow.delay(float(s)).id)
        return
    r = redis.Redis.from_url(URL)
    queued = {json.loads(m)["headers"]["id"] for m in r.lrange("celery", 0, -1)}
    unacked = set()
    for v in r.hvals("unacked"):
        message = json.loads(v)[0]
        unacked.add(message["headers"]["id"])
    for task_id in args:
        res = app.AsyncResult(task_id)
        if task_id in queued:
            place = "queued"
        elif task_id in unacked:
            place = "unacked"
        elif res.state in ("SUCCESS", "FAILURE", "REVOKED"):
            place = "done"
        else:
            place = "nowhere"
        print(task_id, place, res.state, repr(res.result).replace(" ", "_"))


if __name__ == "__main__":
    main()
