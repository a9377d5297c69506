"""The real Redis server and real Celery workers, stopped, restarted and killed by the fault tests.

The Redis server is the one REDIS_URL names (CI's, started by .ci/run): it is shut down without saving and
started again on the same port with the same bind address, always in a ``finally``, so later tests find it.
Only a local server that keeps nothing on disk is touched; anything else skips the test.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import redis
from django.conf import settings
from django.db import connection
from kombu.exceptions import KombuError
from redis.backoff import NoBackoff
from redis.retry import Retry

from helpdesk.celery import app as celery_app
from tests.celery_worker import NEEDS_WORKER_REASON, worker_can_run

__all__ = [
    "NEEDS_WORKER_REASON",
    "RunningWorker",
    "fault_worker",
    "redis_restart",
    "redis_stopped",
    "wait_until",
    "worker_can_run",
]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
# Where the tests' analyse_message holds (tests/faults/slow_worker.py) once it has read its message.
HOLD_MARKER_ENV = "HELPDESK_TEST_ANALYSIS_HOLD_MARKER"


def wait_until(condition: Callable[[], object], *, timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return bool(condition())


def _redis_admin() -> tuple[redis.Redis, list[str]]:
    """A client of REDIS_URL's server and the arguments that start it again as it is, or a skip."""
    address = urlsplit(settings.REDIS_URL)
    if address.hostname not in LOCAL_HOSTS:
        pytest.skip(f"restarts only a local Redis server; REDIS_URL names {address.hostname}")
    # No retry: redis-py 8 would retry a SHUTDOWN (and pings of a stopped server) for seconds.
    client = redis.Redis(
        host=address.hostname, port=address.port or 6379, socket_timeout=5, retry=Retry(NoBackoff(), 0)
    )
    config = {
        **client.config_get("save"),
        **client.config_get("appendonly"),
        **client.config_get("bind"),
        **client.config_get("dir"),
    }
    if config["save"] or config["appendonly"] != "no":
        pytest.skip("the Redis server at REDIS_URL keeps data on disk; a test must not drop it")
    command = ["redis-server", "--daemonize", "yes", "--port", str(address.port or 6379)]
    command += ["--bind", *config["bind"].split(), "--save", "", "--appendonly", "no", "--dir", config["dir"]]
    return client, command


def _redis_answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@contextmanager
def redis_stopped() -> Iterator[None]:
    """REDIS_URL's server shut down (nothing saved) for the body, then started again and answering."""
    client, start = _redis_admin()
    with contextlib.suppress(redis.ConnectionError):  # the server closes the connection as it goes
        client.shutdown(nosave=True)
    wait_until(lambda: not _redis_answers(client), timeout=10, every=0.05)
    try:
        yield
    finally:
        subprocess.run(start, check=True, capture_output=True, timeout=30)
        if not wait_until(lambda: _redis_answers(client), timeout=20, every=0.05):
            raise RuntimeError(f"Redis did not come back: {' '.join(start)}")


def redis_restart(down_seconds: float = 0.5) -> None:
    """Shut REDIS_URL's server down and start it again: every key, queued task and group is gone."""
    with redis_stopped():
        time.sleep(down_seconds)


@dataclass
class RunningWorker:
    process: subprocess.Popen
    node: str  # its Celery node name, so a ping reaches it and not another test run's worker on this Redis

    def answers(self) -> bool:
        try:
            return bool(celery_app.control.ping(destination=[self.node], timeout=0.5))
        except (OSError, KombuError, redis.RedisError):  # this process's broker connection is reconnecting
            return False


@contextmanager
def fault_worker(
    *, queues: str, app: str = "helpdesk", env: dict[str, str] | None = None, purge: bool = False
) -> Iterator[RunningWorker]:
    """A real worker (solo pool, so the task runs in the process a test kills) on ``queues``, sharing the test
    database; Celery stops being eager while it runs. Unlike tests/celery_worker.py it takes another Celery
    app module, purges only when asked (a copy of a task queued for it must survive its start) and may be
    killed by the test; its output is printed when it is gone (pytest shows it on failure)."""
    db = connection.settings_dict
    environment = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        **(env or {}),
    }
    node = f"fault-{os.getpid()}-{time.monotonic_ns()}@{os.uname().nodename}"
    command = [sys.executable, "-m", "celery", "-A", app, "worker", "-Q", queues, "--pool", "solo", "-n", node]
    command += ["--loglevel", "WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"]
    process = subprocess.Popen(
        [*command, *(["--purge"] if purge else [])],
        cwd=settings.BASE_DIR,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    worker = RunningWorker(process, node)
    celery_app.conf.task_always_eager = False
    try:
        wait_until(lambda: process.poll() is not None or worker.answers(), timeout=60, every=0.3)
        assert process.poll() is None, "the worker exited on its way up"
        assert worker.answers(), "the worker did not answer a ping within 60 s"
        yield worker
    finally:
        celery_app.conf.task_always_eager = True
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        print(process.communicate(timeout=30)[0])
