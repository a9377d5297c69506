import threading

import pytest
from django.db import connection

from apps.conversations.models import Message
from apps.conversations.services import message_post


@pytest.mark.django_db(transaction=True)
def test_messages_posted_at_the_same_instant_get_distinct_gap_free_seqs(conversation):
    writers, per_writer = 4, 10
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            start.wait()
            for number in range(per_writer):
                message_post(conversation=conversation, role="customer", text=f"writer {writer} message {number}")
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    seqs = sorted(Message.objects.filter(conversation=conversation).values_list("seq", flat=True))
    assert seqs == list(range(1, writers * per_writer + 1))
    conversation.refresh_from_db()
    assert conversation.last_seq == writers * per_writer
