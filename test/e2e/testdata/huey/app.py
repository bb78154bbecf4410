"""A Huey 3 application for the end-to-end tests: SqliteHuey (standard
library only), one task that runs for a given time, and a record of every
start, finish and interruption as files under $HUEY_RESULTS, so a test can
tell finished, interrupted-and-recorded and never-started tasks apart."""
import os
import time

from huey import SqliteHuey, signals

huey = SqliteHuey('supervise-tests', filename=os.environ['HUEY_DB'])
RESULTS = os.environ['HUEY_RESULTS']


def record(kind, tag):
    with open(os.path.join(RESULTS, '%s-%s' % (kind, tag)), 'w') as f:
        f.write('%.3f\n' % time.time())
    print('%s %s pid=%d' % (kind, tag, os.getpid()), flush=True)


@huey.task()
def work(seconds, tag):
    record('started', tag)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.05)
    record('finished', tag)


@huey.signal(signals.SIGNAL_INTERRUPTED)
def interrupted(signal, task, *args, **kwargs):
    record('interrupted', task.args[1])
