"""A real Celery worker over Redis, against the test database: the production path of a task."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from apps.conversations.services import agent_message_post, conversation_start
from apps.customers.models import Customer
from helpdesk.celery import app as celery_app

PROJECT_ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(
        not (settings.REDIS_URL and os.environ.get("DATABASE_URL")),
        reason="needs REDIS_URL and a PostgreSQL DATABASE_URL that a worker process can share (CI sets both)",
    ),
]


@pytest.fixture
def worker(tmp_path):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "helpdesk",
            "worker",
            "-Q",
            "default",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--purge",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    celery_app.conf.task_always_eager = False
    try:
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(timeout=0.5) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        yield tmp_path / "mail"
    finally:
        celery_app.conf.task_always_eager = True
        process.terminate()
        output, _ = process.communicate(timeout=30)
        print(output)


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_a_worker_emails_an_agents_reply_to_a_customer_who_left_an_email(worker, agent_alice):
    customer = Customer.objects.create(name="Wendy", email="wendy@example.com")
    conversation = conversation_start(customer=customer)
    conversation.reply_by_email = True
    conversation.save(update_fields=["reply_by_email"])

    agent_message_post(
        conversation=conversation, agent=agent_alice, text="Your card ships today.", client_id=None, note=False
    )

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not (worker.exists() and any(worker.iterdir())):
        time.sleep(0.5)
    sent = [path.read_text() for path in worker.iterdir()] if worker.exists() else []
    assert len(sent) == 1
    assert "To: wendy@example.com" in sent[0]
    assert "Your card ships today." in sent[0]
