"""A real Celery worker over Redis, against the test database: the production path of a task."""

import time
from pathlib import Path

import pytest

from apps.conversations.services import agent_message_post, conversation_start
from apps.customers.models import Customer
from tests.celery_worker import NEEDS_WORKER_REASON, celery_worker, worker_can_run

PROJECT_ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not worker_can_run(), reason=NEEDS_WORKER_REASON),
]


@pytest.fixture
def worker(tmp_path):
    mail = {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
    }
    with celery_worker(queues="default", env=mail):
        yield tmp_path / "mail"


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
