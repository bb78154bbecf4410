"""Test tool for app.py: enqueue tasks, or count what is still queued.

    hueytool.py enqueue TAG SECONDS [TAG SECONDS ...]
    hueytool.py pending          prints the tags still in the queue
"""
import sys

from app import huey, work

if sys.argv[1] == 'enqueue':
    args = sys.argv[2:]
    for tag, seconds in zip(args[0::2], args[1::2]):
        work(float(seconds), tag)
elif sys.argv[1] == 'pending':
    print(' '.join(t.args[1] for t in huey.pending()))
