"""A real Celery worker over Redis for the tests that need the production path of a task."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection

from helpdesk.celery import app as celery_app

NEEDS_WORKER_REASON = "needs REDIS_URL and a PostgreSQL DATABASE_URL that a worker process can share (CI sets both)"


def worker_can_run() -> bool:
    return bool(settings.REDIS_URL and os.environ.get("DATABASE_URL"))


@contextmanager
def celery_worker(*, queues: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """A worker on ``queues`` sharing the test database (plus ``env``); Celery stops being eager while it
    runs, so tasks go through the broker. Its output is printed when it stops (pytest shows it on failure)."""
    db = connection.settings_dict
    environment = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        **(env or {}),
    }
    command = [sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "-Q", queues, "--pool", "solo"]
    command += ["--loglevel", "WARNING", "--purge", "--without-heartbeat", "--without-gossip", "--without-mingle"]
    process = subprocess.Popen(
        command, cwd=settings.BASE_DIR, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    celery_app.conf.task_always_eager = False
    try:
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(timeout=0.5) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        yield process
    finally:
        celery_app.conf.task_always_eager = True
        process.terminate()
        print(process.communicate(timeout=30)[0])
