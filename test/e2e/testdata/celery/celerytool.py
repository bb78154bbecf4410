"""celerytool.py send SECONDS -> task id; celerytool.py result ID -> state and result."""
import sys

from tasks import app, slow

if sys.argv[1] == "send":
    print(slow.delay(float(sys.argv[2])).id)
else:
    r = app.AsyncResult(sys.argv[2])
    print(r.state, repr(r.result).replace(" ", "_"))
