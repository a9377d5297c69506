"""Browser tests: a live Daphne server on the test database and headless Chromium drivers.

The server is a forked ``daphne.testing.DaphneProcess`` serving the project's ASGI application (websockets
included) with static files, as ``channels.testing.ChannelsLiveServerTestCase`` starts it. Both browsers talk
to that one process, so the in-memory channel layer carries events between them; with ``REDIS_URL`` set the
Redis layer does.
"""

import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import kombu.pools
import pytest
from asgiref.sync import AsyncToSync, SyncToAsync
from channels.layers import channel_layers
from channels.testing.live import make_application
from daphne.testing import DaphneProcess
from django.conf import settings as django_settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.db import connections
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from helpdesk.celery import app as celery_app

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
LIVE_HOST = "127.0.0.1"
SERVER_START_SECONDS = 30

# Debian's package flags (HOUSE_STYLE.md), plus what keeps a headless run quiet, offline and deterministic.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
]


def pytest_runtest_setup(item):
    # Before any fixture, so a machine without the browser does not start a server for nothing.
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Keeps each phase's report on the test item, so fixtures can tell in teardown whether the test failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _serve_test_database(name: str) -> None:
    """Runs in the forked server before it serves: use the test database the parent created.

    ``channels.testing.live.set_database_connection`` derives the name from ``TEST["NAME"]`` or by prefixing
    ``test_`` to ``NAME``; on PostgreSQL ``NAME`` already is the test database by then (``create_test_db``
    rewrote it), so that gives ``test_test_helpdesk``. Passing the parent's name works for both backends.
    """
    django_settings.DATABASES["default"]["NAME"] = name
    connections["default"].settings_dict["NAME"] = name
    # The fork copies the parent's channel layer, whose queues (in memory) or connections (Redis) belong to
    # the parent's event loops from earlier async tests; the server builds its own.
    channel_layers.backends.clear()
    # Threads do not survive a fork, but asgiref's executors still list the parent's: work sent to them would
    # wait forever (every database_sync_to_async call of the consumers).
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    AsyncToSync.context_to_thread_executor.clear()


@pytest.fixture
def live_server_url(transactional_db, settings) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a Daphne process serving the desk on the test database."""
    if connections["default"].vendor == "sqlite" and connections["default"].is_in_memory_db():
        pytest.fail("the live server needs a file or server database; an in-memory one is not shared")
    # Before the fork: the child process gets these settings as they are now.
    if LIVE_HOST not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, LIVE_HOST]
    test_database = connections["default"].settings_dict["NAME"]
    # An open connection copied into the child would share one socket (or SQLite file handle) with the parent.
    connections.close_all()
    # Likewise the broker connections kombu pools (left by a test that talked to a real worker): kombu's
    # after-fork hook closes them in the child, and closing a Redis connection shared with the parent hung it.
    # Closed and forgotten here (kombu's groups, Celery's references to them): the next use opens new ones.
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    server = DaphneProcess(
        LIVE_HOST,
        partial(make_application, static_wrapper=ASGIStaticFilesHandler),
        setup=partial(_serve_test_database, str(test_database)),
    )
    server.start()
    try:
        if not server.ready.wait(timeout=SERVER_START_SECONDS):
            detail = server.errors.get(timeout=1)[1] if not server.errors.empty() else "no error reported"
            raise RuntimeError(f"Daphne did not start within {SERVER_START_SECONDS} s: {detail}")
        yield f"http://{LIVE_HOST}:{server.port.value}"
    finally:
        server.terminate()
        server.join(timeout=10)


@pytest.fixture
def chromium(request, tmp_path) -> Iterator[Callable[[str], webdriver.Chrome]]:
    """Starts a named headless Chromium with its own profile (cookies, localStorage) per call; each one is
    quit at teardown, after a screenshot to ``tmp_path/<name>.png`` when the test failed."""
    drivers: dict[str, webdriver.Chrome] = {}

    def start(name: str) -> webdriver.Chrome:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={tmp_path / f'profile-{name}'}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # An explicit driver path: Selenium Manager is never asked to find or download anything.
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        drivers[name] = driver
        return driver

    yield start

    call_report = getattr(request.node, "report_call", None)
    failed = call_report is None or call_report.failed
    for name, driver in drivers.items():
        try:
            if failed:
                shot = Path(tmp_path) / f"{name}.png"
                driver.save_screenshot(str(shot))
                print(f"screenshot of the {name} browser: {shot}")  # shown with the failure
        finally:
            driver.quit()
