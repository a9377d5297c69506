"""The Celery app. Embedded (no REDIS_URL): tasks run eagerly in the calling process. With REDIS_URL: workers.

Start workers with ``make worker`` or ``celery -A helpdesk worker -Q default,inference,training``; a GPU box
can take only ``-Q inference``.
"""

import functools
import os

from celery import Celery
from kombu.exceptions import OperationalError as BrokerUnavailable

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@functools.cache
def _task_modules_import_once() -> None:
    # Once per process: each import_default_modules() also makes Celery's Django fixup run the system checks
    # (about 60 ms, measured by bench-loop), which would otherwise be paid by every customer message.
    app.loader.import_default_modules()


def task_enqueue_by_name(name: str, *args: object) -> None:
    """Queue the task called ``name`` for whichever worker has it (routed by name: CELERY_TASK_ROUTES). Lets
    an app start another app's task without importing it, and a web process start a model's task without
    importing torch. Eager (the embedded default), the task runs here, so its module is imported here.
    Raises BrokerUnavailable when the broker stays unreachable through the publish retries (settings)."""
    if app.conf.task_always_eager:
        _task_modules_import_once()
        app.tasks[name].apply_async(args=args)
    else:
        # Nobody here waits for the result: ignore_result spares a subscription to it per task (a task that
        # stores none, like analyse_message, would otherwise hold one forever) and, with Redis down, the
        # result store's ~20 s of reconnecting before the publish is even tried.
        app.send_task(name, args=args, ignore_result=True)


__all__ = ["BrokerUnavailable", "app", "task_enqueue_by_name"]
