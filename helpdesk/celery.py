"""The Celery app. Embedded (no REDIS_URL): tasks run eagerly in the calling process. With REDIS_URL: workers.

Start workers with ``make worker`` or ``celery -A helpdesk worker -Q default,inference,training``; a GPU box
can take only ``-Q inference``.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def task_enqueue_by_name(name: str, *args: object) -> None:
    """Queue the task called ``name`` for whichever worker has it (routed by name: CELERY_TASK_ROUTES). Lets
    an app start another app's task without importing it, and a web process start a model's task without
    importing torch. Eager (the embedded default), the task runs here, so its module is imported here."""
    if app.conf.task_always_eager:
        app.loader.import_default_modules()
        app.tasks[name].apply_async(args=args)
    else:
        app.send_task(name, args=args)
