"""A Huey consumer started from the application's own script:
`python3 run_consumer.py`. It imports the local app module, which imports
huey: auto follows that one level."""
import logging

from app import huey

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    huey.create_consumer(workers=2, worker_type="thread", initial_delay=0.1, max_delay=0.5).run()
